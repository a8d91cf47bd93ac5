"""What each console page shows, read from the router and its ledger (called under the router's lock).

Each function returns the body of one page as HTML. Figures come from grouped
reads of the ledger (`solver.online.ledger_stats`), the store's loads and the
router's team: no page walks every lead in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from solver.domain.availability import Schedule
from solver.domain.model import Rep
from solver.http.service import lead_detail
from solver.http.ui_html import (
    Safe,
    button_form,
    cards,
    esc,
    link,
    number_form,
    path_part,
    table,
)
from solver.online.ledger_stats import Bucket, RepPeriod, period_start, rep_periods, sla_clocks, status_counts
from solver.online.router import Router
from solver.report import svg
from solver.report.simulation import policy_words

SLA_SOON = timedelta(minutes=30)
RATIO_ROWS = 50  # reps in the fairness page's rep-by-period table (those behind most often)
# Below this share of its quota share of this week's pipeline a rep is "behind" (the reports' rule).
BEHIND = 0.9


def when(text: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM UTC' ('-' for none)."""
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def lead_link(lead_id: str) -> Safe:
    return link(f"/ui/leads/{path_part(lead_id)}", lead_id)


@dataclass(frozen=True)
class RepStanding:
    """A rep's share of this week's pipeline against its quota share."""

    pipeline: float
    share: float  # of the team's pipeline this week
    quota_share: float
    ratio: float  # share / quota_share (nan: no quota share)

    @property
    def behind(self) -> bool:
        return self.ratio < BEHIND


def standings(reps: Sequence[Rep], periods: Sequence[RepPeriod]) -> dict[str, RepStanding]:
    """Each rep's pipeline in `periods` against its quota share (quota weight over the available reps)."""
    pipeline: dict[str, float] = {}
    for row in periods:
        pipeline[row.rep_id] = pipeline.get(row.rep_id, 0.0) + row.pipeline
    total = sum(pipeline.get(r.id, 0.0) for r in reps)
    weights = sum(r.quota_weight for r in reps if r.available) or 1.0
    out = {}
    for rep in reps:
        share = pipeline.get(rep.id, 0.0) / total if total > 0 else 0.0
        quota = rep.quota_weight / weights if rep.available else 0.0
        ratio = share / quota if quota > 0 and total > 0 else float("nan")
        out[rep.id] = RepStanding(pipeline.get(rep.id, 0.0), share, quota, ratio)
    return out


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.0f}%"


def now_page(router: Router, now: datetime) -> str:
    """The live queue, each rep's load against capacity and caps, shift, pipeline against quota
    share this week, and the SLA clocks about to run out."""
    store = router.store
    counts = status_counts(store)
    overdue, soon = sla_clocks(store, now, SLA_SOON)
    queues = sorted((k.removeprefix("queue:"), n) for k, n in counts.items() if k.startswith("queue:"))
    parts = [cards([("leads buffered for the next batch", counts.get("buffered", 0)),
                    ("waiting for a rep (backlog)", counts.get("waiting", 0) + counts.get("deferred", 0)),
                    ("in named queues", sum(n for _, n in queues)),
                    ("open leads", counts.get("assigned", 0)),
                    ("open leads past their SLA", overdue)])]
    if queues:
        parts.append(table(("Queue", "Leads waiting"), queues, numeric=(1,), caption="Named queues"))
    parts.append(f"<h2>SLA clocks running out in the next {SLA_SOON.seconds // 60} minutes</h2>")
    if soon:
        parts.append(table(("Lead", "Rep", "SLA due", "Minutes left"), [
            (lead_link(r["lead_id"]), r["rep_id"], when(r["sla_due"]),
             f"{(datetime.fromisoformat(r['sla_due']) - now).total_seconds() / 60:.0f}") for r in soon],
            numeric=(3,)))
    else:
        parts.append("<p>No open lead's SLA runs out in that time.</p>")
    parts.append("<h2>Reps</h2>" + rep_table(router, now, actions=None))
    return "".join(parts)


