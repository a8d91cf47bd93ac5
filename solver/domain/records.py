"""Reading records from CSV, JSON and YAML files: the rows, the columns, every error an InputError.

`load_records` is the one record reader under `solver.domain.io`'s loaders and
the accounts loader. The extension says the format: .csv, .tsv and .txt are
delimited text, .json and .yaml/.yml documents; a spreadsheet's own format is
an error asking for CSV. CSV: the delimiter is sniffed from the header (`,` `;`
tab `|`: the one that yields known column names); list fields are
`;`-separated, or `,`-separated in a `;`-delimited file. Columns are renamed by
a column mapping (`solver.domain.columns`) before anything else, and a column
that is a field (or an attribute a rule reads) in another case takes its
spelling: two columns that differ only by case are a duplicate; columns that
are no field of the record become its `attributes` (text; JSON/YAML lists
`;`-joined) and one warning names those no routing rule reads. A field mapped
to several columns takes, on each record, the first of them that is not blank
(`Country`, else `State/Province`): the column plan says which, once per file.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from solver.domain import documents
from solver.domain.columns import (
    ColumnPlan,
    Fill,
    Wanted,
    fold,
    known_columns,
    missing_column_hint,
    plan_renames,
    repeated_column,
)
from solver.domain.errors import InputError
from solver.domain.model import check_unique_ids
from solver.domain.rule_syntax import as_text, error_path, path_field

LIST_FIELDS = {"territories", "industries", "products", "segments", "ooo"}
# The delimiters a CSV export may use, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
RecordT = TypeVar("RecordT", bound=BaseModel)
# A record's raw values (after renaming) to the values to validate: aliases, case matching.
Transform = Callable[[dict[str, Any]], dict[str, Any]]
# (field, export column) -> the records that took the field from that further column
Used = Counter[tuple[str, str]]
# A file's records as read, numbered (CSV: the data row; documents: the item), renamed, with
# {field: the export column it was read from} where that column has another name (for errors)
Rows = Iterator[tuple[int, dict[str, Any], Mapping[str, str]]]
_MAX_NAMED_COLUMNS = 8
# Delimited text by any of its usual names (the delimiter is sniffed); the rest are documents.
_DELIMITED = (".csv", ".tsv", ".txt")
_DOCUMENTS = (".json", ".yaml", ".yml")
# Saved by spreadsheet programs in their own binary formats, which this tool does not read.
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


class InputWarning(UserWarning):
    """Input that is accepted but probably not what the user meant (e.g. extra columns)."""


def departed_owner(file: str, row: int, owner_id: str, fallback_set: bool) -> InputWarning:
    """The warning for an owner (of a lead or an account) who is no rep: a CRM still naming a rep
    who left, or a typo. It says what happens to the leads, which hangs on the policy's
    `fallback.owner_inactive` (`fallback_set`): without one they are routed as if unowned."""
    fate = ("its leads take fallback.owner_inactive" if fallback_set else
            "its leads are routed as if unowned (set fallback.owner_inactive to send them elsewhere)")
    return InputWarning(f"{file}, row {row}, field 'owner_id': {owner_id!r} is no rep in the reps file: "
                        f"treated as a departed owner, {fate}")


def load_records(path: Path, model: type[RecordT], kind: str, *, wanted: Wanted | None = None,
                 read: Collection[str] = (), defaults: Mapping[str, str] | None = None,
                 transform: Transform | None = None, allow_empty: bool = False) -> list[RecordT]:
    """Records of `model` from a CSV, JSON or YAML file, every problem an InputError.

    `wanted` renames the file's columns to fields (`solver.domain.columns`);
    `defaults` fill blank fields; `transform` edits each record's values before
    validation. Columns that are no field go into the record's `attributes`
    (when it has them): one warning names those that no name in `read` covers.
    A file without records (a header only, an empty list) is an error, or no
    records with `allow_empty`; an empty file (zero bytes, blank lines) is an
    error either way: no header at all is a broken export, not a quiet day.
    """
    return _load_records(path, model, kind, wanted=wanted or {}, read=read, defaults=defaults,
                         transform=transform, allow_empty=allow_empty)


def _load_records(path: Path, model: type[RecordT], kind: str, *, wanted: Wanted,
                  read: Collection[str] = (), defaults: Mapping[str, str] | None = None,
                  transform: Transform | None = None, allow_empty: bool = False) -> list[RecordT]:
    fields = set(model.model_fields)
    required = sorted(name for name, f in model.model_fields.items()
                      if f.is_required() and name not in (defaults or {}))
    keeps = "attributes" in fields
    # HubSpot's record ids are numbers: JSON/YAML integers in id fields are read as their digits.
    id_fields = {name for name in fields if name == "id" or name.endswith("_id")}
    # The names a column takes whatever its case: the fields, then the attributes rules read.
    spellings = {*read, *(fields - {"attributes"})}
    if is_delimited(path):
        plan, rows = _csv_rows(path, kind, required, wanted, fields, spellings)
        what = "columns"
    else:
        plan, rows = _document_rows(path, kind, required, wanted, spellings)
        what = "fields"
    read = {*read, *(key for _, columns in plan.fills() for key, _ in columns)}  # fallbacks are read
    records: list[RecordT] = []
    unread: set[str] = set()
    for row_number, raw, sources in rows:
        extra = {str(k): v for k, v in raw.items() if k not in fields}  # YAML keys may be numbers
        unread |= {k for k in extra if k not in read}
        values = {**(defaults or {}), **{k: v for k, v in raw.items() if k in fields}}
        for name in id_fields & values.keys():
            values[name] = _id_text(values[name], path, row_number, name)
        if keeps and extra:
            values["attributes"] = {**_attributes(extra, path, row_number),
                                    **(values.get("attributes") or {})}
        if transform is not None:
            values = transform(values)
        try:
            records.append(model.model_validate(values))
        except ValidationError as exc:
            raise _from_column(input_error_from(exc, str(path), row_number), sources) from None
    if unread:
        names = sorted(unread)
        shown = ", ".join(names[:_MAX_NAMED_COLUMNS])
        if len(names) > _MAX_NAMED_COLUMNS:
            shown += f" and {len(names) - _MAX_NAMED_COLUMNS} more"
        kept = "kept as attributes; no routing rule reads them" if keeps else "ignored"
        warnings.warn(f"{path}: unknown {what} ({kept}): {shown}", InputWarning, stacklevel=3)
    if not records and not allow_empty:
        raise InputError(f"no {kind} in the file", file=str(path))
    check_unique_ids(records, file=str(path), what=kind[:-1])  # type: ignore[arg-type]
    return records


def _id_text(value: Any, path: Path, row: int, field: str) -> Any:
    """An integer id as its decimal text; other values as they are, for the model to check."""
    if isinstance(value, documents.WrittenInt):
        raise InputError(f"YAML reads {value.written} as the number {int(value)}: quote the id "
                         f"(\"{value.written}\") to keep it as written", file=str(path), row=row, field=field)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _attributes(extra: dict[str, Any], path: Path, row: int) -> dict[str, str]:
    """Extra columns as attribute text: CSV cells as they are, scalars as text, lists `;`-joined."""
    out = {}
    for key, value in extra.items():
        if isinstance(value, (list, tuple)):
            if any(isinstance(v, (dict, list, tuple)) for v in value):
                raise InputError("an extra field is read as text or a list of texts, not nested lists",
                                 file=str(path), row=row, field=key)
            out[key] = ";".join(as_text(v) for v in value if v is not None)
        elif isinstance(value, dict):
            raise InputError("an extra field is read as text or a list of texts, not a mapping",
                             file=str(path), row=row, field=key)
        else:
            out[key] = "" if value is None else value if isinstance(value, str) else as_text(value)
    return out


def is_delimited(path: Path) -> bool:
    """Whether a records file is delimited text (or else JSON/YAML), by its extension; an
    extension that is neither is an InputError saying which are read."""
    suffix = path.suffix.lower()
    if suffix in _DELIMITED:
        return True
    if suffix in _DOCUMENTS:
        return False
    if suffix in _SPREADSHEETS:
        raise InputError(f"a spreadsheet ({suffix}) is not read: save it as CSV (UTF-8)", file=str(path))
    raise InputError(f"unknown file type {suffix or '(no extension)'!r}: records are read from "
                     f"{', '.join(_DELIMITED)} (delimited text), {', '.join(_DOCUMENTS)}", file=str(path))


def read_text(path: Path) -> str:
    """The file's UTF-8 text; a blank file (nothing but white space) is an InputError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = f"byte 0x{data[exc.start]:02x}"
        if path.suffix.lower() not in _DELIMITED:  # a document: its line
            raise InputError(f"not UTF-8 text ({byte}); save the file as UTF-8", file=str(path),
                             line=line) from None
        row = _record_row(data[: exc.start])
        raise InputError(f"not UTF-8 text ({byte} at line {line}); save the file as UTF-8", file=str(path),
                         row=max(line - 1, 1) if row is None else row) from None
    if not text.strip():
        raise InputError("file is empty", file=str(path))
    return text


