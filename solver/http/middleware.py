"""ASGI middleware guarding the service: bearer-token auth and a request body size limit."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000  # a 1,000-lead batch of ordinary leads is ~300 kB
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})  # probes carry no token


async def _send_json(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class BearerAuthMiddleware:
    """401 unless `Authorization: Bearer <token>` matches; health probes are open, and so are the
    paths under `open_prefixes` (the console at /ui, which checks its own session cookie).

    Runs before routing and body parsing, so an unauthenticated request learns
    nothing about the API (not even whether its body would validate).
    """

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = HEALTH_PATHS,
                 open_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.token = token.encode()
        self.open_paths = open_paths
        self.open_prefixes = open_prefixes

    def _open(self, path: str) -> bool:
        return path in self.open_paths or any(path == prefix or path.startswith(prefix + "/")
                                              for prefix in self.open_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope["path"]) or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        await _send_json(send, 401, "missing or invalid bearer token",
                         [(b"www-authenticate", b'Bearer realm="leadsolver"')])

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, supplied = value.partition(b" ")
                # Constant-time: the comparison does not reveal how much of the token matched.
                return scheme.lower() == b"bearer" and hmac.compare_digest(supplied.strip(), self.token)
        return False


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once when Content-Length says so, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await _send_json(send, 400, "invalid Content-Length")
                return
            if int(declared) > self.max_bytes:
                await _send_json(send, 413, f"request body over {self.max_bytes} bytes")
                return
        received = 0

        async def limited_receive() -> Message:
            # Chunked bodies carry no length: count as they arrive. An HTTPException
            # raised here passes through FastAPI's body parsing and becomes the 413.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)