def rep_table(router: Router, now: datetime, actions: str | None) -> str:
    """Per rep: status, shift, open leads / capacity, untouched, daily cap, this week's pipeline
    against its quota share; with `actions` (a CSRF token) the pause, capacity and cap forms."""
    reps = router.reps
    loads = router.store.loads([r.id for r in reps])
    held = router.team.held(loads)  # the reps file's open leads too: the load the router enforces
    untouched = router.team.untouched(loads)  # likewise the reps file's untouched leads: the queue it prices
    week = period_start(now, "week")
    standing = standings(reps, rep_periods(router.store, week, now + timedelta(seconds=1), "week", now))
    header = ["Rep", "Status", "On shift now", "Open / capacity", "Untouched", "Daily cap",
              "Pipeline this week", "vs quota share"]
    if actions is not None:
        header.append("Actions")
    rows = []
    for k, rep in enumerate(reps):
        shift = shift_words(rep, now)
        cap = router.policy.caps.for_rep(rep.id).per_day
        st = standing[rep.id]
        row: list[object] = [
            rep.id if not rep.name else f"{rep.id} ({rep.name})",
            "active" if rep.available else "paused", shift,
            f"{int(held[k])} / {rep.capacity}", int(untouched[k]),
            "none" if cap is None else cap, f"{st.pipeline:,.0f}",
            Safe(f"<span class='behind'>{_pct(st.ratio)} (behind)</span>") if st.behind else _pct(st.ratio)]
        if actions is not None:
            row.append(rep_actions(rep, cap, actions, k))
        rows.append(row)
    return table(header, rows, numeric=(3, 4, 5, 6, 7),
                 scroll="Reps" if actions is None else "Reps and actions")


def shift_words(rep: Rep, now: datetime) -> str:
    """'yes', 'yes, until 17:30' or 'no, from 09:00' (the rep's local time); 'no' for a paused rep."""
    if not rep.available:
        return "no"
    schedule = Schedule(rep)
    on, until = schedule.state(now)
    if schedule.always:
        return "yes"
    # Off shift: step over the instants where the answer may change (midnights, shift edges) to
    # the next start, within a fortnight (a rep on leave longer shows as back after it).
    while not on and until < now + timedelta(days=14):
        on_then, after = schedule.state(until)
        if on_then:
            break
        until = after
    local = until.astimezone(schedule.zone)
    when_text = local.strftime("%H:%M") if local.date() == now.astimezone(schedule.zone).date() \
        else local.strftime("%a %H:%M")
    return f"yes, until {when_text}" if on else f"no, from {when_text}"


def rep_actions(rep: Rep, cap: int | None, csrf: str, k: int) -> Safe:
    action = f"/ui/reps/{path_part(rep.id)}/change"
    toggle = (button_form(action, f"Pause {rep.id}", csrf, fields=(("available", "false"),)) if rep.available
              else button_form(action, f"Resume {rep.id}", csrf, fields=(("available", "true"),)))
    capacity = number_form(action, "capacity", "Capacity", rep.capacity, csrf, f"cap{k}", "Set capacity",
                           who=rep.id)
    daily = number_form(action, "cap_per_day", "Daily cap", cap, csrf, f"day{k}", "Set cap", who=rep.id)
    return Safe(toggle + capacity + daily)


def reps_page(router: Router, now: datetime, csrf: str) -> str:
    changes = router.store.rep_changes()
    parts = ["<p>Pausing a rep stops new leads going to it (its open leads stay); resuming lets them "
             "come again. A capacity or daily cap applies from the next lead. Every change is kept in "
             "the ledger with who made it and when. Leave the daily cap empty to lift it.</p>",
             rep_table(router, now, actions=csrf)]
    parts.append("<h2>Changes made here (newest first)</h2>")
    parts.append(table(("When", "Who", "Rep", "Change"), [
        (when(c["at"]), c["by"], c["rep_id"], describe_change(c["change"]))
        for c in reversed(changes[-50:])]) if changes else "<p>No change yet.</p>")
    return "".join(parts)


def describe_change(change: dict[str, Any]) -> str:
    words = []
    if "available" in change:
        words.append("resumed" if change["available"] else "paused")
    if "capacity" in change:
        words.append(f"capacity set to {change['capacity']}")
    if "cap_per_day" in change:
        cap = change["cap_per_day"]
        words.append("daily cap lifted" if cap is None else f"daily cap set to {cap}")
    return ", ".join(words)