def _record_row(before: bytes) -> int | str | None:
    """The row of the CSV record the bytes after `before` are in, numbered as every other error
    in the file numbers it (`_csv_body`: 1 after the header; "header"): a quoted field may span
    lines, so the line is not the row. None: the text before does not read as CSV."""
    text = before.decode("utf-8-sig", errors="replace") + "x"  # "x": the record the byte starts or is in
    try:
        records = sum(1 for _ in csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    return records - 1 if records > 1 else "header"


def sniff_delimiter(text: str, known: set[str]) -> str:
    """The delimiter of a CSV text: of `,` `;` tab `|`, the one whose header has the most known
    (folded) column names, then the most columns; `,` when none splits the header."""
    first = text.split("\n", 1)[0]

    def score(delimiter: str) -> tuple[int, int, int]:
        try:
            cells = next(csv.reader([first], delimiter=delimiter))
        except (csv.Error, StopIteration):
            return (0, 0, 0)
        return (sum(fold(c) in known for c in cells), len(cells), -DELIMITERS.index(delimiter))

    return max(DELIMITERS, key=score)


def _csv_rows(path: Path, kind: str, required: Sequence[str], wanted: Wanted, fields: set[str],
              names: Collection[str], used: Used | None = None) -> tuple[ColumnPlan, Rows]:
    """The file's column plan (the header checked) and its numbered rows, renamed, read lazily."""
    text = read_text(path)
    delimiter = sniff_delimiter(text, known_columns(wanted, fields))
    # In a ';'-delimited file, ';' cannot part list items: they are ','-separated there.
    separator = "," if delimiter == ";" else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=str(path), row="header") from None
    rows = _csv_body(reader, path)
    width = len(header)
    unnamed = _unnamed_columns(header, rows, path)
    header = [h for i, h in enumerate(header) if i not in unnamed]
    twice = repeated_column(header)
    if twice is not None:
        raise InputError(_duplicate(*twice, "column"), file=str(path), row="header", field=twice[1])
    plan = plan_renames(header, wanted, file=str(path), names=names)
    header = [plan.renames.get(h, h) for h in header]
    fills, sources = plan.fills(), plan.sources()
    for name in required:
        if name not in header:
            raise InputError("missing required column" + missing_column_hint(name, wanted),
                             file=str(path), row="header", field=name)
    reps = kind == "reps"

    def records() -> Rows:
        for row_number, cells in rows:
            if len(cells) != width:
                raise InputError(f"{len(cells)} cells where the header has {width} columns",
                                 file=str(path), row=row_number)
            named = [c for i, c in enumerate(cells) if i not in unnamed] if unnamed else cells
            record = dict(zip(header, named, strict=True))
            taken = {**sources, **_fill_blanks(record, fills, used)} if fills else sources
            yield (row_number, _csv_values(path, row_number, record, fields, separator, rep_lists=reps),
                   taken)

    return plan, records()


