"""The one rule for ids (leads, reps, accounts): what is accepted, and when two ids are the same.

An id travels from a CRM export into the ledger, URLs, HTTP headers, CSV
cells and terminal tables, so it must be the same string everywhere and
printable everywhere. The rule:

- Unicode NFC normalization (the composed form: "é" typed two ways is one id);
  surrounding white space is removed;
- 1 to `MAX_ID_CHARS` characters;
- no control, format or separator characters (Unicode categories Cc, Cf, Zl,
  Zp: newlines, tabs, NUL, zero-width spaces, bidi overrides); inner spaces and
  any printable character, `/` included, are fine (URLs encode them).

Two ids that differ only by case or compatibility form (`L1` and `l1`, `ﬁ`
and `fi`) are different ids, but almost always a typo in one source: loaders
refuse such near-duplicates within one file (`id_key` gives the comparison key).
"""

from __future__ import annotations

import unicodedata

MAX_ID_CHARS = 200
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def normalize_id(text: str) -> str:
    """The id as stored: NFC, trimmed. ValueError naming the problem if it breaks the rule."""
    if not isinstance(text, str):
        raise ValueError(f"an id must be text, not {type(text).__name__}")
    value = unicodedata.normalize("NFC", text).strip()
    if not value:
        raise ValueError("an id must not be empty")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"an id must be at most {MAX_ID_CHARS} characters (got {len(value)})")
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"an id must not hold control or invisible characters "
                             f"(U+{ord(char):04X} at character {position})")
    return value


def id_key(normalized: str) -> str:
    """What two ids must differ in to be told apart by a person: case and compatibility forms."""
    return unicodedata.normalize("NFKC", normalized).casefold()
