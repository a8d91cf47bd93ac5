"""The console's sessions: a signed cookie after a login with the service token, and CSRF tokens.

A person logs in with their name and the service's bearer token; the console
sets a cookie ``Secure; HttpOnly; SameSite=Strict`` holding the name, an expiry
and a random nonce, signed with an HMAC keyed by the token (so rotating the
token ends every session). Each form carries a CSRF token, the HMAC of the
session's nonce, checked on every POST besides SameSite=Strict. The login form
itself is guarded the same way before any session exists: the login page sets a
pre-session cookie holding a random nonce and puts the nonce's HMAC in the form,
so a page on another site cannot sign a browser in under the attacker's name.
Signing out ends the session in this process (its nonce is remembered until the cookie
would have expired; another replica, which signs with the same token, still takes it
until then). Failed sign-ins are counted per client address (`FailedSignIns`): after
FAILED_SIGN_INS in a minute the address waits. Without a token
(``serve --insecure-local``, loopback only) there is no login: every request is
the local operator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

COOKIE = "leadsolver_session"
LOGIN_COOKIE = "leadsolver_login"  # the pre-session nonce the login form's token is bound to
LOGIN_SECONDS = 3600  # how long a login page's form stays good
FAILED_SIGN_INS = 5  # per client address and FAILED_WINDOW_S; the next attempt waits
FAILED_WINDOW_S = 60.0
TRACKED_ADDRESSES = 10_000  # memory bound: the least recently failing addresses are forgotten first
SESSION_SECONDS = 8 * 3600  # a working day; then log in again
MAX_NAME_CHARS = 80
ENDED_SESSIONS = 10_000  # memory bound on signed-out sessions remembered; the soonest to expire go first


@dataclass(frozen=True)
class Session:
    """Who is logged in (the name kept with each rep change), until when, and the form token."""

    user: str
    expires: int  # Unix seconds
    nonce: str
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Signs and checks session cookies for one service token (None: no login, a local operator)."""

    def __init__(self, token: str | None) -> None:
        self.open = token is None
        # A key of its own per purpose, derived from the token: a cookie's MAC is no CSRF token.
        secret = (token or secrets.token_hex(32)).encode()
        self._cookie_key = hmac.new(secret, b"leadsolver console session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(secret, b"leadsolver console csrf", hashlib.sha256).digest()
        self._login_key = hmac.new(secret, b"leadsolver console login csrf", hashlib.sha256).digest()
        self._token = None if token is None else token.encode()
        self._local = self._session("local operator", 2**31 - 1, "local")
        self._ended: dict[str, int] = {}  # nonce -> expiry of the sessions signed out

    def end(self, session: Session, now: float | None = None) -> None:
        """Sign the session out: its cookie is refused from now on, though its signature holds."""
        if self.open:
            return
        clock = time.time() if now is None else now
        self._ended = {n: until for n, until in self._ended.items() if until >= clock}
        while len(self._ended) >= ENDED_SESSIONS:  # keep the ones that stay valid the longest
            del self._ended[min(self._ended, key=self._ended.__getitem__)]
        self._ended[session.nonce] = session.expires

    def token_matches(self, supplied: str) -> bool:
        """Constant-time check of a login's token."""
        return self._token is not None and hmac.compare_digest(supplied.strip().encode(), self._token)

    def new_cookie(self, user: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        body = f"{_b64(user.encode())}.{expires}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session of a valid, unexpired cookie; None otherwise (always the local one if open)."""
        if self.open:
            return self._local
        if not cookie or cookie.count(".") != 3:
            return None
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._sign(body)):
            return None
        name, expires, nonce = body.split(".")
        try:
            user, until = _unb64(name).decode(), int(expires)
        except (ValueError, UnicodeDecodeError):
            return None
        if until < (time.time() if now is None else now) or nonce in self._ended:
            return None
        return self._session(user, until, nonce)

    def csrf_ok(self, session: Session, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(supplied, session.csrf)

    @staticmethod
    def login_nonce() -> str:
        """A fresh pre-session nonce for the login cookie."""
        return secrets.token_urlsafe(16)

    def login_csrf(self, nonce: str) -> str:
        """The login form's token: the HMAC of the pre-session cookie's nonce."""
        return _b64(hmac.new(self._login_key, nonce.encode(), hashlib.sha256).digest())

    def login_csrf_ok(self, nonce: str | None, supplied: str | None) -> bool:
        """The login form came from this console's login page in this browser."""
        if not nonce or supplied is None:
            return False
        return hmac.compare_digest(supplied, self.login_csrf(nonce))

    def sign_note(self, text: str) -> str:
        """A signature for a message a redirect carries in its URL (a flash), so that a crafted link
        cannot make the console show words it did not write."""
        return _b64(hmac.new(self._cookie_key, b"note:" + text.encode(), hashlib.sha256).digest())[:22]

    def note_ok(self, text: str | None, signature: str | None) -> bool:
        if not text or signature is None:
            return False
        return hmac.compare_digest(signature, self.sign_note(text))

    def _session(self, user: str, expires: int, nonce: str) -> Session:
        csrf = _b64(hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).digest())
        return Session(user, expires, nonce, csrf)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._cookie_key, body.encode(), hashlib.sha256).digest())


class FailedSignIns:
    """Failed sign-ins per client address in a sliding window, in bounded memory.

    At most `limit` failures are kept per address (older ones cannot matter) and at
    most `addresses` addresses; when full, the address that failed least recently
    is forgotten, so a flood of addresses costs memory up to the bound, no more.
    """

    def __init__(self, limit: int = FAILED_SIGN_INS, window_s: float = FAILED_WINDOW_S,
                 addresses: int = TRACKED_ADDRESSES) -> None:
        self.limit, self.window_s, self.addresses = limit, window_s, addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_s(self, address: str, now: float | None = None) -> int:
        """Whole seconds `address` must wait before it may try again (0: it may)."""
        times = self._failures.get(address)
        if times is None or len(times) < self.limit:
            return 0
        left = times[0] + self.window_s - (time.monotonic() if now is None else now)
        return max(0, math.ceil(left))

    def failed(self, address: str, now: float | None = None) -> None:
        times = self._failures.pop(address, None) or deque(maxlen=self.limit)
        times.append(time.monotonic() if now is None else now)
        self._failures[address] = times  # most recent last
        while len(self._failures) > self.addresses:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def __len__(self) -> int:
        return len(self._failures)


def clean_name(name: str) -> str:
    """A login name as kept in the ledger: printable, trimmed, at most MAX_NAME_CHARS; '' if none."""
    text = "".join(c for c in name if c.isprintable()).strip()
    return text[:MAX_NAME_CHARS]