def _csv_body(reader: Iterator[list[str]], path: Path) -> list[tuple[int, list[str]]]:
    """The data rows after the header, numbered from 1; blank lines are skipped (no record)."""
    rows: list[tuple[int, list[str]]] = []
    row_number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=str(path), row=row_number + 1) from None
        row_number += 1
        if any(c.strip() for c in cells):
            rows.append((row_number, cells))


def _unnamed_columns(header: Sequence[str], rows: Sequence[tuple[int, list[str]]], path: Path) -> set[int]:
    """The positions of columns with a blank header cell and no value in any row: a spreadsheet's
    trailing columns, skipped. A blank-headed column holding a value is an error: whose is it?"""
    unnamed = {i for i, h in enumerate(header) if not h}
    if not unnamed:
        return unnamed
    positions = sorted(unnamed)
    for row_number, cells in rows:
        for i in positions:
            if i < len(cells) and cells[i].strip():
                raise InputError(f"column {i + 1} has no name but holds values (row {row_number}: "
                                 f"{cells[i].strip()[:40]!r}): name it in the header, or delete it",
                                 file=str(path), row="header")
    return unnamed


def _csv_values(path: Path, row: int, cells: dict[str, str], fields: set[str], separator: str,
                *, rep_lists: bool) -> dict[str, Any]:
    """CSV strings to record values: empty cells fall back to defaults, lists split on `separator`.

    Extra columns keep their text, blank included (every record has the same attributes); a
    rep's extra column is a list, held `;`-separated whatever the file's delimiter.
    """
    values: dict[str, Any] = {}
    for key, cell in cells.items():
        cell = cell.strip()
        if key not in fields:
            values[key] = cell.replace(separator, ";") if rep_lists else cell
        elif cell == "":
            continue
        elif key in LIST_FIELDS:
            values[key] = tuple(x.strip() for x in cell.split(separator) if x.strip())
        elif key == "skills":
            values[key] = _parse_skills(cell, path, row, separator)
        else:
            values[key] = cell
    return values