def lead_page(router: Router, lead_id: str, csrf: str) -> str | None:
    """The decision, its explanation (the rule trail, why not the other reps), history and outcome."""
    detail = lead_detail(router, lead_id)
    if detail is None:
        return None
    parts = [table(("Lead", "Status", "Rep", "Why", "Expected value", "Policy"), [
        (detail.lead_id, detail.status, detail.rep_id or "-", detail.reason,
         "-" if detail.expected_value is None else f"{detail.expected_value:,.2f}",
         policy_words(detail.policy) if detail.policy else "-")])]
    record = router.store.record(lead_id)
    if record is not None:
        fields = [("Value", f"{record.value:,.2f}"), ("Territory", record.territory),
                  ("Segment", record.segment), ("Industry", record.industry), ("Product", record.product),
                  ("Account", record.account_id), ("Urgent", "yes" if record.urgent else "no")]
        parts.append(table([name for name, _ in fields], [[value or "-" for _, value in fields]],
                           caption="The lead as received"))
    open_lead = router.store.open_lead(lead_id)
    if detail.status == "assigned" and open_lead is not None:
        base = f"/ui/leads/{path_part(lead_id)}"
        parts.append("<p>" + button_form(f"{base}/release", "Release this lead (worked or closed)", csrf,
                                         secondary=True)
                     + (button_form(f"{base}/reroute", "Re-route to another rep", csrf, secondary=True)
                        if not open_lead.touched else "<span class='muted'>Touched: it stays with its rep."
                        "</span>") + "</p>")
    moved = any(e.kind == "reassigned" for e in detail.events)
    parts += explanation_parts(detail.explanation, moved=moved)
    parts.append("<h2>History</h2>")
    parts.append(table(("When", "What", "Rep", "From", "Reason"), [
        (when(e.at), e.kind, e.rep_id or "-", e.from_rep_id or "-", e.reason or "")
        for e in detail.events]))
    outcomes = ("won", "lost", "disqualified", "closed")
    outcome = next((e for e in reversed(detail.events) if e.kind in outcomes), None)
    parts.append(f"<p><strong>Outcome:</strong> {esc(outcome.kind) if outcome else 'none recorded yet'}</p>")
    return "".join(parts)


def explanation_parts(explanation: dict[str, Any] | None, moved: bool = False) -> list[str]:
    """Why the rep (and the rule trail), and why not the others: a batch's explanation, or the
    urgent fast path's (its chosen rep among the eligible ones, and its best runners-up). `moved`:
    the lead was reassigned, which scores as the fast path does but is no urgent decision."""
    if not explanation:
        return ["<p class='muted'>No explanation was kept for this decision.</p>"]
    if "path" in explanation:  # the urgent fast path (solver.online.explain.fast_explanation)
        chosen, eligible = explanation.get("chosen"), explanation.get("eligible_reps", 0)
        how = ("Moved off its first rep (see History) by the same scoring as the urgent fast path"
               if moved else f"Decided at once by the {esc(explanation['path'])}")
        if chosen:
            parts = ["<h2>Why this rep</h2>",
                     f"<p>{how} among {eligible} eligible reps: {esc(chosen['rep_id'])} scored "
                     f"{chosen['profit']:,.2f} against a seat price of {chosen['price']:,.2f}.</p>"]
        else:  # no rep: say why (no rep's rules admit it is no question of room)
            parts = ["<h2>Why no rep</h2>",
                     f"<p>{how}: " + (f"none of its {eligible} eligible reps had room (see the reason)."
                                      if eligible else "no rep's rules admit it (see the reason).") + "</p>"]
        parts.append("<h2>Why not the other reps</h2>")
        alternatives = explanation.get("alternatives")
        if alternatives is None:  # kept before the fast path recorded its runners-up
            parts.append("<p>The fast path ranks every eligible rep by the same score and takes the best "
                         "with room; the reason above gives this rep's rank.</p>")
        elif alternatives:
            parts.append(fast_fit_table(alternatives))
        else:
            parts.append("<p>No other rep could take it.</p>")
        return parts
    parts = ["<h2>Why this rep</h2>"]
    parts.append(f"<p>{esc(explanation.get('why', ''))}</p>")
    chosen = explanation.get("assigned_to")
    if chosen:
        trail = chosen.get("rules")
        parts.append(f"<p>Rule trail for {esc(chosen['rep_id'])}: "
                     f"{esc(', '.join(trail)) if trail else 'no routing rule took effect'}.</p>")
        parts.append(fit_table([chosen], "Chosen rep"))
    alternatives = explanation.get("alternatives") or []
    parts.append("<h2>Why not the other reps</h2>")
    parts.append(fit_table(alternatives, "Best alternatives") if alternatives
                 else "<p>No other rep could take it.</p>")
    return parts


def load_words(fit: dict[str, Any]) -> str:
    """'3 / 2.8': the rep's load against its fair share, the share to one decimal (not 2.83333)."""
    return f"{fit['load']:g} / {fit['target']:.1f}" if "load" in fit else "-"


def fit_table(fits: Sequence[dict[str, Any]], caption: str) -> str:
    return table(("Rep", "Expected value", "Score after rules and fairness", "Load / fair share",
                  "Room left", "Rules", "Why not"), [
        (f["rep_id"], f"{f['expected_value']:,.2f}", f"{f['profit']:,.2f}",
         load_words(f), f["free_capacity"], ", ".join(f.get("rules") or []) or "-",
         f.get("why_not", "chosen")) for f in fits], numeric=(1, 2, 4), caption=caption)


