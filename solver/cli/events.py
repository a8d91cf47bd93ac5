"""`leadsolver events`: first touches, releases and dispositions from the CRM, into the ledger.

Cron's other half: `run` assigns, `events` tells the ledger what became of
the leads, so capacity frees and history is complete. The file (CSV, or JSON:
a list of objects, or {"events": [...]}) has one event a row:

    lead_id,action,at,reason,value
    L1,touch,2026-03-02T10:00:00+00:00,,
    L1,won,2026-03-20T16:00:00+00:00,,12000
    L2,disqualified,,no_budget,

`action` is touch | release | close | won | lost | disqualified (with a
`reason`: not_ready, not_a_fit, not_interested, bad_data, unreachable,
no_budget, no_authority, other) | assign (a person gives a queued or waiting
lead the rep in `rep_id`, one of the `--reps` file's, which a file with an
assign needs); `at` is ISO 8601 (default: now; not after now, give or take five
minutes of clock skew); `value` is a won deal's value.
Every row is checked first, then all are applied in one transaction: a bad row
(or a lead the ledger does not know, or has not decided yet, a disposition
other than the one recorded for the lead, a rep the reps file lacks, or an
assign of a lead that waits no more) is one message naming the file, row and
field, exit 2, nothing applied. Applying the same file again changes nothing.
Lead and rep ids follow the id rule (`solver.domain.ids`); a CSV file may be
`,` `;` tab or `|`-delimited; a file of zero bytes is nothing to apply.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from solver.cli.common import (
    check_ledger_exists,
    emit,
    format_option,
    input_errors_exit_2,
    now_option,
    out_option,
    parse_now,
    refuse_to_overwrite,
)
from solver.cli.jobs import _open_ledger, db_option
from solver.decode.reasons import ReasonCode
from solver.domain.errors import InputError
from solver.domain.ids import normalize_id
from solver.domain.io import csv_text, load_reps
from solver.domain.records import sniff_delimiter
from solver.online import outcomes
from solver.online.lifecycle import LeadStatus
from solver.online.outcomes import ACTIONS, DISPOSITIONS, DISQUALIFY_REASONS, LeadEvent
from solver.online.store import LeadStore, StoreError
from solver.report.tables import format_rows

_COLUMNS = ("lead_id", "action", "at", "reason", "value", "rep_id")
# How far an event may be dated past `now`: a CRM's clock a little ahead of ours. Later than
# that, it is another clock's or a typo's, and `learn` would read months of response time in it.
CLOCK_SKEW = timedelta(minutes=5)


@click.command("events")
@db_option
@click.option("--file", "file_path", required=True, type=click.Path(dir_okay=False),
              help="Events file (.csv or .json): lead_id, action, at, reason, value, rep_id.")
@click.option("--reps", "reps_path", type=click.Path(dir_okay=False),
              help="Reps file (.csv, .json, .yaml) that an assign's rep_id must name; needed when the "
                   "events file has an assign.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for an overlapping run to finish.")
@now_option
@format_option
@out_option
@input_errors_exit_2
def events(db_path: str, file_path: str, reps_path: str | None, lock_timeout: float, now_text: str | None,
           fmt: str, out_path: str | None) -> None:
    """Apply touches, releases, dispositions (won, lost, disqualified) and a person's assignments
    of queued leads (to reps of --reps) to the ledger's leads."""
    refuse_to_overwrite(out_path, ledger=db_path, file=file_path, reps=reps_path)
    now = parse_now(now_text)
    todo = read_events(file_path, now)
    _check_reps(todo, reps_path, file_path)
    check_ledger_exists(db_path)
    if not todo:
        emit(_render([], [], fmt, f"nothing to apply: {file_path} has no events\n"), out_path)
        return
    ledger = _open_ledger(db_path, lock_timeout)
    try:
        with ledger.transaction():
            dispositions: dict[str, tuple[Disposition, str]] = {}
            waits_no_more: dict[str, tuple[str | None, int]] = {}
            for row, event in enumerate(todo, start=1):
                status = ledger.status(event.lead_id)
                if status is None or status.undecided:
                    why = "is not in the ledger" if status is None else "has no answer yet (still buffered)"
                    raise InputError(f"lead {event.lead_id!r} {why}", file=file_path, row=row,
                                     field="lead_id")
                history = ledger.history(event.lead_id)  # read once for the checks that need it
                _check_time(history, event, file_path, row)
                _check_disposition(ledger, event, dispositions, file_path, row)
                _check_assign(ledger, history, event, status, waits_no_more, file_path, row)
            applied = [outcomes.apply(ledger, event) for event in todo]
    except StoreError as exc:
        raise InputError(str(exc)) from None
    finally:
        ledger.close()
    emit(_render(todo, applied, fmt), out_path)