def _parse_skills(cell: str, path: Path, row: int, separator: str = ";") -> dict[str, str]:
    skills: dict[str, str] = {}
    for part in cell.split(separator):
        if not part.strip():
            continue
        for wrong in {",", "|", ";"} - {separator}:
            if wrong in part:
                raise InputError(f"{wrong!r} in {part.strip()!r}: separate skills with "
                                 f"{separator!r} (key:multiplier{separator}key:multiplier; in a "
                                 f"';'-delimited file ','", file=str(path), row=row,
                                 field="skills")
        key, sep, mult = part.rpartition(":")
        if not sep or not key.strip():
            raise InputError(f"expected key:multiplier, got {part.strip()!r}",
                             file=str(path), row=row, field="skills")
        if key.strip() in skills:
            raise InputError(f"skill {key.strip()!r} given twice", file=str(path), row=row,
                             field="skills")
        skills[key.strip()] = mult.strip()
    return skills


def parse_document(path: Path) -> Any:
    """A JSON (.json) or YAML file's data; every problem reading it is an InputError."""
    return documents.parse_document(path, read_text(path))


def _document_rows(
    path: Path, kind: str, required: Sequence[str], wanted: Wanted, names: Collection[str],
    used: Used | None = None,
) -> tuple[ColumnPlan, Rows]:
    """The file's column plan and its numbered records, renamed, checked lazily."""
    text = read_text(path)
    data = documents.parse_document(path, text)
    if isinstance(data, dict) and kind in data:
        data = data[kind]
    if not isinstance(data, list):
        raise InputError(f"expected a list of {kind} (or a mapping with key {kind!r})",
                         file=str(path))
    keys = list(dict.fromkeys(str(k) for item in data if isinstance(item, dict) for k in item))
    plan = plan_renames(keys, wanted, file=str(path), names=names)
    renames, fills, sources = plan.renames, plan.fills(), plan.sources()

    def records() -> Rows:
        for row, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise InputError("each record must be a mapping of field to value",
                                 file=str(path), row=row)
            twice = documents.repeated_key(item)
            if twice is not None:
                raise InputError("key given twice: which value is meant?", file=str(path), row=row,
                                 field=twice)
            folded_twice = repeated_column([str(k) for k in item])
            if folded_twice is not None:
                raise InputError(_duplicate(*folded_twice, "key"), file=str(path), row=row,
                                 field=folded_twice[1])
            if renames:
                item = {renames.get(str(k), k): v for k, v in item.items()}
            taken = sources
            if fills:
                item = dict(item)  # the parsed document stays as it was
                taken = {**sources, **_fill_blanks(item, fills, used)}
            for name in required:
                if name not in item:
                    raise InputError("missing required field" + missing_column_hint(name, wanted),
                                     file=str(path), row=row, field=name)
            yield row, item, taken

    return plan, records()


