"""Errors the outside world sees.

`InputError` is the one exception for bad input. It carries the file, the row
(a data record) or the line (of a policy, scenario or other YAML/JSON document:
"row N" is the N-th record, which in a CSV file is line N + 1) and the field, so a
user can fix the input without reading a stack trace; the command line turns it
into one line on stderr and exit code 2.
"""

from __future__ import annotations

import re

# White space that is not a plain space (newlines, tabs), with the spaces around it.
_LINE_BREAKS = re.compile(r" *[^\S ]\s*")


class InputError(ValueError):
    """Bad input: names the file, the row (1-based data row, or "header") or the line (1-based, of
    a document: a policy, a scenario, a column map, a YAML/JSON file that does not parse) and the
    field (a document's field is its path: `routing_rules[2].then.admit.team`).

    Shown as one line: line breaks and tabs in the message (with the white space around them)
    are one space each.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.line = line
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" if isinstance(self.row, int) else f"{self.row} row")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        # One line, whatever a parser put in its message (PyYAML's span several); runs of plain
        # spaces stay, as a value quoted from the file holds them ('Ana  Silva').
        message = _LINE_BREAKS.sub(" ", self.message).strip()
        return f"{prefix}: {message}" if prefix else message
