"""Reading JSON and YAML documents: every way a document can be unreadable is one `InputError`.

Beyond malformed syntax, three things used to escape as other exceptions or
pass silently:

- a key given twice in one mapping: both parsers keep the last value without
  a word. Mappings are read as `Mapping`, which remembers the repeated keys;
  `repeated_key` finds the first, for the caller to refuse with its row;
- an integer longer than Python's int-string limit (4,300 digits): a plain
  ValueError from the parser (exit 1 before);
- nesting deeper than the parser's recursion: RecursionError (exit 1 before).

An integer YAML reads from other text than its decimal digits (`0012` is
octal 10 in YAML 1.1, `0x1F`, `1_000`) is a `WrittenInt` that keeps the text,
so a reader of ids can say what happened instead of showing a number absent
from the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from solver.domain.errors import InputError

# Records are at most a few levels deep (a policy's `pricing.horizon_leads`, a rep's skills).
MAX_DEPTH = 64
_LONG_INTEGER = re.compile(r"""(?:["']?([\w.]+)["']?\s*:\s*)?[-+]?\d{1000,}""")


class Mapping(dict[Any, Any]):
    """A parsed mapping that remembers the keys it was given more than once."""

    twice: tuple[str, ...] = ()


class WrittenInt(int):
    """A YAML integer written otherwise than as its decimal digits; `written` is the file's text."""

    written: str = ""


class _Yaml12BoolLoader(yaml.SafeLoader):
    """YAML loader where only true/false are booleans (YAML 1.2), so `industry: off` stays "off"."""


_Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_map(loader: _Yaml12BoolLoader, node: yaml.MappingNode) -> Iterator[Mapping]:
    data = Mapping()
    yield data  # first, as SafeLoader does, so that anchors may refer to the mapping
    # Counted before merge keys (`<<`) are flattened in: a key overriding a merged one is YAML.
    names = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value != "<<"]
    data.update(loader.construct_mapping(node))
    data.twice = tuple(sorted({str(n) for n in names if names.count(n) > 1}))


_Yaml12BoolLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _construct_int(loader: _Yaml12BoolLoader, node: yaml.ScalarNode) -> int:
    value: int = loader.construct_yaml_int(node)
    if node.value == str(value):
        return value
    written = WrittenInt(value)
    written.written = node.value
    return written


_Yaml12BoolLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _construct_timestamp(loader: _Yaml12BoolLoader, node: yaml.ScalarNode) -> object:
    """A date or time, or, when it looks like one but is none (month 13), its text: the model's
    validation then names the field, where YAML's own error named no line and no key."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return node.value


_Yaml12BoolLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def json_mapping(pairs: list[tuple[str, Any]]) -> Mapping:
    """`json.loads`' object hook: a mapping that notes the keys given twice (`repeated_key`)."""
    data = Mapping(pairs)
    if len(data) < len(pairs):
        names = [k for k, _ in pairs]
        data.twice = tuple(sorted({n for n in names if names.count(n) > 1}))
    return data


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12BoolLoader)  # a SafeLoader subclass: no arbitrary objects


def parse_text(text: str, *, json_syntax: bool, file: str) -> Any:
    """A JSON or YAML document's data; any problem reading it is an InputError naming the line."""
    deep = _too_deep_line(text)
    if deep is not None:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels: records are a few levels deep",
                         file=file, line=deep)
    try:
        if json_syntax:
            return json.loads(text, object_pairs_hook=json_mapping)
        return parse_yaml(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", file=file,
                         line=exc.lineno) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, a position
        raise InputError(f"malformed YAML: character U+{exc.character:04X} is not allowed"
                         if isinstance(exc.character, int) else f"malformed YAML: {exc.reason}",
                         file=file, line=text.count("\n", 0, exc.position) + 1) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"malformed YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                         line=mark.line + 1 if mark is not None else None) from None
    except RecursionError:  # block-style YAML nests by indentation, which the scan does not count
        raise InputError("nested too deep to read: records are a few levels deep", file=file) from None
    except ValueError as exc:  # Python's int-string limit, or a YAML date that is no date
        long = _LONG_INTEGER.search(text)
        if long is None:
            raise InputError(f"unreadable value: {exc}", file=file) from None
        digits = sum(c.isdigit() for c in long.group(0))
        raise InputError(f"a number of {digits:,} digits: no field takes more than 13",
                         file=file, line=text.count("\n", 0, long.end()) + 1,
                         field=long.group(1)) from None


def parse_document(path: Path, text: str) -> Any:
    """`text`, read from `path`, as JSON (.json) or YAML (anything else)."""
    return parse_text(text, json_syntax=path.suffix.lower() == ".json", file=str(path))


def repeated_key(data: Any) -> str | None:
    """The dotted path of the first key given twice in any mapping of `data`; None if there is none.

    List items add no step to the path: the caller names the record (row) itself.
    """
    path = repeated_key_path(data)
    return None if path is None else ".".join(str(p) for p in path if not isinstance(p, int))


def repeated_key_path(data: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path (keys and list items' indices) of the first key given twice in any mapping of
    `data`, for `key_line`; None if there is none."""
    if isinstance(data, Mapping) and data.twice:
        return (*path, data.twice[0])
    items: Any = data.items() if isinstance(data, dict) else (
        enumerate(data) if isinstance(data, list) else ())
    for key, value in items:
        found = repeated_key_path(value, (*path, key if isinstance(key, int) and isinstance(data, list)
                                          else str(key)))
        if found is not None:
            return found
    return None


def key_line(text: str, loc: Sequence[str | int | tuple[str, ...]]) -> int | None:
    """The 1-based line of the key at `loc` (or of its nearest parent found) in a YAML/JSON mapping;
    an int in `loc` is a list item's index (`("routing_rules", 3, "mode")`), a tuple a key's
    spellings (`("team", "teams")`). Parses the text again: for an error's line only."""
    return key_place(text, loc)[0]


def key_place(text: str, loc: Sequence[str | int | tuple[str, ...]]
              ) -> tuple[int | None, tuple[str | int | tuple[str, ...], ...]]:
    """`key_line`'s line, and `loc` with each key's spellings (a tuple) as the file writes it
    (`reps` for `("rep", "reps")`), as far as the keys are found; the tuples past that stay."""
    try:
        node = _compose(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None, tuple(loc)
    line = None
    written: list[str | int | tuple[str, ...]] = []
    for step in loc:
        if isinstance(step, int) and isinstance(node, yaml.SequenceNode):
            if not 0 <= step < len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line + 1
            written.append(step)
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        # the last one: for a key given twice, the repeat is what to point at
        names = step if isinstance(step, tuple) else (step,)
        matches = [(k, v) for k, v in node.value if getattr(k, "value", None) in names]
        if not matches:
            break
        key, node = matches[-1]
        line = key.start_mark.line + 1
        written.append(key.value)
    return line, (*written, *loc[len(written):])


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree of `text`, for the lines of its keys. JSON indented with tabs is no YAML
    (YAML forbids tabs in indentation): JSON has a tab only as white space (in a string it is
    written \\t), so there each tab becomes a space, on the same line."""
    try:
        return yaml.compose(text, Loader=_Yaml12BoolLoader)
    except yaml.YAMLError:
        if "\t" not in text:
            raise
        return yaml.compose(text.replace("\t", " "), Loader=_Yaml12BoolLoader)


def _too_deep_line(text: str) -> int | None:
    """The line where brackets nest past MAX_DEPTH (strings skipped), or None: before parsing."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    quote = ""
    escaped = False
    for position, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, position) + 1
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None