def fast_fit_table(fits: Sequence[dict[str, Any]]) -> str:
    """The fast path's runners-up: its score is the value after rules less the seat's price and
    the fairness cost (it keeps no rule trail)."""
    return table(("Rep", "Expected value", "Score after rules", "Seat price", "Load / fair share",
                  "Room left", "Why not"), [
        (f["rep_id"], f"{f['expected_value']:,.2f}", f"{f['profit']:,.2f}", f"{f['price']:,.2f}",
         load_words(f), f.get("free_capacity", "-"),
         f["why_not"]) for f in fits], numeric=(1, 2, 3, 5), caption="Best alternatives")


@dataclass(frozen=True)
class PeriodSummary:
    """One period's team figures (what the fairness page draws over time)."""

    leads: int
    pipeline: float
    touched: int
    touch_minutes: float
    breaches: int
    behind: int | None  # reps behind their quota share (None: no lead in the period)
    ratios: dict[str, float]  # per rep: its share of the period's pipeline over its quota share

    @property
    def mean_minutes(self) -> float:
        return self.touch_minutes / self.touched if self.touched else float("nan")


def summarize(reps: Sequence[Rep], rows: Sequence[RepPeriod]) -> PeriodSummary:
    st = standings(reps, rows)
    return PeriodSummary(sum(r.leads for r in rows), sum(r.pipeline for r in rows),
                         sum(r.touched for r in rows), sum(r.touch_minutes for r in rows),
                         sum(r.breaches for r in rows), sum(s.behind for s in st.values()) if rows else None,
                         {rep_id: s.ratio for rep_id, s in st.items()} if rows else {})


class PastPeriods:
    """Completed periods' summaries, kept up to `ttl` (a minute): a completed period changes only by
    late touches and SLA clocks running out, so the fairness page reads the ledger for the current
    period alone and for the past at most once a minute, instead of every lead of eight weeks on
    every request. Kept per team (a rep change starts afresh)."""

    def __init__(self, ttl: timedelta = timedelta(minutes=1)) -> None:
        self.ttl = ttl
        self._kept: dict[tuple[Bucket, str], tuple[datetime, PeriodSummary]] = {}
        self._team: object = None

    def get(self, router: Router, bucket: Bucket, starts: Sequence[datetime],
            now: datetime) -> tuple[list[PeriodSummary], datetime]:
        """Summaries of the periods starting at `starts` (all complete), and when the oldest was read."""
        if self._team is not router.team:
            self._kept, self._team = {}, router.team
        step = timedelta(days=7 if bucket == "week" else 1)
        stale = [t for t in starts if (entry := self._kept.get((bucket, t.date().isoformat()))) is None
                 or now - entry[0] > self.ttl]
        if stale:
            rows = rep_periods(router.store, min(stale), max(stale) + step, bucket, now)
            by_period: dict[str, list[RepPeriod]] = {}
            for row in rows:
                by_period.setdefault(row.period, []).append(row)
            for t in stale:
                label = t.date().isoformat()
                self._kept[(bucket, label)] = (now, summarize(router.reps, by_period.get(label, [])))
        kept = [self._kept[(bucket, t.date().isoformat())] for t in starts]
        return [summary for _, summary in kept], min((at for at, _ in kept), default=now)


