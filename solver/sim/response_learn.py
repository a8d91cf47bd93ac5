r"""Speed to lead from the ledger: each rep's response and handling minutes, and the decay curve.

The ledger (`solver.online.store.LeadStore`) records when each lead entered a
rep's hands (``assigned``, or ``reassigned`` to it), when it was first touched
and when it was released or moved away. From those events every rep's queue of
*untouched* leads is rebuilt at every moment (`touch_episodes`, numpy: one
+1 at each entry, one -1 at each exit, a cumulative sum per rep in time order),
which gives two kinds of observation:

* **response** - the minutes from assignment to first touch of a lead that
  found its rep with no other untouched lead queued: the rep's own reaction
  time, what ``response_minutes`` means (`solver.domain.speed`);
* **handling** - the minutes between two successive touches by a rep when the
  lead touched second was already waiting at the first touch: with work
  queued, the gap is the time the rep takes per lead, what
  ``handling_minutes`` (per untouched lead ahead of a new one) means. This
  estimator was chosen over regressing each lead's delay on the queue it found
  because every touch in a busy stretch is one direct observation, it does not
  lean on the response model, and a slope fitted per rep would rest on the few
  leads that found a long queue and on the heavy tail of the delays.

Both are right-skewed (most leads within minutes, some overnight), so they are
averaged in log space, ``log(1 + minutes)`` (a zero-minute touch is fine): the
figures reported are medians under that (shifted lognormal) model,
``exp(mean log(1 + m)) - 1``. Minutes are the rep's working minutes (its
working hours; wall-clock for a rep without them, `working_minutes`): the
router's model adds the wait for the rep's next shift itself, so a lead given
at night must not teach that the rep is slow.

Shrinkage (empirical Bayes with pseudo-observations). A rep's mean log is
pulled toward the team's with `prior_observations` pseudo-observations at the
team mean, ``(sum of the rep's logs + k * team) / (n + k)``, and the team's
own mean toward the policy's default the same way (a team with no history gets
the policy's figures exactly). k = 5: a rep's log minutes vary by about 1 from
lead to lead and reps differ by about 0.4-0.5, so the variance ratio
``sigma^2 / tau^2`` - the pseudo-observation count that makes this the
posterior mean of a normal-normal model - is about 4-6; with one observation
a rep keeps 1/6 of its own figure, with 50 it keeps 91%.

Leads released or moved away untouched are left out (censored): a rep whose
slow leads are taken away by the SLA check reads a little faster than it is.

`fit_decay` fits the speed section's half-life and floor to won/lost outcomes
against the minutes the lead waited for its first touch (see its doc).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from solver.compile.speed import half_life_decay
from solver.domain.availability import Schedule
from solver.domain.io import csv_text
from solver.domain.model import Rep
from solver.domain.speed import Speed

PRIOR_OBSERVATIONS = 5.0
# The decay fit: at least this many leads with a touch time and an outcome, this many of each
# outcome, and a likelihood-ratio statistic (2 x gain over the flat curve) above the 5% point
# of a chi-square with 2 degrees of freedom (half-life and floor).
MIN_OUTCOMES = 100
MIN_EACH_OUTCOME = 10
LR_CRITICAL = 5.991
PERMUTATIONS = 19
PERMUTATION_SAMPLE = 5_000  # leads a shuffled fit with scores reads at most (its cost is per lead)
PERMUTATION_SEED = 20261130
HALF_LIVES = np.geomspace(1.0, 10_080.0, 61)  # one minute to one week
FLOORS = np.linspace(0.0, 1.0, 21)
WON, LOST = "won", "lost"  # outcomes counted; disqualified or closed leads say nothing of speed
EPS = 1e-9

_ENTRY, _TOUCH, _EXIT = 1, 2, 3  # an event's role for a rep's untouched queue
_ROLES = {"assigned": _ENTRY, "reassigned": _ENTRY, "touched": _TOUCH, "released": _EXIT}


def _minutes(at: str | datetime) -> float:
    """A stored time (ISO text or an aware datetime) as minutes since the epoch."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.timestamp() / 60.0


