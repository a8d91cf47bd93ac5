"""Reading reps, leads and policies from CSV, JSON and YAML; writing results (CSV text, whole files).

Every error names the file, the row (1-based data row, the header is not
counted) and the field, via `InputError`. CSV is first class: list fields are
`;`-separated and `skills` is `key:multiplier;key:multiplier`. Extra CSV
columns (or extra keys in JSON/YAML records) give one warning and are ignored.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from solver.domain import documents
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep, check_owners, check_unique_ids

LIST_FIELDS = {"territories", "industries", "products", "segments", "ooo"}
RecordT = TypeVar("RecordT", bound=BaseModel)


class InputWarning(UserWarning):
    """Input that is accepted but probably not what the user meant (e.g. extra columns)."""


def load_reps(path: str | os.PathLike[str]) -> list[Rep]:
    """Read reps from a .csv, .json or .yaml/.yml file."""
    return _load_records(Path(path), Rep, "reps")


def load_leads(
    path: str | os.PathLike[str], reps: Sequence[Rep] | None = None
) -> list[Lead]:
    """Read leads; with `reps`, also check that every owner_id names one of them."""
    leads = _load_records(Path(path), Lead, "leads")
    if reps is not None:
        check_owners(reps, leads, leads_file=str(path))
    return leads


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Read a policy from YAML or JSON; None gives the default policy."""
    if path is None:
        return Policy()
    path = Path(path)
    text = read_text(path)
    data = documents.parse_document(path, text)
    if not isinstance(data, dict):
        raise InputError("a policy must be a mapping of keys to values", file=str(path))
    # A policy is one record: its "row" is the line of the offending key.
    twice = documents.repeated_key(data)
    if twice is not None:
        raise InputError("key given twice: which value is meant?", file=str(path),
                         row=documents.key_line(text, tuple(twice.split("."))), field=twice)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        loc = tuple(str(p) for p in exc.errors()[0]["loc"] if not isinstance(p, int))
        raise input_error_from(exc, str(path), row=documents.key_line(text, loc)) from None


def _load_records(path: Path, model: type[RecordT], kind: str) -> list[RecordT]:
    required = sorted(name for name, f in model.model_fields.items() if f.is_required())
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path, required)
        what = "columns"
    else:
        rows = _document_rows(path, kind, required)
        what = "fields"
    fields = set(model.model_fields)
    records: list[RecordT] = []
    warned = False
    for row_number, raw in rows:
        extra = sorted(str(k) for k in raw.keys() - fields)  # YAML keys may be numbers
        if extra and not warned:
            warnings.warn(f"{path}: ignoring unknown {what}: {', '.join(extra)}", InputWarning,
                          stacklevel=3)
            warned = True
        values = {k: v for k, v in raw.items() if k in fields}
        try:
            records.append(model.model_validate(values))
        except ValidationError as exc:
            raise input_error_from(exc, str(path), row_number) from None
    if not records:
        raise InputError(f"no {kind} in the file", file=str(path))
    check_unique_ids(records, file=str(path), what=kind[:-1])  # type: ignore[arg-type]
    return records


def read_text(path: Path) -> str:
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
        raise InputError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); save the file as UTF-8",
            file=str(path), row=max(line - 1, 1),
        ) from None
    if not text.strip():
        raise InputError("file is empty", file=str(path))
    return text


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


def _csv_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=str(path), row="header") from None
    for name in required:
        if name not in header:
            raise InputError("missing required column", file=str(path), row="header", field=name)
    duplicated = [h for h in header if header.count(h) > 1]
    if duplicated:
        raise InputError("duplicate column", file=str(path), row="header", field=duplicated[0])
    row_number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=str(path), row=row_number + 1) from None
        row_number += 1
        if not any(c.strip() for c in cells):
            continue  # a blank line is not a record
        if len(cells) != len(header):
            raise InputError(
                f"{len(cells)} cells where the header has {len(header)} columns",
                file=str(path), row=row_number,
            )
        yield row_number, _csv_values(path, row_number, dict(zip(header, cells, strict=True)))


def _csv_values(path: Path, row: int, cells: dict[str, str]) -> dict[str, Any]:
    """CSV strings to record values: empty cells fall back to defaults, lists split on ';'."""
    values: dict[str, Any] = {}
    for key, cell in cells.items():
        cell = cell.strip()
        if cell == "":
            continue
        if key in LIST_FIELDS:
            values[key] = tuple(x.strip() for x in cell.split(";") if x.strip())
        elif key == "skills":
            values[key] = _parse_skills(cell, path, row)
        else:
            values[key] = cell
    return values


def _parse_skills(cell: str, path: Path, row: int) -> dict[str, str]:
    skills: dict[str, str] = {}
    for part in cell.split(";"):
        if not part.strip():
            continue
        for wrong in (",", "|"):
            if wrong in part:
                raise InputError(f"{wrong!r} in {part.strip()!r}: separate skills with ';' "
                                 f"(key:multiplier;key:multiplier)", file=str(path), row=row,
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
    path: Path, kind: str, required: Sequence[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    data = parse_document(path)
    if isinstance(data, dict) and kind in data:
        data = data[kind]
    if not isinstance(data, list):
        raise InputError(f"expected a list of {kind} (or a mapping with key {kind!r})",
                         file=str(path))
    for row, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise InputError("each record must be a mapping of field to value",
                             file=str(path), row=row)
        twice = documents.repeated_key(item)
        if twice is not None:
            raise InputError("key given twice: which value is meant?", file=str(path), row=row,
                             field=twice)
        for name in required:
            if name not in item:
                raise InputError("missing required field", file=str(path), row=row, field=name)
        yield row, item


def input_error_from(exc: ValidationError, file: str, row: int | None) -> InputError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = ".".join(loc) or None
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "missing required field"
    value = err.get("input")
    if err["type"] not in ("missing", "extra_forbidden") and isinstance(value, (str, int, float)):
        shown = repr(value) if not isinstance(value, int) or value.bit_length() < 64 else "a huge integer"
        message = f"{message} (got {shown[:60] + '...' if len(shown) > 60 else shown})"
    return InputError(message, file=file, row=row, field=field)


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