def _render(todo: list[LeadEvent], applied: list[bool], fmt: str, table: str | None = None) -> str:
    """The events and whether each changed the ledger; `table` replaces the table's text."""
    rows: list[tuple[str, ...]] = [(e.lead_id, e.action, e.at.isoformat(), "yes" if done else "no (already)")
                                   for e, done in zip(todo, applied, strict=True)]
    summary = {"events": len(todo), "applied": sum(applied), "unchanged": len(todo) - sum(applied)}
    columns = ("lead_id", "action", "at", "applied")
    if fmt == "json":
        return json.dumps({"events": [dict(zip(columns, (*r[:3], done), strict=True))
                                      for r, done in zip(rows, applied, strict=True)],
                           "summary": summary}, indent=2) + "\n"
    if fmt == "csv":
        return csv_text(columns, rows)
    return table or (format_rows(columns, rows) + "\n\n"
                     f"{summary['applied']} of {summary['events']} events applied; {summary['unchanged']} "
                     "changed nothing (applied before)\n")


# A lead's disposition: the outcome (won, lost, disqualified, closed), its reason, a won deal's value.
Disposition = tuple[str, str | None, float | None]


def _check_disposition(ledger: LeadStore, event: LeadEvent, seen: dict[str, tuple[Disposition, str]],
                       path: str, row: int) -> None:
    """A disposition is recorded once: the same again is a no-op, another one is an InputError.

    `seen` holds each lead's disposition so far (the ledger's, then the file's rows) and where it is from.
    """
    if event.action not in ("close", *DISPOSITIONS):
        return
    mine: Disposition = ("closed" if event.action == "close" else event.action, event.reason, event.value)
    if event.lead_id not in seen:
        recorded = [(e["kind"], e["reason"], e["expected_value"]) for e in ledger.history(event.lead_id)
                    if e["kind"] in DISPOSITIONS]
        if not recorded:
            seen[event.lead_id] = (mine, f"row {row} of this file")
            return
        seen[event.lead_id] = (recorded[0], "in the ledger")
    (outcome, reason, value), where = seen[event.lead_id]
    if (outcome, reason) != mine[:2] or (value is not None and mine[2] is not None and value != mine[2]):
        raise InputError(f"lead {event.lead_id!r} is recorded as {_said(outcome, reason, value)} ({where}); "
                         f"{_said(*mine)} conflicts with it", file=path, row=row, field="action")


def _said(outcome: str, reason: str | None, value: float | None) -> str:
    worth = f" with value {value:g}" if value is not None else ""
    return outcome + (f" ({reason})" if reason else "") + worth


def _check_reps(todo: list[LeadEvent], reps_path: str | None, path: str) -> None:
    """Every assign names a rep of the reps file: a rep the file lacks would own a lead that `run`
    never routes to and `learn --ledger` refuses. InputError naming the events file's row if not."""
    assigns = [(row, e) for row, e in enumerate(todo, start=1) if e.action == "assign"]
    if not assigns:
        return
    if reps_path is None:
        raise InputError("an assign needs --reps: the reps file its rep_id is checked against", file=path,
                         row=assigns[0][0], field="rep_id")
    reps = {rep.id for rep in load_reps(reps_path)}
    for row, event in assigns:
        if event.rep_id not in reps:
            raise InputError(f"{event.rep_id!r} is no rep of the reps file {reps_path}", file=path, row=row,
                             field="rep_id")


def _check_time(history: list[dict[str, Any]], event: LeadEvent, path: str, row: int) -> None:
    """An event cannot come before the lead reached the ledger, nor a touch before the lead's
    current owner got it: a file dated on the CRM's own clock against a ledger on another gave
    negative minutes to first touch in the experiment report. InputError naming `at`."""
    accepted, assigned = None, None
    for e in history:
        if e["kind"] == "accepted" and accepted is None:
            accepted = datetime.fromisoformat(e["at"])
        elif e["kind"] == "assigned":
            assigned = datetime.fromisoformat(e["at"])  # the latest: the current owner's
    if accepted is not None and event.at < accepted:
        at, then = _shown(event.at, accepted)
        raise InputError(f"{at} is before the lead was accepted ({then})", file=path, row=row, field="at")
    if event.action == "touch" and assigned is not None and event.at < assigned:
        at, then = _shown(event.at, assigned)
        raise InputError(f"a touch at {at} is before the lead was assigned ({then})", file=path, row=row,
                         field="at")


def _shown(*times: datetime) -> tuple[str, ...]:
    """`times` in ISO form, to the second unless one has a fraction of one (then to the
    microsecond): an event 0.3 s before the acceptance must not read as the same time."""
    spec = "microseconds" if any(t.microsecond for t in times) else "seconds"
    return tuple(t.isoformat(timespec=spec) for t in times)


