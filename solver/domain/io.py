"""Reading reps, leads, policies and column maps; writing results (CSV text, whole files).

Every error names the file, the row (1-based data row, the header is not
counted) and the field, via `InputError`. CSV is first class: list fields are
`;`-separated (`,` in a `;`-delimited file) and `skills` is
`key:multiplier;key:multiplier`. The rows are read by `solver.domain.records`:
columns renamed by the policy's column mapping, extra columns kept as
attributes for the routing rules.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from solver.domain import documents
from solver.domain.columns import ColumnMap, Kind
from solver.domain.errors import InputError
from solver.domain.ids import id_key
from solver.domain.labels import Normalizer
from solver.domain.model import Account, Lead, Policy, Rep, check_owners
from solver.domain.records import (
    LIST_FIELDS,
    InputWarning,
    _load_records,
    departed_owner,
    input_error_from,
    load_records,
    parse_document,
    read_text,
)
from solver.domain.rule_syntax import Locate, Step, error_also, error_path, path_field

__all__ = ["LIST_FIELDS", "InputWarning", "csv_dicts", "csv_text", "input_error_from", "load_columns",
           "load_leads", "load_policy", "load_records", "load_reps", "parse_document", "read_text",
           "spreadsheet_safe", "write_atomic"]

# A record with an owner (owner_id: a rep's id, or its name in a CRM export).
OwnedT = TypeVar("OwnedT", Lead, Account)

def load_reps(path: str | os.PathLike[str], *, policy: Policy | None = None,
              columns: ColumnMap | None = None) -> list[Rep]:
    """Read reps from a .csv (.tsv, .txt), .json or .yaml/.yml file.

    With `policy`, its column mapping applies and only columns no routing rule
    reads are warned about; `columns` (a --columns file) overrides the mapping.
    """
    cmap = _column_map(policy, columns)
    _, read = policy.rule_set.inputs() if policy else (set(), set())
    return _load_records(Path(path), Rep, "reps", wanted=cmap.wanted("reps"), read=read)


def load_leads(
    path: str | os.PathLike[str], reps: Sequence[Rep] | None = None, *,
    policy: Policy | None = None, columns: ColumnMap | None = None, allow_empty: bool = False,
) -> list[Lead]:
    """Read leads; with `reps`, also check that every owner_id names one of them.

    A file without leads (a header only, an empty list) is an InputError, or
    no leads with `allow_empty` (`run`: a day with nothing new); an empty
    file (zero bytes, blank lines) is an InputError either way.

    With `reps`, lead labels take the reps' spelling (`solver.domain.labels`);
    with `policy`, its column mapping and aliases apply (`columns` over them).
    """
    cmap = _column_map(policy, columns)
    read, _ = policy.rule_set.inputs() if policy else (set(), set())
    transform = Normalizer(reps or (), cmap) if reps is not None or cmap.aliases else None
    leads = _load_records(Path(path), Lead, "leads", wanted=cmap.wanted("leads"), read=read,
                          defaults=cmap.lead_defaults(), transform=transform, allow_empty=allow_empty)
    if reps is not None:
        leads = owners_by_name(reps, leads, file=str(path))
        departed_ok = policy is not None and policy.fallback.owner_inactive is not None
        departed = check_owners(reps, leads, leads_file=str(path), departed_ok=departed_ok)
        for row in departed[:MAX_DEPARTED_WARNINGS]:
            owner = str(leads[row - 1].owner_id)
            warnings.warn(departed_owner(str(path), row, owner, fallback_set=departed_ok), stacklevel=2)
        if len(departed) > MAX_DEPARTED_WARNINGS:
            warnings.warn(InputWarning(f"{path}: {len(departed) - MAX_DEPARTED_WARNINGS} more leads name "
                                       "an owner who is no rep"), stacklevel=2)
    return leads


# Departed owners are said one lead at a time up to this many, then counted.
MAX_DEPARTED_WARNINGS = 10
# The fields a column mapping may fill, per record kind (its other targets become attributes).
_FIELDS: dict[Kind, frozenset[str]] = {"leads": frozenset(Lead.model_fields) - {"attributes"},
                                       "reps": frozenset(Rep.model_fields) - {"attributes"}}


def _column_map(policy: Policy | None, columns: ColumnMap | None) -> ColumnMap:
    return (policy.column_map if policy else ColumnMap()).merged(columns)


def name_key(name: str) -> str:
    """What two person names must differ in to be two people: not case, compatibility forms or the
    white space between words ("Ana  Silva", typed with two spaces, is Ana Silva)."""
    return " ".join(id_key(name).split())


def rep_names(reps: Sequence[Rep], key: Callable[[str], str] = name_key) -> dict[str, list[str]]:
    """{rep name's `key` (by default `name_key`): the ids of the reps of that name} (a name two reps
    share has two)."""
    names: dict[str, list[str]] = {}
    for rep in reps:
        if rep.name:
            names.setdefault(key(rep.name), []).append(rep.id)
    return names


def owners_by_name(reps: Sequence[Rep], records: list[OwnedT], *, file: str) -> list[OwnedT]:
    """Leads (or accounts) whose owner_id is no rep id but one rep's name (a CRM's "Lead Owner"),
    with that rep's id. A name two reps share is an InputError naming the row and both reps: which
    one owns the record is unknown, and it is no departed owner either (`fallback.owner_inactive`
    would take such leads from a rep who is still there).

    A name as a rep's file writes it is that rep, before names are compared by `name_key`: reps
    named "Carl O" and "Ｃａｒｌ Ｏ" (full-width) are two reps, and "Carl O" is the first."""
    ids = {r.id for r in reps}
    exact, names = rep_names(reps, key=lambda name: name), rep_names(reps)
    out = []
    for row, record in enumerate(records, start=1):
        owner = record.owner_id
        match = (exact.get(owner) or names.get(name_key(owner), [])) if owner and owner not in ids else []
        if len(match) > 1:
            raise InputError(f"{owner!r} is the name of more than one rep ({', '.join(match)}): give the "
                             "owner's rep id", file=file, row=row, field="owner_id")
        out.append(record.model_copy(update={"owner_id": match[0]}) if match else record)
    return out


def load_columns(path: str | os.PathLike[str]) -> ColumnMap:
    """A --columns file: the policy's `columns:` section as its own YAML or JSON document, with or
    without the `columns:` key over it (the README's block copied as it is)."""
    path = Path(path)
    text = read_text(path)
    data = documents.parse_document(path, text)
    at: tuple[str, ...] = ()
    if isinstance(data, dict) and list(data) == ["columns"]:
        data, at = data["columns"], ("columns",)
    if not isinstance(data, dict):
        raise InputError("a column mapping must be a mapping (preset, leads, reps, aliases ...)",
                         file=str(path))
    try:
        cmap = ColumnMap.model_validate(data)
    except ValidationError as exc:
        err = document_error(exc, str(path), text, at)
        if err.field == "columns" and err.message == "unknown key":  # beside other keys: not unwrapped
            err = InputError("unknown key: a --columns file is the mapping itself (preset, leads, reps, "
                             "aliases ...), or a `columns:` key alone over it", file=err.file, line=err.line,
                             field=err.field)
        raise err from None
    _check_targets(cmap, path, text, at)
    return cmap


# A validator's message naming a key of what it checked: "rule 'x': mode: ...", "no_rule_match: ...".
_NAMED_KEY = re.compile(r"""(?:rule (?:'[^']*'|"[^"]*"): )?(\w+): """)


def document_error(exc: ValidationError, file: str, text: str, at: tuple[Step, ...] = (),
                   locate: Locate | None = None) -> InputError:
    """A document's validation error (a policy, a column map, a scenario; `at`: where in the file
    the validated mapping is, `("columns",)` over a columns file) naming its line and its path as
    the field (`routing_rules[2].then.admit.team`). `locate` maps a path of the data validated to
    where the file writes it (a scenario's variant). An error about two places (two rules of one
    name) points at the later one and names the other's line."""
    err = exc.errors()[0]
    line, field = document_place(text, (*at, *_error_loc(err)), locate)
    message = input_error_from(exc, file, row=None).message
    if (also := error_also(err)) is not None:
        other, other_field = document_place(text, (*at, *also), locate)
        if other is not None and line is not None and other > line:
            line, other, field = other, line, other_field
        if other is not None and other != line:
            message = f"{message} (the other at line {other})"
    return InputError(message, file=file, line=line, field=field)


def document_place(text: str | None, path: tuple[Step, ...], locate: Locate | None = None
                   ) -> tuple[int | None, str | None]:
    """The line of `path` in the document `text` (where `locate` says the file writes it; none
    without a text) and the path as an error's field, each key as the file spells it
    (`admit.reps` where the file writes `reps:`, the first spelling where it writes none)."""
    if text is None:
        return None, path_field(path)
    line, written = documents.key_place(text, locate(path) if locate else path)
    # `locate` moves the path's head (into a variant), never a key of many spellings: the ends line up
    offset = len(written) - len(path)
    spelled = tuple(written[k + offset] if isinstance(step, tuple) and k + offset >= 0
                    and written[k + offset] in step else step for k, step in enumerate(path))
    return line, path_field(spelled)


def _error_loc(err: ErrorDetails) -> tuple[Step, ...]:
    """Where in the document a validation error is: its loc and the path its validator gave, list
    indices kept (a rule's line, not the `routing_rules:` header's); without such a path, the key
    its message names first, when it names one."""
    loc = tuple(p if isinstance(p, (int, tuple)) else str(p) for p in error_path(err))
    if (err.get("ctx") or {}).get("at"):
        return loc
    named = _NAMED_KEY.match(err["msg"].removeprefix("Value error, "))
    return (*loc, named.group(1)) if named else loc


def _check_targets(cmap: ColumnMap, path: Path, text: str, at: tuple[str, ...] = ()) -> None:
    """A mapping target that is a field mistyped is an error (it would read nothing into it)."""
    mistyped = cmap.mistyped_target(_FIELDS)
    if mistyped is not None:
        where, field = mistyped
        raise InputError(f"no such field; did you mean {field!r}?",
                         file=str(path), line=documents.key_line(text, (*at, *where.split(".", 1))),
                         field=".".join((*at, where)))


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Read a policy from YAML or JSON; None gives the default policy."""
    if path is None:
        return Policy()
    path = Path(path)
    text = read_text(path)
    data = documents.parse_document(path, text)
    if not isinstance(data, dict):
        raise InputError("a policy must be a mapping of keys to values", file=str(path))
    twice = documents.repeated_key_path(data)
    if twice is not None:
        raise InputError("key given twice: which value is meant?", file=str(path),
                         line=documents.key_line(text, twice), field=path_field(twice))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise document_error(exc, str(path), text) from None
    _check_targets(policy.columns, path, text, at=("columns",))
    return policy


def policy_place(file: str | None, at: Sequence[Step], locate: Locate | None = None
                 ) -> tuple[int | None, str | None]:
    """`document_place` in the policy file `file` (read again: for an error's line only); no line
    without a readable file (a policy built in code). `at` is a path from the file's root (in a
    scenario, `("policy", ...)`)."""
    return document_place(file_text(file), tuple(at), locate)


def policy_line(file: str | None, at: Sequence[Step]) -> int | None:
    """The line of `at` in the policy file `file`: `policy_place`'s."""
    return policy_place(file, at)[0]


def file_text(file: str | None) -> str | None:
    """The text of `file`, read again for an error's line; None if it is no readable file (a
    policy or scenario built in code)."""
    if file is None or not Path(file).is_file():
        return None
    try:
        return read_text(Path(file))
    except InputError:
        return None


def csv_dicts(path: Path, required: Sequence[str]) -> Iterator[dict[str, str]]:
    """A CSV file's rows as dicts keyed by the (stripped) header; a missing required column names it.

    For tables read as they are (deal exports); cells are the file's strings.
    Records with a data contract (reps, leads) go through `load_reps` and
    `load_leads`, which check every row.
    """
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    for name in required:
        if name not in header:
            raise InputError("missing required column", file=str(path), row="header", field=name)
    reader.fieldnames = header
    return iter(reader)


# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection:
# an id "=HYPERLINK(...)" becomes a live link); tab and CR start one in some of them too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with `'` (shown, not run).

    Only text: numbers stay numbers (-2.5 is a number, not a formula).
    """
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text under a header line (newline-terminated rows, as every CSV this tool writes).

    The one CSV writer of every output: text cells are made spreadsheet-safe.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    # With "\n" rows, the writer leaves a cell holding "\r" unquoted, which breaks the row for
    # every reader: such rows are written fully quoted.
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in (header, *rows):
        cells = [spreadsheet_safe(c) for c in row]
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else writer).writerow(cells)
    return buf.getvalue()


def json_text(data: object, indent: int = 1) -> str:
    """`data` as standard JSON (and a newline): a number that is not finite (a mean over no runs)
    is null, where Python's `json` writes NaN / Infinity, which other readers refuse."""
    return json.dumps(_finite(data), indent=indent, allow_nan=False) + "\n"


def _finite(x: object) -> object:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a whole file or nothing: a temp file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