def _fill_blanks(record: dict[Any, Any], fills: Sequence[Fill], used: Used | None) -> dict[str, str]:
    """Each field of `fills` from the first of its columns that is not blank (absent, null, white
    space) on `record`; `used` counts (field, column) for `validate` where that is not the first.
    Returns {field: the export column it took} for the fields whose column has another name."""
    taken: dict[str, str] = {}
    for field, columns in fills:
        for k, (key, column) in enumerate(columns):
            value = record.get(key)
            if _filled(value):
                record[field] = value
                if fold(column) != fold(field):
                    taken[field] = column
                if k and used is not None:
                    used[field, column] += 1
                break
    return taken


def _from_column(err: InputError, sources: Mapping[str, str]) -> InputError:
    """`err` saying which export column its field's value came from, where the file calls it
    otherwise (a mapped column, a fallback: `value` from `Annual Revenue`)."""
    column = sources.get(err.field or "")
    if column is None:
        return err
    return InputError(f"{err.message}, in the column {column!r}", file=err.file, row=err.row, field=err.field)


def _filled(value: Any) -> bool:
    """Whether a cell or a document's value holds something: not null, not white space."""
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def _duplicate(first: str, second: str, what: str) -> str:
    if first == second:
        return f"duplicate {what}"
    return f"duplicate {what}: {first!r} and {second!r} are one name (case is not told apart)"


# pydantic's error types for a date or time it could not read
_DATE_ERRORS = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type", "date_parsing",
                          "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"})


def input_error_from(exc: ValidationError, file: str, row: int | None) -> InputError:
    err = exc.errors()[0]
    field = path_field(error_path(err))  # a validator's own path, when it gave one (`fail(..., at=)`)
    # pydantic prefixes a validator's own message with "Value error, ": the message is ours.
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "missing required field"
    elif err["type"] in _DATE_ERRORS:  # pydantic's "input is too short" for 11/2/2026 says not what it wants
        message = f"{message}; dates are ISO 8601, e.g. 2026-11-02 or 2026-11-02T09:00:00+00:00"
    value = err.get("input")
    if err["type"] not in ("missing", "extra_forbidden") and isinstance(value, (str, int, float)):
        shown = repr(value) if not isinstance(value, int) or value.bit_length() < 64 else "a huge integer"
        message = f"{message} (got {shown[:60] + '...' if len(shown) > 60 else shown})"
    return InputError(message, file=file, row=row, field=field)


def column_plan(path: Path, kind: str, fields: Collection[str], wanted: Wanted) -> tuple[ColumnPlan, Used]:
    """What `validate` shows of a file read through `wanted`: the column plan (which export column
    became which field, which further columns fill a blank one) and {(field, export column): the
    records that took the field from that further column}. The file is read again as
    `load_records` reads it; its records only where there is a fallback to count."""
    used: Used = Counter()
    if not wanted:
        return ColumnPlan({}, {}), used
    plan, rows = (_csv_rows(path, kind, (), wanted, set(fields), fields, used) if is_delimited(path)
                  else _document_rows(path, kind, (), wanted, fields, used))
    if plan.fallbacks:
        deque(rows, maxlen=0)
    return plan, used
