"""The console at /ui (issue 17): sign-in, session cookie, CSRF, pages and rep actions over HTTP.

The browser tests (tests/browser) drive the same pages in Chromium; these run
everywhere and check what a browser cannot see: cookie flags, refusals,
what the ledger recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from solver.domain.model import Batch, Policy, Rep
from solver.http.app import create_app
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "console-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Two reps for the same territory: pausing one sends the next lead to the other.
TEAM = [Rep(id="ana", name="Ana", territories=("EU",), capacity=5),
        Rep(id="ben", name="Ben", territories=("EU",), capacity=5, quota_weight=2.0)]
POLICY = Policy(batch=Batch(max_size=1, max_wait_s=3600))


@contextmanager
def console(db: Path, token: str | None = TOKEN, **options: Any) -> Iterator[TestClient]:
    ledger = SqliteStore(db, check_same_thread=False)
    try:
        app = create_app(Router(TEAM, POLICY, ledger), token, tick_interval_s=0.01, **options)
        # https: the session cookie is Secure, so a client sends it back over TLS only.
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            yield client
    finally:
        ledger.close()


def sign_in_form(client: TestClient, user: str, token: str = TOKEN) -> Any:
    """Post the sign-in form as a browser does: first the page (its pre-session cookie and token)."""
    csrf = csrf_of(client.get("/ui/login").text)
    return client.post("/ui/login", data={"user": user, "token": token, "csrf": csrf}, follow_redirects=False)


def sign_in(client: TestClient, user: str = "Olga Ops") -> None:
    answer = sign_in_form(client, user)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui"


def csrf_of(html: str) -> str:
    return re.search(r"name='csrf' value='([^']+)'", html).group(1)


def urgent(client: TestClient, lead_id: str) -> dict[str, Any]:
    answer = client.post("/v1/leads", json={"id": lead_id, "value": 100.0, "territory": "EU",
                                            "urgent": True}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_pages_need_a_session_and_the_api_still_needs_its_token(tmp_path):
    with console(tmp_path / "l.db") as client:
        page = client.get("/ui", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/ui/login"
        assert client.get("/ui/reps", follow_redirects=False).headers["location"] == "/ui/login"
        assert client.get("/v1/reps/loads").status_code == 401  # /ui opens no API path
        assert client.get("/uix").status_code == 401  # only /ui and below are the console's
        login = client.get("/ui/login")
        assert login.status_code == 200 and "<label for='token'>" in login.text
        assert "default-src 'none'" in login.headers["content-security-policy"]


def test_sign_in_sets_a_secure_http_only_strict_cookie(tmp_path):
    with console(tmp_path / "l.db") as client:
        wrong = sign_in_form(client, "x", "nope")
        assert wrong.headers["location"].startswith("/ui/login?err=")
        assert "set-cookie" not in wrong.headers
        answer = sign_in_form(client, "Olga")
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("leadsolver_session="))
        cookie = cookie.lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "path=/ui" in cookie
        page = client.get("/ui")
        assert page.status_code == 200 and "Signed in as Olga" in page.text
        client.cookies.clear()
        assert client.get("/ui", follow_redirects=False).status_code == 303  # no cookie: sign in again


def test_a_signed_out_cookie_no_longer_opens_the_console(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        kept = client.cookies.get("leadsolver_session")
        csrf = csrf_of(client.get("/ui/reps").text)
        assert client.post("/ui/logout", data={"csrf": csrf}).status_code == 200
        client.cookies.set("leadsolver_session", kept, path="/ui")  # a copy kept from before
        assert client.get("/ui", follow_redirects=False).status_code == 303
        sign_in(client)  # a new sign-in opens a new session
        assert client.get("/ui").status_code == 200


def test_signed_out_sessions_stay_within_their_bound(monkeypatch):
    from solver.http import ui_auth

    monkeypatch.setattr(ui_auth, "ENDED_SESSIONS", 3)
    sessions = ui_auth.Sessions(TOKEN)
    cookies = [sessions.new_cookie(f"u{k}", now=1000.0 + k) for k in range(5)]
    for cookie in cookies:
        sessions.end(sessions.read(cookie, now=1000.0), now=1000.0)
    assert len(sessions._ended) == 3
    # the two that would expire first were forgotten (still signed: they open again); the rest stay out
    assert [sessions.read(c, now=1000.0) is None for c in cookies] == [False, False, True, True, True]
    later = 1000.0 + ui_auth.SESSION_SECONDS + 10
    sessions.end(sessions.read(sessions.new_cookie("v", now=later), now=later), now=later)
    assert len(sessions._ended) == 1  # the expired ones went


def test_the_sign_in_form_needs_the_token_its_own_page_gave_this_browser(tmp_path):
    with console(tmp_path / "l.db") as client:
        page = client.get("/ui/login")
        pre = page.headers["set-cookie"].lower()
        assert pre.startswith("leadsolver_login=") and "httponly" in pre and "samesite=strict" in pre
        assert "secure" in pre and "path=/ui/login" in pre
        csrf = csrf_of(page.text)
        assert csrf_of(client.get("/ui/login").text) == csrf  # a second tab gets the same token
        signed = {"user": "Mallory", "token": TOKEN}
        # A form posted from another site: no token, or a token without this browser's cookie.
        assert client.post("/ui/login", data=signed, follow_redirects=False).status_code == 403
        nonce = client.cookies.get("leadsolver_login")
        client.cookies.clear()
        assert client.post("/ui/login", data={**signed, "csrf": csrf}, follow_redirects=False).status_code == 403
        client.cookies.set("leadsolver_login", nonce, path="/ui/login")
        assert client.post("/ui/login", data={**signed, "csrf": csrf + "x"},
                           follow_redirects=False).status_code == 403
        assert "leadsolver_session" not in client.cookies
        assert client.post("/ui/login", data={**signed, "csrf": csrf}, follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_limited_per_address_then_wait(tmp_path):
    with console(tmp_path / "l.db") as client:
        for _ in range(5):
            assert sign_in_form(client, "x", "guess").status_code == 303  # back to the form, with an error
        limited = sign_in_form(client, "Olga", TOKEN)  # even the right token waits: no faster guessing
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert "Too many failed sign-ins" in limited.text and "leadsolver_session" not in client.cookies


def test_a_sign_in_without_a_name_asks_for_it_and_is_no_failed_guess(tmp_path):
    # it said the (right) token was not the service's, and counted toward the lockout
    with console(tmp_path / "l.db") as client:
        for _ in range(6):
            answer = sign_in_form(client, "  ", TOKEN)
            assert answer.status_code == 303 and "leadsolver_session" not in client.cookies
        page = client.get(answer.headers["location"])
        assert "Your name, please" in page.text and "not the service's" not in page.text
        assert sign_in_form(client, "Olga", TOKEN).status_code == 303  # no 429: nothing was guessed
        assert "Signed in as Olga" in client.get("/ui").text


def test_failed_sign_ins_forget_the_window_succeeding_and_stay_within_their_bound():
    from solver.http.ui_auth import FailedSignIns

    failures = FailedSignIns(limit=3, window_s=60, addresses=100)
    for t in (0.0, 1.0, 2.0):
        assert failures.wait_s("a", now=t) == 0
        failures.failed("a", now=t)
    assert failures.wait_s("a", now=2.5) == 58  # the first failure leaves the window at 60.0
    assert failures.wait_s("a", now=60.5) == 0
    failures.failed("a", now=60.5)
    assert failures.wait_s("a", now=60.9) == 1  # the one at 1.0 still counts until 61.0
    failures.succeeded("a")
    assert failures.wait_s("a", now=60.9) == 0
    for k in range(1000):  # a flood of addresses keeps at most 100 in memory
        failures.failed(f"10.0.{k // 256}.{k % 256}", now=70.0)
    assert len(failures) == 100


@pytest.mark.parametrize("path, data", [
    ("/ui/logout", {}), ("/ui/reps/ana/change", {"available": "false"}), ("/ui/reps/ana/change", {"capacity": "1"}),
    ("/ui/leads/L1/release", {}), ("/ui/leads/L1/reroute", {})])
def test_every_action_needs_the_form_token_of_this_session(tmp_path, path, data):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        owner = urgent(client, "L1")["rep_id"]
        other_session = csrf_of(client.get("/ui/reps").text)
        client.cookies.clear()
        sign_in(client, "Someone Else")  # a new session: the old page's token is no longer good
        for token in (None, "", other_session, other_session[:-1]):
            form = data if token is None else {**data, "csrf": token}
            answer = client.post(path, data=form, follow_redirects=False)
            assert answer.status_code == 403, (token, answer.status_code)
        service = client.app.state.service
        assert service.router.store.rep_changes() == []
        assert service.router.store.open_lead("L1").rep_id == owner  # neither released nor moved
        assert client.get("/ui", follow_redirects=False).status_code == 200  # still signed in


HOSTILE = "<script>alert(1)</script>"


def test_every_page_escapes_what_people_and_systems_typed(tmp_path):
    """Rep ids and names, lead ids, territories and industries (shown in rule trails), the user's
    name and a flash message: text on every page, never markup."""
    from urllib.parse import quote

    from solver.http.app import create_app

    team = [Rep(id="r<i>'\"x", name=f"Eve {HOSTILE}", territories=("<EU>",), capacity=5,
                industries=("<svg onload=alert(1)>",)),
            Rep(id="ben", name="Ben <b>", territories=("<EU>",), capacity=5)]
    lead_id = "L<img src=x onerror=alert(1)>&'\"/?#"
    ledger = SqliteStore(tmp_path / "l.db", check_same_thread=False)
    try:
        app = create_app(Router(team, POLICY, ledger), TOKEN, tick_interval_s=0.01)
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            answer = client.post("/v1/leads", json={"id": lead_id, "value": 10.0, "territory": "<EU>",
                                                    "industry": "<svg onload=alert(1)>", "urgent": True},
                                 headers=AUTH)
            assert answer.status_code == 200, answer.text
            sign_in(client, f"Olga {HOSTILE}")
            reps = client.get("/ui/reps").text
            paused = client.post(f"/ui/reps/{quote(team[0].id, safe='')}/change",
                                 data={"available": "false", "csrf": csrf_of(reps)})
            assert paused.status_code == 200 and "paused" in paused.text
            pages = [paused.text, *(client.get(path).text for path in (
                "/ui", "/ui/reps", "/ui/fairness", "/ui/fairness?bucket=day", f"/ui/leads/{quote(lead_id, safe='')}",
                f"/ui/leads/{quote('<b>nope</b>', safe='')}"))]
    finally:
        ledger.close()
    for text in pages:
        for raw in (HOSTILE, "<img src=x", "<svg onload", "<b>", "<i>", "<EU>"):
            assert raw not in text
    assert "Olga &lt;script&gt;" in pages[0] and "r&lt;i&gt;&#x27;&quot;x" in pages[0]
    lead = pages[-2]
    assert "L&lt;img src=x onerror=alert(1)&gt;&amp;" in lead and "&lt;svg onload=alert(1)&gt;" in lead
    assert "&lt;b&gt;nope&lt;/b&gt;" in pages[-1]


def test_a_tampered_cookie_is_refused(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        value = client.cookies.get("leadsolver_session")
        name, expires, nonce, mac = value.split(".")
        client.cookies.clear()
        client.cookies.set("leadsolver_session", f"{name}.{int(expires) + 999999}.{nonce}.{mac}")
        assert client.get("/ui", follow_redirects=False).status_code == 303


def test_pausing_a_rep_is_recorded_with_who_and_sends_the_next_lead_elsewhere(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        first = urgent(client, "L1")["rep_id"]
        page = client.get("/ui/reps").text
        refused = client.post(f"/ui/reps/{first}/change", data={"available": "false"})
        assert refused.status_code == 403  # no CSRF token: nothing done
        done = client.post(f"/ui/reps/{first}/change", data={"available": "false", "csrf": csrf_of(page)})
        assert done.status_code == 200 and f"{first}: paused (recorded as Olga Ops)" in done.text
        other = {"ana": "ben", "ben": "ana"}[first]
        assert [urgent(client, f"L{k}")["rep_id"] for k in (2, 3)] == [other, other]
        assert "paused" in client.get("/ui/reps").text
        changes = client.app.state.service.router.store.rep_changes()
        assert [(c["rep_id"], c["by"], c["change"]) for c in changes] == [
            (first, "Olga Ops", {"available": False})]


def test_a_pause_on_one_replica_reaches_the_other_through_the_ledger(tmp_path, monkeypatch):
    import time

    from solver.http import service as service_module

    monkeypatch.setattr(service_module, "REP_CHANGES_INTERVAL_S", 0.02)
    db = tmp_path / "shared.db"
    with console(db) as a, console(db) as b:
        sign_in(a)
        first = urgent(a, "L1")["rep_id"]
        other = {"ana": "ben", "ben": "ana"}[first]
        csrf = csrf_of(a.get("/ui/reps").text)
        assert "paused" in a.post(f"/ui/reps/{first}/change", data={"available": "false", "csrf": csrf}).text
        own = a.app.state.service
        team_after_change = own.router.team
        replica = b.app.state.service.router
        deadline = time.monotonic() + 10
        while next(r for r in replica.reps if r.id == first).available:
            assert time.monotonic() < deadline, "the other replica never applied the pause"
            time.sleep(0.02)
        assert [urgent(b, f"L{k}")["rep_id"] for k in (2, 3)] == [other, other]
        # the replica that made the change applied it at once, and not again when it read the ledger
        while own._rep_changes_seq < 1:
            assert time.monotonic() < deadline, "the replica never read the ledger's changes"
            time.sleep(0.02)
        assert own._applied_here == set() and own.router.team is team_after_change


def test_rep_changes_survive_a_restart(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        csrf = csrf_of(client.get("/ui/reps").text)
        client.post("/ui/reps/ana/change", data={"available": "false", "csrf": csrf})
        client.post("/ui/reps/ben/change", data={"capacity": "7", "cap_per_day": "3", "csrf": csrf})
    with console(tmp_path / "l.db") as client:
        reps = {r.id: r for r in client.app.state.service.router.reps}
        assert not reps["ana"].available and reps["ben"].capacity == 7
        assert client.app.state.service.router.policy.caps.for_rep("ben").per_day == 3
        assert urgent(client, "L9")["rep_id"] == "ben"


def test_bad_rep_changes_change_nothing_and_say_why(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        csrf = csrf_of(client.get("/ui/reps").text)
        bad = client.post("/ui/reps/ana/change", data={"capacity": "-3", "csrf": csrf})
        assert "Nothing changed: capacity is a whole number" in bad.text
        unknown = client.post("/ui/reps/zed/change", data={"available": "false", "csrf": csrf})
        assert "Nothing changed: no rep" in unknown.text
        assert client.app.state.service.router.store.rep_changes() == []


def test_the_lead_page_of_a_lead_no_rep_may_take_says_why_no_rep(tmp_path):
    # it said "Why this rep ... among 0 eligible reps; none had room" for a territory no rep covers
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        answer = client.post("/v1/leads", json={"id": "B-3", "value": 20.0, "territory": "MARS",
                                                "urgent": True}, headers=AUTH)
        assert answer.status_code == 200 and answer.json()["rep_id"] is None
        page = client.get("/ui/leads/B-3").text
        assert "Why no rep" in page and "no rep's rules admit it" in page
        assert "Why this rep" not in page and "had room" not in page


def test_the_lead_page_explains_the_choice_and_can_reroute(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        owner = urgent(client, "L1")["rep_id"]
        page = client.get("/ui/leads/L1")
        assert page.status_code == 200
        assert "Why this rep" in page.text and "Why not the other reps" in page.text
        assert "History" in page.text and "accepted" in page.text
        csrf = csrf_of(page.text)
        moved = client.post("/ui/leads/L1/reroute", data={"csrf": csrf})
        other = {"ana": "ben", "ben": "ana"}[owner]
        assert f"Re-routed to {other} (recorded as Olga Ops)." in moved.text
        assert "re-routed by Olga Ops from " + owner in moved.text  # the ledger's reason names the person
        assert "not touched within" not in moved.text  # it was not an SLA breach
        assert "Decided at once" in page.text and "Decided at once" not in moved.text  # it was moved
        assert "Moved off its first rep" in moved.text
        released = client.post("/ui/leads/L1/release", data={"csrf": csrf})
        assert "Released" in released.text and "released by Olga Ops" in released.text
        again = client.post("/ui/leads/L1/release", data={"csrf": csrf})
        assert "Not released: the lead is not open" in again.text and "Released:" not in again.text
        assert client.get("/ui/leads/nope").status_code == 404
        found = client.get("/ui/leads", params={"id": "L1"}, follow_redirects=False)
        assert found.headers["location"] == "/ui/leads/L1"


def test_rerouting_one_lead_moves_that_lead_only(tmp_path):
    """A person's re-route is not an SLA pass: another lead already past its SLA stays put."""
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        first = {k: urgent(client, k)["rep_id"] for k in ("A1", "A2")}
        store = client.app.state.service.router.store
        store.extend_sla("A2", datetime(1970, 1, 1, tzinfo=UTC))  # overdue, but nobody asked to move it
        csrf = csrf_of(client.get("/ui/leads/A1").text)
        assert "Re-routed to" in client.post("/ui/leads/A1/reroute", data={"csrf": csrf}).text
        assert store.open_lead("A1").rep_id != first["A1"]
        assert store.open_lead("A2").rep_id == first["A2"]
        assert store.decision("A1").reason_code == "rerouted"


