"""A batch of leads as text columns, for the routing rules (`solver.compile.rules`).

Numbers and normalized codes are derived on demand and cached: folding and parsing
work on a column's distinct cells, far fewer than the leads in a CRM export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from solver.domain.errors import InputError
from solver.domain.rules import Derived, as_text


def _fold(text: np.ndarray, *, trim: bool = True, case_sensitive: bool = False) -> np.ndarray:
    text = np.char.strip(text) if trim else text
    return text if case_sensitive else np.char.lower(text)


@dataclass(frozen=True)
class LeadTable:
    """A batch of leads as text columns; numbers and codes are derived on demand and cached."""

    n: int
    text: dict[str, np.ndarray]  # field -> str (n,), as given
    _numbers: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _codes: dict[tuple[str, bool, bool], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _distinct: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def of(cls, columns: Mapping[str, Sequence[object] | np.ndarray],
           numbers: Mapping[str, np.ndarray] | None = None) -> LeadTable:
        """Columns of cell text (None is blank); `numbers` may give fields parsed already."""
        text = {k: col.astype(str) if isinstance(col, np.ndarray) else _text_column(col)
                for k, col in columns.items()}
        n = len(next(iter(text.values()))) if text else 0
        if any(len(col) != n for col in text.values()):
            raise ValueError("lead columns differ in length")
        table = cls(n, {k: col if col.size else np.zeros(0, dtype="<U1") for k, col in text.items()})
        for k, values in (numbers or {}).items():
            table._numbers[k] = (np.asarray(values, dtype=np.float64), np.zeros(n, dtype=bool))
        return table

    def distinct(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(the column's distinct cells (D,), each lead's index into them (n,)): folding and parsing
        work on these, far fewer than the leads in a CRM column."""
        if name not in self._distinct:
            cells, index = np.unique(self.text[name], return_inverse=True)
            self._distinct[name] = (cells, index.reshape(-1))
        return self._distinct[name]

    def numbers(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(float (n,) with NaN for blank or not a number, bool (n,) non-blank but not a number)."""
        if name not in self._numbers:
            cells, index = self.distinct(name)
            blank = np.char.strip(cells) == ""
            try:
                values = np.where(blank, "nan", cells).astype(np.float64)
            except ValueError:  # text in the column: parse value by value to find which
                values = np.array([_float_or_nan(c) for c in cells], dtype=np.float64)
            self._numbers[name] = (values[index], (np.isnan(values) & ~blank)[index])
        return self._numbers[name]

    def codes(self, name: str, *, trim: bool = True, case_sensitive: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct normalized values (V,), each lead's index into them (n,))."""
        key = (name, trim, case_sensitive)
        if key not in self._codes:
            cells, index = self.distinct(name)
            vocab, folded = np.unique(_fold(cells, trim=trim, case_sensitive=case_sensitive),
                                      return_inverse=True)
            self._codes[key] = (vocab, folded.reshape(-1)[index])
        return self._codes[key]

    def with_derived(self, derived: Mapping[str, Derived], leads_file: str | None = None) -> LeadTable:
        """The table with each derived field's label column (replacing a given column of that name).

        A blank source cell, or one of the usual "no value" words of exports (N/A, null,
        none, -, unknown), takes the field's `missing` label; other text that is no number
        ("2,000") is an error naming the row: guessing a tier would misroute the lead.
        """
        text = dict(self.text)
        for name, d in derived.items():
            values, bad = self.numbers(d.source)
            bad = bad & ~np.isin(np.char.lower(np.char.strip(self.text[d.source])), NO_VALUE)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                cell = str(self.text[d.source][row])
                raise InputError(f"derived field {name!r} needs a number, but the lead has {cell!r}",
                                 file=leads_file, row=row + 1, field=d.source)
            tier = np.searchsorted(np.array([t for t, _ in d.thresholds]), values, side="right")
            tier[np.isnan(values)] = len(d.labels)
            text[name] = np.array([*d.labels, d.missing])[tier]
        return LeadTable(self.n, text, {k: v for k, v in self._numbers.items() if k not in derived})


def _text_column(column: Sequence[object]) -> np.ndarray:
    array = np.array(column)
    return array if array.dtype.kind == "U" else np.array([cell_text(v) for v in column], dtype=str)


def cell_text(value: object) -> str:
    """A cell as text: strings as they are (trimming is the conditions' choice), YAML scalars as CSV text."""
    return value if isinstance(value, str) else "" if value is None else as_text(value)


# What exports write for "no value" in a number column (compared trimmed, lower case).
NO_VALUE = ("n/a", "na", "null", "none", "-", "unknown")


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")
