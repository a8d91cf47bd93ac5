"""Reading request bodies as JSON: every body FastAPI cannot read is one clear 4xx, never a 400 or 500.

FastAPI parses a JSON body with `json.loads` and turns only `JSONDecodeError`
into a 422; anything else the parser raises becomes a bare 400 "There was an
error parsing the body". Attackers reach those other errors easily: deeply
nested arrays raise RecursionError, a 5,000-digit integer trips Python's
int-string limit (ValueError), and Python reads NaN and Infinity, which are no
JSON at all. `JSONRoute` parses the body itself, refuses each of these with a
422 saying which limit was hit, and refuses a body that is not JSON (a form
post, text) with 415 instead of a type error about the body's shape.

A key given twice in one object (`{"value": 10, "value": 20}`) is refused with a
422 at the key, as the JSON file reader refuses it (`solver.domain.documents`):
the parser would keep the last value without a word.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from solver.domain.documents import Mapping, json_mapping, repeated_key

# No field holds a number beyond float range (about 1.8e308, 309 digits): a longer
# integer can only be an attack, and Python refuses to convert 4,300 digits anyway.
MAX_INT_DIGITS = 309


def _refuse(message: str) -> HTTPException:
    # An HTTPException passes through FastAPI's body parsing untouched (other errors become a
    # 400); the detail has the shape of FastAPI's own 422, so clients read one format.
    return HTTPException(422, [{"loc": ["body"], "msg": message, "type": "json_invalid"}])


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _refuse(f"an integer of {digits} digits; numbers have at most {MAX_INT_DIGITS} digits")
    return int(text)


def _constant(name: str) -> float:
    raise _refuse(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


class _KeyTwice(Exception):
    """A key given twice somewhere in the body: parsed again (an error's path only) to say where."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A plain dict, as json.loads makes one; a key given twice leaves it shorter than the pairs.
    (Only then is the body parsed again with the file reader's hook, to say where.)"""
    data = dict(pairs)
    if len(data) < len(pairs):
        raise _KeyTwice
    return data


def _twice_at(data: Any) -> list[str | int]:
    """Where the first key given twice is (`repeated_key`'s path, with list items' indexes)."""
    if isinstance(data, Mapping) and data.twice:
        return [data.twice[0]]
    items: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if repeated_key(value) is not None:
            return [key, *_twice_at(value)]
    return []


def parse_json(body: bytes) -> Any:
    """The JSON document in `body`; HTTPException 422 for what FastAPI would answer 400 (or 500)."""
    try:
        return _parse(body, _object)
    except _KeyTwice:
        loc = _twice_at(_parse(body, json_mapping))
        raise HTTPException(422, [{"loc": ["body", *loc], "msg": f"key {loc[-1]!r} given twice: which value "
                                   "is meant? Send each key once", "type": "json_invalid"}]) from None


def _parse(body: bytes, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]]) -> Any:
    try:
        return json.loads(body, parse_int=_int, parse_constant=_constant, object_pairs_hook=hook)
    except RecursionError:
        raise _refuse("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise _refuse(f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    # JSONDecodeError propagates: FastAPI makes it its own 422 with the position.


def is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json"
                                                                or subtype.endswith("+json"))


class _JSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JSONRoute(APIRoute):
    """A route whose JSON body is read by `parse_json`; a body of another media type is a 415."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def read_json(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if content_type is not None and not is_json(content_type):
                raise HTTPException(415, f"send the body as JSON with Content-Type: application/json "
                                         f"(not {content_type[:100]!r})")
            return await handler(_JSONRequest(request.scope, request.receive))

        return read_json