def _check_assign(ledger: LeadStore, history: list[dict[str, Any]], event: LeadEvent, status: LeadStatus,
                  waits_no_more: dict[str, tuple[str | None, int]], path: str, row: int) -> None:
    """An assign takes a lead waiting in a queue or the backlog; one that waits no more is an
    InputError saying where it stands, unless it is this very assignment (a person gave it this rep
    before), which changes nothing.

    `waits_no_more` holds the leads the file's earlier rows took out of the wait: the rep an assign
    gave it (None: a release or disposition closed it) and the row.
    """
    if event.action != "assign":
        if event.action != "touch" and status.closable:
            waits_no_more.setdefault(event.lead_id, (None, row))
        return
    if event.lead_id in waits_no_more:
        rep_id, earlier = waits_no_more[event.lead_id]
        if rep_id == event.rep_id:
            return
        standing = f"assigned to {rep_id!r}" if rep_id else "closed"
        raise InputError(f"lead {event.lead_id!r} is not waiting in a queue or the backlog: {standing} by "
                         f"row {earlier} of this file", file=path, row=row, field="action")
    if status.closable:  # the statuses `outcomes.assign` takes
        waits_no_more[event.lead_id] = (event.rep_id, row)
        return
    if any(e["kind"] == "assigned" and e["reason_code"] == ReasonCode.ASSIGNED_BY_PERSON
           and e["rep_id"] == event.rep_id for e in history):
        return  # applied before
    answer = ledger.decision(event.lead_id)
    rep_id = answer.rep_id if answer else None
    raise InputError(f"lead {event.lead_id!r} is not waiting in a queue or the backlog: "
                     f"{_standing(status, rep_id)}", file=path, row=row, field="action")


def _standing(status: LeadStatus, rep_id: str | None) -> str:
    """Where a lead that waits no more stands, in words."""
    if status is LeadStatus.ASSIGNED:
        return f"assigned to {rep_id!r}"
    if status is LeadStatus.CLOSED:
        return f"assigned to {rep_id!r}, since closed" if rep_id else "closed while it waited"
    if status is LeadStatus.EXPIRED:
        return "expired (it waited in the backlog longer than the policy allows)"
    return "unassigned for good (no rep's rules admit it)"


def read_events(path: str, now: datetime) -> list[LeadEvent]:
    """The file's events, each row checked; InputError naming the file, row and field."""
    file = Path(path)
    if not file.is_file():
        raise InputError("no such file", file=path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", file=path) from None
    if not text.strip():
        return []  # zero bytes: an export with nothing to export
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg}, line {exc.lineno})", file=path) from None
        raw: Any = data.get("events") if isinstance(data, dict) else data
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise InputError("expected a list of event objects (or {\"events\": [...]})", file=path)
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text, set(_COLUMNS)))
        missing = [c for c in ("lead_id", "action") if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(f"missing column {missing[0]!r} (columns: {', '.join(_COLUMNS)})", file=path,
                             row="header", field=missing[0])
        raw = [dict(r) for r in reader]
    return [_event(r, path, k, now) for k, r in enumerate(raw, start=1)]


def _event(raw: dict[str, Any], path: str, row: int, now: datetime) -> LeadEvent:
    def text(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value).strip()

    def bad(field: str, message: str) -> InputError:
        return InputError(message, file=path, row=row, field=field)

    def an_id(field: str) -> str:
        try:
            return normalize_id(text(field))
        except ValueError as exc:  # the id rule's message
            raise bad(field, str(exc)) from None

    action = text("action").lower()
    if not text("lead_id"):
        raise bad("lead_id", "a lead id is required")
    lead_id = an_id("lead_id")
    if action not in ACTIONS:
        raise bad("action", f"{text('action')!r} is not an action ({' | '.join(ACTIONS)})")
    at = now
    if text("at"):
        try:
            at = datetime.fromisoformat(text("at").replace("Z", "+00:00"))
        except ValueError:
            raise bad("at", f"{text('at')!r} is not an ISO 8601 time") from None
        if at.tzinfo is None:
            raise bad("at", f"{text('at')!r} has no time zone offset (add +00:00 or Z)")
        if at > now + CLOCK_SKEW:  # another clock's, or a typo's: learn would train on it
            raise bad("at", f"{text('at')!r} is after now ({now.isoformat(timespec='seconds')}): an "
                      "event is recorded once it has happened")
    reason = text("reason").lower() or None
    if action == "disqualified" and reason not in DISQUALIFY_REASONS:
        raise bad("reason", f"disqualified needs a reason, one of {', '.join(DISQUALIFY_REASONS)}"
                  + (f" (got {text('reason')!r})" if reason else ""))
    if action != "disqualified" and reason is not None:
        raise bad("reason", f"a reason is for disqualified leads, not {action}")
    value = None
    if text("value"):
        try:
            value = float(text("value"))
        except ValueError:
            raise bad("value", f"{text('value')!r} is not a number") from None
        if not value >= 0 or value == float("inf"):
            raise bad("value", "a deal's value is a finite number >= 0")
        if action != "won":
            raise bad("value", f"a value is for won deals, not {action}")
    rep_id = an_id("rep_id") if text("rep_id") else None
    if (action == "assign") != (rep_id is not None):
        raise bad("rep_id", "assign needs the rep's id" if action == "assign"
                  else f"a rep_id is for assign, not {action}")
    return LeadEvent(lead_id, action, at, reason, value, rep_id)