@dataclass(frozen=True)
class Episodes:
    """Each stay of a lead in a rep's untouched queue that ended with a touch (arrays, aligned)."""

    rep_id: np.ndarray  # str (n,)
    entered: np.ndarray  # minutes since the epoch
    touched: np.ndarray  # minutes since the epoch
    ahead: np.ndarray  # int: other untouched leads the rep held when this one came in
    handling: np.ndarray  # float: minutes since the rep's previous touch, NaN unless it was waiting then
    reps_seen: frozenset[str]  # every rep the ledger assigned (or moved) a lead to or from

    @property
    def delay(self) -> np.ndarray:
        return self.touched - self.entered


def touch_episodes(events: Iterable[Mapping[str, Any]]) -> Episodes:
    """The ledger's touch episodes from its events (`LeadStore.history()` rows), see the module doc."""
    rows = [e for e in events if e.get("kind") in _ROLES]
    reps_seen = frozenset(r for e in rows for r in (e.get("rep_id"), e.get("from_rep_id")) if r)
    if not rows:
        empty = np.array([], dtype=float)
        return Episodes(np.array([], dtype=object), empty, empty, np.array([], dtype=int), empty, reps_seen)
    lead = np.array([str(e["lead_id"]) for e in rows], dtype=object)
    role = np.array([_ROLES[e["kind"]] for e in rows])
    rep = np.array([e.get("rep_id") or "" for e in rows], dtype=object)
    at = np.array([_minutes(e["at"]) for e in rows])
    seq = np.array([e.get("seq", k) for k, e in enumerate(rows)], dtype=np.int64)
    # A stay starts at an entry and ends at the lead's next event of these kinds (a touch, a
    # release, a move away); the last stay of an open, untouched lead has not ended.
    order = np.lexsort((seq, np.unique(lead, return_inverse=True)[1]))
    lead, role, rep, at, seq = lead[order], role[order], rep[order], at[order], seq[order]
    has_next = np.r_[lead[1:] == lead[:-1], False]
    starts = np.flatnonzero((role == _ENTRY) & (rep != ""))
    nxt = np.minimum(starts + 1, lead.size - 1)
    ended = has_next[starts]
    stay_rep, stay_in, stay_seq = rep[starts], at[starts], seq[starts]
    end_at, end_seq, by_touch = at[nxt], seq[nxt], ended & (role[nxt] == _TOUCH)

    # The untouched queue per rep: +1 at each start, -1 at each end, summed in (time, seq) order.
    _, code = np.unique(stay_rep.astype(str), return_inverse=True)
    m = starts.size
    t = np.r_[stay_in, end_at[ended]]
    q = np.r_[stay_seq, end_seq[ended]]
    g = np.r_[code, code[ended]]
    step = np.r_[np.ones(m), -np.ones(int(ended.sum()))]
    order = np.lexsort((q, t, g))
    running = np.cumsum(step[order]) - step[order]  # before each step
    first = np.r_[True, g[order][1:] != g[order][:-1]]
    running -= running[np.maximum.accumulate(np.where(first, np.arange(order.size), 0))]
    ahead = np.zeros(m, dtype=int)
    is_start = order < m
    ahead[order[is_start]] = np.maximum(running[is_start], 0).astype(int)

    keep = by_touch & (end_at >= stay_in)
    stay_rep, stay_in, stay_seq = stay_rep[keep], stay_in[keep], stay_seq[keep]
    touched, touch_seq, ahead, code = end_at[keep], end_seq[keep], ahead[keep], code[keep]
    # Handling: the gap back to the rep's previous touch, when this lead was already waiting then.
    order = np.lexsort((touch_seq, touched, code))
    same = np.r_[False, code[order][1:] == code[order][:-1]]
    prev_at = np.r_[np.nan, touched[order][:-1]]
    prev_seq = np.r_[-1, touch_seq[order][:-1]]
    was_waiting = same & ((stay_in[order] < prev_at)
                          | ((stay_in[order] == prev_at) & (stay_seq[order] < prev_seq)))
    handling = np.full(touched.size, np.nan)
    handling[order[was_waiting]] = (touched[order] - prev_at)[was_waiting]
    return Episodes(stay_rep, stay_in, touched, ahead, handling, reps_seen)


