"""The id rule (solver.domain.ids): what is accepted, normalized, refused."""

from __future__ import annotations

import re

import pytest

from solver.domain.ids import MAX_ID_CHARS, id_key, normalize_id


@pytest.mark.parametrize(("raw", "stored"), [
    ("L0001", "L0001"),
    ("  L0001 ", "L0001"),  # surrounding white space trimmed
    ("e\u0301", "\u00e9"),  # decomposed e + acute -> composed (NFC)
    ("ACME/2024/7", "ACME/2024/7"),  # slashes are fine: URLs encode them
    ("Dépôt Zürich 北京", "Dépôt Zürich 北京"),  # any printable text
    ("x" * MAX_ID_CHARS, "x" * MAX_ID_CHARS),
])
def test_accepted_ids_are_stored_normalized(raw: str, stored: str) -> None:
    assert normalize_id(raw) == stored


@pytest.mark.parametrize(("raw", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * (MAX_ID_CHARS + 1), "at most"),
    ("L\n1", "U+000A"),  # newline breaks tables and headers
    ("L\r1", "U+000D"),
    ("L\t1", "U+0009"),
    ("L\x001", "U+0000"),
    ("L\u200b1", "U+200B"),  # zero-width space: looks like L1
    ("L\ufeff1", "U+FEFF"),  # byte-order mark inside
    ("L\u202e1", "U+202E"),  # right-to-left override
    ("L\u20281", "U+2028"),  # line separator
])
def test_refused_ids_say_why(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        normalize_id(raw)


def test_id_key_tells_near_duplicates() -> None:
    assert id_key("L0001") == id_key("l0001")
    assert id_key("\ufb01rm") == id_key("firm")  # compatibility ligature
    assert id_key("L0001") != id_key("L0002")
