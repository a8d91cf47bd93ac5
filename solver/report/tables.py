"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

# Control characters shown as escapes, so that one row stays one line (a newline in an id or a
# reason broke the table) and no terminal escape sequence is run.
_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _cell(value: object) -> str:
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _VISIBLE.get(c) or ascii(c)[1:-1] for c in text)


def format_rows(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table; control and invisible characters are shown escaped."""
    cells = [[_cell(c) for c in header], *[[_cell(c) for c in r] for r in rows]]
    widths = [max(len(c) for c in col) for col in zip(*cells, strict=False)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
