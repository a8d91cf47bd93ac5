"""Connection limits and timeouts for `leadsolver serve`: idle or slow clients cannot starve the service.

uvicorn alone is open to two cheap attacks. Its `limit_concurrency` counts
idle connections, so a few hundred sockets that never send a byte turn every
request, /healthz included, into a 503; and it has no deadline for request
headers or bodies, so a client sending one byte every few seconds holds a
connection (and the request's task) forever. `guarded_protocol` returns
uvicorn's httptools protocol with:

- a connection cap: a connection beyond `max_connections` is answered 503 and
  closed at once, so the connections already open are served normally;
- a header deadline: a connection must deliver a request's complete headers
  within `header_timeout_s` of opening (or of the request's first byte, on a
  kept-alive connection), else 408 and closed. This is what frees the slots
  that idle sockets hold;
- a body deadline: the whole body within `body_timeout_s` of the headers.

Idle time between requests on a kept-alive connection is uvicorn's own
`timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("leadsolver.service")

_CLOSE = b"connection: close\r\ncontent-type: application/json\r\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\n" + _CLOSE + b"content-length: 34\r\n\r\n"
         b'{"detail": "too many connections"}')
_SLOW = (b"HTTP/1.1 408 Request Timeout\r\n" + _CLOSE + b"content-length: 37\r\n\r\n"
         b'{"detail": "request not sent in time"}')
_REFUSAL_LOG_INTERVAL_S = 10.0  # a flood of refusals is one log line per interval, not one per socket


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap and header and body deadlines."""

    max_connections = 512
    header_timeout_s = 10.0
    body_timeout_s = 60.0
    _last_refusal_log = -_REFUSAL_LOG_INTERVAL_S
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            now = time.monotonic()
            if now - GuardedProtocol._last_refusal_log >= _REFUSAL_LOG_INTERVAL_S:
                GuardedProtocol._last_refusal_log = now
                log.warning("refusing connections: %d open (--max-connections)", len(self.connections) - 1)
            transport.write(_BUSY)
            transport.close()
            return
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a request on a kept-alive connection: its headers' deadline
            self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(self.body_timeout_s)  # disarmed at once by on_message_complete when there is no body

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.debug("closing a connection from %s: request not sent in time", self.client)
        if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
            self.transport.write(_SLOW)
        # The request's task, if any, sees the client gone (http.disconnect) and records nothing.
        self.transport.close()


def guarded_protocol(max_connections: int, header_timeout_s: float, body_timeout_s: float
                     ) -> type[GuardedProtocol]:
    """`GuardedProtocol` with these limits, for `uvicorn.run(http=...)`."""
    return type("GuardedProtocol", (GuardedProtocol,), {
        "max_connections": max_connections, "header_timeout_s": header_timeout_s,
        "body_timeout_s": body_timeout_s})