def working_minutes(ep: Episodes, reps: Sequence[Rep]) -> Episodes:
    """`ep` with each delay and handling gap counted in its rep's working minutes (its working
    hours, as `Schedule.add_working_time` counts the SLA): the router adds the wait for a rep's
    next shift itself, so a night must not be learned as slowness too. Reps without working
    hours, or not in `reps`, keep wall-clock minutes."""
    schedules = {r.id: Schedule(r) for r in reps if r.working_hours}
    if not schedules or ep.rep_id.size == 0:
        return ep
    entered, handling = ep.entered.copy(), ep.handling.copy()
    for k in np.flatnonzero(np.isin(ep.rep_id.astype(str), list(schedules))):
        schedule = schedules[str(ep.rep_id[k])]
        touched = _instant(ep.touched[k])
        worked = schedule.working_between(_instant(ep.entered[k]), touched).total_seconds() / 60.0
        entered[k] = ep.touched[k] - worked
        if not np.isnan(handling[k]):
            gap = schedule.working_between(_instant(ep.touched[k] - handling[k]), touched)
            handling[k] = gap.total_seconds() / 60.0
    return dataclasses.replace(ep, entered=entered, handling=handling)


def _instant(minutes: float) -> datetime:
    return datetime.fromtimestamp(minutes * 60.0, UTC)


@dataclass(frozen=True)
class RepSpeed:
    """One rep's learned minutes: observations, the raw median (None: none) and the shrunk one."""

    rep_id: str
    response_n: int
    response_raw: float | None
    response_minutes: float
    handling_n: int
    handling_raw: float | None
    handling_minutes: float


@dataclass(frozen=True)
class LearnedResponse:
    """What `learn_response` learned: per rep, the team, and the defaults it fell back to."""

    reps: dict[str, RepSpeed]
    team_response_minutes: float
    team_response_n: int
    team_handling_minutes: float
    team_handling_n: int
    default_response_minutes: float
    default_handling_minutes: float
    prior_observations: float
    touches: int  # touch episodes read from the ledger
    ledger_reps: frozenset[str] = field(default_factory=frozenset)

    def unknown(self, reps: Sequence[Rep]) -> list[str]:
        """Rep ids of the ledger that are not among `reps`, sorted."""
        return sorted(self.ledger_reps - {r.id for r in reps})

    def apply(self, reps: Sequence[Rep]) -> list[Rep]:
        """`reps` with their learned `response_minutes` and `handling_minutes` set (the team's
        figures for a rep the ledger never saw)."""
        out = []
        for r in reps:
            learned = self.reps.get(r.id)
            response = learned.response_minutes if learned else self.team_response_minutes
            handling = learned.handling_minutes if learned else self.team_handling_minutes
            out.append(r.model_copy(update={"response_minutes": response, "handling_minutes": handling}))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "touches": self.touches, "prior_observations": self.prior_observations,
            "team": {"response_n": self.team_response_n, "response_minutes": self.team_response_minutes,
                     "handling_n": self.team_handling_n, "handling_minutes": self.team_handling_minutes},
            "defaults": {"response_minutes": self.default_response_minutes,
                         "handling_minutes": self.default_handling_minutes},
            "reps": [vars(s) for s in self.reps.values()],
        }