def fairness_page(router: Router, now: datetime, bucket: Bucket, periods: int, past: PastPeriods) -> str:
    """Pipeline per rep against quota share, time to first touch and SLA breaches, by day or week."""
    step = timedelta(days=7 if bucket == "week" else 1)
    current = period_start(now, bucket)
    starts = [current - step * (periods - 1 - k) for k in range(periods)]
    history, as_of = past.get(router, bucket, starts[:-1], now)
    reps = router.reps
    rows = rep_periods(router.store, current, now + timedelta(seconds=1), bucket, now)
    summaries = [*history, summarize(reps, rows)]
    labels = [t.date().isoformat() for t in starts]
    minutes = [p.mean_minutes for p in summaries]
    breaches = [float(p.breaches) for p in summaries]
    behind_counts = [float("nan") if p.behind is None else float(p.behind) for p in summaries]
    unit = "week starting" if bucket == "week" else "day"
    x_label = f"{unit} (UTC)"
    charts = [
        (svg.time_lines(starts[0], step, {"mean minutes": minutes}, "Time to first touch",
                        "minutes from decision to first touch", low=0, x_label=x_label),
         f"Mean over the leads touched, per {bucket} (UTC) of the decision."),
        (svg.time_lines(starts[0], step, {"breaches": breaches}, "SLA breaches", "leads", low=0,
                        x_label=x_label),
         f"Leads touched after their SLA or still untouched past it, per {bucket} of the decision."),
        (svg.time_lines(starts[0], step, {"reps behind": behind_counts}, "Reps behind their quota share",
                        "reps", low=0, x_label=x_label),
         f"Reps whose share of the {bucket}'s pipeline is under {BEHIND:.0%} of their quota share."),
    ]
    this = standings(reps, rows)
    order = sorted(reps, key=lambda r: (this[r.id].ratio if this[r.id].ratio == this[r.id].ratio else 9e9))
    behind = [r for r in order if this[r.id].behind]
    parts = ["<form method='get' action='/ui/fairness'><label for='bucket'>Group by</label> "
             "<select id='bucket' name='bucket'>"
             + "".join(f"<option value='{b}'{' selected' if b == bucket else ''}>{b}</option>"
                       for b in ("day", "week"))
             + "</select> <label for='periods'>Periods</label> <input type='number' id='periods' "
             f"name='periods' min='1' max='366' value='{periods}'> "
             "<button type='submit'>Show</button></form>",
             f"<h2>Behind their quota share this {bucket} ({len(behind)} of {len(reps)} reps)</h2>"]
    parts.append(table(("Rep", "Pipeline", "Share of team pipeline", "Quota share", "Share vs quota share"), [
        (r.id, f"{this[r.id].pipeline:,.0f}", _pct(this[r.id].share), _pct(this[r.id].quota_share),
         Safe(f"<span class='behind'>{_pct(this[r.id].ratio)}</span>") if this[r.id].behind
         else _pct(this[r.id].ratio)) for r in order], numeric=(1, 2, 3, 4),
        caption=f"Every rep, the furthest behind first ({unit} {labels[-1]})"))
    parts.append("<h2>Over time</h2>")
    if periods > 1:
        parts.append(f"<p class='muted'>Past {bucket}s as of {as_of:%H:%M:%S} UTC (read again each minute); "
                     f"this {bucket} as of now.</p>")
    parts += [f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>" for body, caption in charts]
    parts.append(f"<h2>Each rep's pipeline against its quota share, {bucket} by {bucket}</h2>")
    parts.append(ratio_table(reps, labels, summaries, bucket))
    parts.append("<h2>By period</h2>")
    parts.append(table((unit.capitalize(), "Leads", "Pipeline", "Mean minutes to first touch", "SLA breaches",
                        "Reps behind"), [
        (label, p.leads, f"{p.pipeline:,.0f}", "-" if p.touched == 0 else f"{p.mean_minutes:.1f}", p.breaches,
         "-" if p.behind is None else p.behind)
        for label, p in zip(labels, summaries, strict=True)], numeric=(1, 2, 3, 4, 5)))
    return "".join(parts)


def ratio_table(reps: Sequence[Rep], labels: Sequence[str], summaries: Sequence[PeriodSummary],
                bucket: Bucket) -> str:
    """Per rep and period: its share of the pipeline over its quota share, for the RATIO_ROWS reps
    behind most often (one behind week after week is at the top)."""
    behind = {r.id: sum(p.ratios.get(r.id, 1.0) < BEHIND for p in summaries) for r in reps}
    order = sorted(reps, key=lambda r: (-behind[r.id], r.id))[:RATIO_ROWS]

    def cell(ratio: float | None) -> object:
        if ratio is None:
            return "-"
        return Safe(f"<span class='behind'>{_pct(ratio)}</span>") if ratio < BEHIND else _pct(ratio)

    rows = [(r.id, behind[r.id], *(cell(p.ratios.get(r.id)) for p in summaries)) for r in order]
    shown = ("Every rep" if len(reps) <= RATIO_ROWS
             else f"The {RATIO_ROWS} reps of {len(reps)} behind most often")
    # Short dates as column headings, so that they do not wrap: '17 Nov' (with the year if it changes).
    dates = [date.fromisoformat(label) for label in labels]
    shape = "%d %b" if len({d.year for d in dates}) == 1 else "%d %b %Y"
    return table(("Rep", f"{bucket.capitalize()}s behind", *(d.strftime(shape) for d in dates)), rows,
                 numeric=tuple(range(1, 2 + len(labels))), scroll=f"Pipeline against quota share by {bucket}",
                 caption=f"{shown}, by the {bucket} {'starting ' if bucket == 'week' else ''}(UTC); "
                         f"100% = the rep got exactly its quota share of the {bucket}'s pipeline; "
                         f"under {BEHIND:.0%} (marked) = behind; - = no lead that {bucket}")