def test_now_and_fairness_pages_show_the_queue_and_who_is_behind(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        for k in range(4):
            urgent(client, f"L{k}")
        now = client.get("/ui").text
        assert "open leads" in now and "SLA clocks" in now
        fair = client.get("/ui/fairness").text
        assert "Behind their quota share this week" in fair
        assert "<svg" in fair and "Time to first touch" in fair and ">week starting (UTC)<" in fair
        # The wide tables scroll in a region of their own (named, reachable by Tab), not the page.
        assert "<div class='scroll' role='region' tabindex='0' aria-label='Pipeline against quota share" in fair
        assert "Each rep's pipeline against its quota share, week by week" in fair and "Weeks behind" in fair
        day = client.get("/ui/fairness", params={"bucket": "day", "periods": "3"})
        assert day.status_code == 200 and "Behind their quota share this day" in day.text


def test_open_over_capacity_counts_the_reps_own_open_leads_as_the_router_does(tmp_path):
    """A rep at capacity 2 with one open lead of its own (the reps file's open_leads) is full after
    one more: the console's 'Open / capacity' says 2 / 2, as /v1/reps/loads and the router do."""
    team = [Rep(id="RA", territories=("A",), capacity=2, open_leads=1, untouched=3)]
    ledger = SqliteStore(tmp_path / "l.db", check_same_thread=False)
    try:
        app = create_app(Router(team, POLICY, ledger), TOKEN, tick_interval_s=0.01)
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            sign_in(client)
            reps = [client.post("/v1/leads", json={"id": f"U{k}", "value": 10.0, "territory": "A",
                                                   "urgent": True}, headers=AUTH).json()["rep_id"]
                    for k in (1, 2)]
            assert reps == ["RA", None]  # the second finds RA at capacity
            assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"] == {"RA": 2}
            pages = [client.get(path).text for path in ("/ui", "/ui/reps")]
    finally:
        ledger.close()
    for text in pages:
        assert re.search(r">2 / 2<", text) and not re.search(r">1 / 2<", text)
    # and 'Untouched' counts the reps file's untouched leads (3) with the one it took: 4, not 1
    assert re.search(r">2 / 2</td>\s*<td[^>]*>4<", pages[1]), pages[1][pages[1].find("2 / 2") - 50:][:200]


def test_reports_are_listed_and_served_from_the_folder_only(tmp_path):
    sim = tmp_path / "reports" / "crm"
    sim.mkdir(parents=True)
    (sim / "report.html").write_text("<!DOCTYPE html><title>r</title><h1>Simulation: crm</h1>")
    (sim / "result.json").write_text("{}")
    (tmp_path / "secret.html").write_text("secret")
    with console(tmp_path / "l.db", reports_dir=tmp_path / "reports") as client:
        sign_in(client)
        listing = client.get("/ui/reports").text
        assert "/ui/reports/crm/report.html" in listing and "simulation" in listing
        assert "Simulation: crm" in client.get("/ui/reports/crm/report.html").text
        assert client.get("/ui/reports/../secret.html").status_code == 404
        assert client.get("/ui/reports/%2E%2E/secret.html").status_code == 404


def test_experiments_page_says_when_there_is_none(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        assert "No experiment" in client.get("/ui/experiments").text


def test_without_a_token_the_local_operator_needs_no_sign_in(tmp_path):
    with console(tmp_path / "l.db", token=None) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and "Signed in" not in page.text
        csrf = csrf_of(client.get("/ui/reps").text)
        client.post("/ui/reps/ana/change", data={"available": "false", "csrf": csrf})
        assert client.app.state.service.router.store.rep_changes()[0]["by"] == "local operator"


def test_a_batched_lead_shows_why_not_each_alternative(tmp_path):
    import time

    with console(tmp_path / "l.db") as client:
        sign_in(client)
        assert client.post("/v1/leads", json={"id": "N1", "value": 50.0, "territory": "EU"},
                           headers=AUTH).status_code == 202
        deadline = time.monotonic() + 10
        while (detail := client.get("/v1/leads/N1", headers=AUTH).json())["status"] == "pending":
            assert time.monotonic() < deadline, "the batch timer did not decide the lead"
            time.sleep(0.02)
        owner = detail["rep_id"]
        page = client.get("/ui/leads/N1").text
        other = {"ana": "ben", "ben": "ana"}[owner]
        assert "Best alternatives" in page and f"<td>{other}</td>" in page
        assert f"Rule trail for {owner}" in page


def test_an_urgent_lead_shows_why_not_the_runner_up(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        owner = urgent(client, "U1")["rep_id"]
        page = client.get("/ui/leads/U1").text
        other = {"ana": "ben", "ben": "ana"}[owner]
        assert "Best alternatives" in page and f"<td>{other}</td>" in page
        assert "lower score" in page
        assert "<td>urgent fast path</td>" in page and "fast_path" not in page  # the policy in words


def test_past_periods_are_read_again_after_a_minute_or_a_team_change():
    from datetime import UTC, datetime, timedelta

    from solver.decode.result import Assignment
    from solver.domain.model import Lead
    from solver.http.ui_views import PastPeriods
    from solver.online.memory_store import MemoryStore

    store = MemoryStore()
    router = Router(TEAM, POLICY, store)
    now = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # a Wednesday
    last_week = [datetime(2026, 3, 2, tzinfo=UTC)]

    def add(lead_id: str) -> None:
        store.accept(Lead(id=lead_id, value=10.0), last_week[0])
        store.decide([Assignment(lead_id, "ana", "assigned", "r", 1.0, "flow")], last_week[0] + timedelta(hours=1))

    past = PastPeriods()
    add("P1")
    assert past.get(router, "week", last_week, now)[0][0].leads == 1
    add("P2")  # a late write into a past week
    summaries, as_of = past.get(router, "week", last_week, now + timedelta(seconds=30))
    assert summaries[0].leads == 1 and as_of == now  # kept for a minute
    assert past.get(router, "week", last_week, now + timedelta(seconds=61))[0][0].leads == 2
    add("P3")
    router.update_reps(TEAM)  # a rep change: a new team, read afresh
    assert past.get(router, "week", last_week, now + timedelta(seconds=62))[0][0].leads == 3


def test_the_experiments_page_shows_the_arms_and_the_lift_so_far(tmp_path):
    team = [Rep(id=f"R{j}", territories=("*",), capacity=100) for j in range(4)]
    policy = Policy(batch={"max_size": 5, "max_wait_s": 0},
                    experiment={"name": "rr-vs-flow", "challenger": {"solver": "round_robin"}, "unit": "lead"})
    ledger = SqliteStore(tmp_path / "l.db", check_same_thread=False)
    try:
        app = create_app(Router(team, policy, ledger), TOKEN, tick_interval_s=0.01)
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            for k in range(12):
                client.post("/v1/leads", json={"id": f"X{k}", "value": 100.0 + k, "urgent": True}, headers=AUTH)
            sign_in(client)
            page = client.get("/ui/experiments").text
    finally:
        ledger.close()
    assert "No experiment" not in page
    assert "Arms" in page and "Lift so far" in page and "control" in page and "challenger" in page
    assert "<td>revenue per resolved lead</td>" in page and "revenue_per_lead" not in page  # words, not keys


@pytest.mark.parametrize("hour_utc, words", [
    (6, "no, from 09:00"),  # 07:00 in Paris, before the shift
    (10, "yes, until 17:30"),
    (17, "no, from Mon 09:00"),  # 18:00 on a Friday: back on Monday
])
def test_shift_words_say_until_when_or_from_when_in_the_reps_time(hour_utc, words):
    from datetime import UTC, datetime

    from solver.http.ui_views import shift_words

    rep = Rep(id="p", capacity=1, timezone="Europe/Paris", working_hours="09:00-17:30")
    assert shift_words(rep, datetime(2026, 12, 4, hour_utc, tzinfo=UTC)) == words
    assert shift_words(rep.model_copy(update={"available": False}), datetime(2026, 12, 4, 10, tzinfo=UTC)) == "no"


def test_a_crafted_link_cannot_put_words_on_a_page(tmp_path):
    with console(tmp_path / "l.db") as client:
        sign_in(client)
        crafted = client.get("/ui", params={"msg": "Your token expired: mail it to evil@example.com"}).text
        assert "evil@example.com" not in crafted
        forged = client.get("/ui", params={"err": "Call 555-0100", "sig": "AAAAAAAAAAAAAAAAAAAAAA"}).text
        assert "555-0100" not in forged