def _shrunk(logs: np.ndarray, code: np.ndarray, m: int, default: float, k: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(n per rep, raw mean log per rep (NaN: none), shrunk mean log per rep, the team's mean log)."""
    n = np.bincount(code, minlength=m)
    total = np.bincount(code, weights=logs, minlength=m)
    prior = math.log1p(default)
    team = (float(logs.sum()) + k * prior) / (logs.size + k) if logs.size or k else prior
    raw = np.divide(total, n, out=np.full(m, np.nan), where=n > 0)
    shrunk = np.divide(total + k * team, n + k, out=np.full(m, team), where=(n + k) > 0)
    return n, raw, shrunk, team


def _median(mean_log: float) -> float:
    return round(max(math.expm1(mean_log), 0.0), 2)


def learn_response(source: Any, reps: Sequence[Rep], speed: Speed | None = None, *,
                   prior_observations: float = PRIOR_OBSERVATIONS) -> LearnedResponse:
    """Each rep's response and handling minutes from a ledger (see the module doc).

    `source`: a `LeadStore` (its `history()` is read) or its event rows. The
    result covers `reps` and every rep the ledger holds; `speed` (the policy's
    section, default `Speed()`) gives the figures of a team with no history.
    """
    speed = speed or Speed()
    events = source.history() if hasattr(source, "history") else source
    ep = working_minutes(touch_episodes(events), reps)
    ids = sorted({r.id for r in reps} | set(ep.rep_id.astype(str)) | ep.reps_seen)
    slot = {rep_id: k for k, rep_id in enumerate(ids)}
    code = np.array([slot[r] for r in ep.rep_id.astype(str)], dtype=np.int64)
    idle = ep.ahead == 0
    gaps = ~np.isnan(ep.handling)
    k, m = prior_observations, len(ids)
    rn, rraw, rshr, rteam = _shrunk(np.log1p(ep.delay[idle]), code[idle], m, speed.response_minutes, k)
    hn, hraw, hshr, hteam = _shrunk(np.log1p(ep.handling[gaps]), code[gaps], m, speed.handling_minutes, k)
    learned = {
        rep_id: RepSpeed(rep_id, int(rn[j]), None if rn[j] == 0 else _median(rraw[j]), _median(rshr[j]),
                         int(hn[j]), None if hn[j] == 0 else _median(hraw[j]), _median(hshr[j]))
        for j, rep_id in enumerate(ids)}
    return LearnedResponse(learned, _median(rteam), int(idle.sum()), _median(hteam), int(gaps.sum()),
                           speed.response_minutes, speed.handling_minutes, k, int(ep.delay.size),
                           ep.reps_seen)


# --- The decay curve from outcomes ----------------------------------------------------------------


def outcome_times(leads: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(minutes from acceptance to first touch, won) of the ledger's leads with both a touch and a
    won/lost outcome (`leads()` and `history()` rows; the earliest touch counts, a moved lead's too)."""
    minutes, won, _ = outcome_table(leads, events)
    return minutes, won


def outcome_table(leads: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]],
                  score_of: Callable[[str], float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """`outcome_times` and each lead's score (`score_of(lead id)`, e.g. from the store's record;
    None without it). The router sends its best leads to its fastest reps and to the front of
    their queues, so better leads are touched sooner: without their scores a fit would read
    their higher win rate as speed, and the half-life would come out too short."""
    first_touch: dict[str, float] = {}
    for e in events:
        if e.get("kind") == "touched":
            t = _minutes(e["at"])
            first_touch[e["lead_id"]] = min(t, first_touch.get(e["lead_id"], t))
    minutes, won, scores = [], [], []
    for row in leads:
        outcome = (row.get("outcome") or "").lower()
        touched = first_touch.get(row["lead_id"])
        if touched is None and row.get("touched_at"):
            touched = _minutes(row["touched_at"])
        if outcome not in (WON, LOST) or touched is None or not row.get("accepted_at"):
            continue
        minutes.append(max(touched - _minutes(row["accepted_at"]), 0.0))
        won.append(outcome == WON)
        if score_of is not None:
            scores.append(score_of(row["lead_id"]))
    score = np.array(scores, dtype=float) if score_of is not None else None
    return np.array(minutes, dtype=float), np.array(won, dtype=bool), score


@dataclass(frozen=True)
class DecayFit:
    """The decay fitted to outcomes, and whether the data support it over a flat curve."""

    supported: bool
    note: str
    leads: int
    wins: int
    half_life_minutes: float | None = None  # the best fit (None: no fit tried)
    floor: float | None = None
    base_rate: float | None = None  # P(win) of a lead touched at once (an average-score lead)
    log_likelihood: float | None = None
    flat_log_likelihood: float | None = None

    @property
    def gain(self) -> float | None:
        """Log-likelihood gained over a flat curve (worth not decaying)."""
        if self.log_likelihood is None or self.flat_log_likelihood is None:
            return None
        return self.log_likelihood - self.flat_log_likelihood

    def speed(self, policy: Speed) -> Speed:
        """The policy's speed section with the fitted curve when supported, else as it is."""
        if not self.supported or self.half_life_minutes is None or self.floor is None:
            return policy
        return policy.model_copy(update={"half_life_minutes": self.half_life_minutes, "floor": self.floor,
                                         "table": ()})

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {**out, "gain": None if self.gain is None else round(self.gain, 4)}


def _profile(x: np.ndarray, wins: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of x (curves x leads, p = c * x), the MLE of c and the log-likelihood there.

    `wins` and `losses` count each column's outcomes (a lead's 1 and 0, or a bin's). The
    log-likelihood is concave in c; Newton's method from the moment estimate sum(wins) / sum(x),
    kept inside (0, 1 / max x) so every p is a probability.
    """
    won = float(wins.sum())
    hi = (1 - 1e-6) / x.max(axis=1)
    c = np.clip(won / (x * (wins + losses)).sum(axis=1), 1e-9, hi)
    for _ in range(30):
        rest = 1 - c[:, None] * x
        grad = won / c - (losses * x / rest).sum(axis=1)
        hess = -won / c**2 - (losses * x**2 / rest**2).sum(axis=1)
        new = np.clip(c - grad / hess, c / 10, np.minimum(hi, c * 10 + 1e-12))
        done = np.abs(new - c).max() < 1e-12
        c = new
        if done:
            break
    p = np.clip(c[:, None] * x, EPS, 1 - EPS)
    ll = (wins * np.log(p) + losses * np.log1p(-p)).sum(axis=1)
    return c, ll


def _search(t: np.ndarray, s: np.ndarray, wins: np.ndarray, losses: np.ndarray, half_lives: np.ndarray,
            floors: np.ndarray) -> tuple[float, float, float, float]:
    """(log-likelihood, half-life, floor, c) of the best curve of the grid."""
    best = (-math.inf, 0.0, 0.0, 0.0)
    for h in half_lives:
        x = s[None, :] * half_life_decay(t[None, :], float(h), floors[:, None])
        c, ll = _profile(x, wins, losses)
        j = int(np.argmax(ll))
        if ll[j] > best[0]:
            best = (float(ll[j]), float(h), float(floors[j]), float(c[j]))
    return best


def _binned(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minutes, wins, losses) per bin of 0.5% of 1 + minutes: without scores the likelihood
    depends on a lead only through its minutes, and the decay moves by less than 0.5% within a
    bin, so a fit over a week's range costs at most ~2,000 columns whatever the leads."""
    _, inverse, count = np.unique(np.round(np.log1p(t) * 200), return_inverse=True, return_counts=True)
    wins = np.bincount(inverse, weights=y)
    return np.bincount(inverse, weights=t) / count, wins, count - wins


def _permuted_critical(minutes_to_touch: Any, won: Any, score: Any, ok: np.ndarray) -> float:
    """The largest likelihood ratio of the coarse grid over PERMUTATIONS shuffles of the minutes
    (seeded: the same data give the same answer)."""
    t = np.asarray(minutes_to_touch, float).ravel()[ok]
    y = np.asarray(won, bool).ravel().astype(float)[ok]
    s = None if score is None else np.asarray(score, float).ravel()[ok]
    s = None if s is None else s / s.mean()
    rng = np.random.default_rng(PERMUTATION_SEED)
    if s is not None and t.size > PERMUTATION_SAMPLE:  # per-lead fits: the null from a sample
        keep = rng.choice(t.size, PERMUTATION_SAMPLE, replace=False)
        t, y, s = t[keep], y[keep], s[keep]
    worst = 0.0
    for _ in range(PERMUTATIONS):
        shuffled = rng.permutation(t)
        if s is None:
            tb, wins_at, losses_at = _binned(shuffled, y)
            sb = np.ones_like(tb)
        else:
            tb, sb, wins_at, losses_at = shuffled, s, y, 1 - y
        _, flat = _profile(sb[None, :], wins_at, losses_at)
        ll = _search(tb, sb, wins_at, losses_at, HALF_LIVES[::2], FLOORS[::2])[0]
        worst = max(worst, 2 * (ll - float(flat[0])))
    return worst


def fit_decay(minutes_to_touch: Any, won: Any, score: Any = None, *, policy: Speed | None = None
              ) -> DecayFit:
    """Fit the decay's half-life and floor by maximum likelihood: won ~ Bernoulli(p0 * decay(t)).

    `minutes_to_touch`: each lead's wall-clock minutes to its first touch;
    `won`: its outcome; `score` (optional): its win chance or worth as the
    router scored it, so that p = p0 * score / mean(score) * decay(t). p0 is
    profiled out (its MLE for each curve), the curve searched over a grid of
    half-lives (1 minute to a week, log-spaced) and floors (0 to 1 in 0.05),
    then refined on a finer grid around the best point (numpy only; without
    scores the leads are pooled in fine bins of minutes, see `_binned`).

    The fit is *supported* with at least MIN_OUTCOMES leads, MIN_EACH_OUTCOME
    wins and losses, and a likelihood-ratio statistic 2 x (gain over a flat
    curve) above LR_CRITICAL (chi-square, 2 degrees of freedom, 5%) and above
    every fit to the outcomes with the minutes shuffled (`_permuted_critical`);
    else the note says why and `DecayFit.speed` keeps the policy's curve.
    """
    t = np.asarray(minutes_to_touch, float).ravel()
    y = np.asarray(won, bool).ravel().astype(float)
    s = np.ones_like(t) if score is None else np.asarray(score, float).ravel()
    ok = np.isfinite(t) & (t >= 0) & np.isfinite(s) & (s > 0)
    t, y, s = t[ok], y[ok], s[ok]
    s = s / s.mean() if s.size else s
    n, wins = int(t.size), int(y.sum())
    curve = "keeping the policy's curve"
    if policy is not None and policy.table:
        curve = "keeping the policy's table"
    if n < MIN_OUTCOMES or min(wins, n - wins) < MIN_EACH_OUTCOME:
        return DecayFit(False, f"not enough outcomes ({n} leads with a touch and a won/lost outcome, "
                               f"{wins} won; {MIN_OUTCOMES} and {MIN_EACH_OUTCOME} of each needed): {curve}",
                        n, wins)
    if score is None:
        t, wins_at, losses_at = _binned(t, y)
        s = np.ones_like(t)
    else:
        wins_at, losses_at = y, 1 - y
    _, flat = _profile(s[None, :], wins_at, losses_at)
    ll, h, f, c = _search(t, s, wins_at, losses_at, HALF_LIVES, FLOORS)
    step = float(HALF_LIVES[1] / HALF_LIVES[0])
    ll, h, f, c = max((ll, h, f, c), _search(
        t, s, wins_at, losses_at, np.geomspace(max(h / step, 0.5), h * step, 21),
        np.linspace(max(f - 0.05, 0.0), min(f + 0.05, 1.0), 21)))
    gain = ll - float(flat[0])
    # The grid's best curve, and half-lives that mean nothing at floor 1, make the chi-square
    # cutoff lenient: the likelihood ratio must also beat every one of PERMUTATIONS fits to the
    # outcomes with the minutes shuffled (p < 1 / (PERMUTATIONS + 1) = 5%).
    critical = max(LR_CRITICAL, _permuted_critical(minutes_to_touch, won, score, ok))
    supported = 2 * gain > critical
    note = (f"the fitted curve beats a flat one (likelihood ratio {2 * gain:.1f} > {critical:.1f})"
            if supported else
            f"the outcomes do not show a decay (likelihood ratio {2 * gain:.1f} <= {critical:.1f}): {curve}")
    if supported and (h <= HALF_LIVES[0] or h >= HALF_LIVES[-1]):
        note += "; the half-life is at the edge of the range searched"
    return DecayFit(supported, note, n, wins, round(h, 2), round(f, 3), round(c, 4),
                    round(ll, 4), round(float(flat[0]), 4))


# --- The reps file with the learned minutes ---------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, dict):
        return ";".join(f"{k}:{v:g}" for k, v in sorted(value.items()))
    return value


def reps_file_csv(reps: Sequence[Rep]) -> str:
    """Reps as a CSV `load_reps` reads back: every field (speed minutes included), then the extra
    columns (attributes), so a file read and written again keeps what it had."""
    fields = [name for name in Rep.model_fields if name != "attributes"]
    extra = sorted({k for r in reps for k in r.attributes})
    return csv_text([*fields, *extra],
                    ([_cell(getattr(r, name)) for name in fields] + [r.attributes.get(k, "") for k in extra]
                     for r in reps))
