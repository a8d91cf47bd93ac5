"""The routing console at /ui: sales ops in a browser, served by `leadsolver serve` itself.

Same process and token as the API. A person signs in with a name and the
service token (`solver.http.ui_auth`); the cookie is ``Secure; HttpOnly;
SameSite=Strict`` and every form carries a CSRF token. Pages are server-rendered
HTML with inline SVG charts and one stylesheet served from here: no script, no
request leaves for another host (the Content-Security-Policy says so too).

Pages: now (queue, loads, SLA clocks), a lead (decision, rule trail, why not
the others, history, outcome; release or re-route), reps (pause, resume,
capacity, daily cap: each kept in the ledger with who and when), fairness and
speed by day or week, the experiment (when the ledger has one), and the
reports (simulation and benchmark HTML) found in the folder given to serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from solver.domain.errors import InputError
from solver.domain.ids import normalize_id
from solver.http.service import Service, follow
from solver.http.ui_auth import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_SECONDS,
    FailedSignIns,
    Session,
    Sessions,
    clean_name,
)
from solver.http.ui_html import CSS, csrf_field, esc, link, page, path_part, table
from solver.http.ui_views import (
    PastPeriods,
    describe_change,
    fairness_page,
    lead_page,
    now_page,
    reps_page,
)
from solver.online.ledger_stats import Bucket
from solver.online.rep_changes import check_change
from solver.online.router import Router
from solver.report.experiment import ARM_ROWS, arm_rows, lift_chart, summary_lines
from solver.report.experiment_report import NoExperiment, experiment_report

# Pages may use inline SVG and the reports' inline styles; nothing loads from another origin.
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "same-origin", "cache-control": "no-store"}
MAX_FORM_BYTES = 10_000
REPORT_DEPTH = 3  # folders below the reports folder searched for report.html


def utc_now() -> datetime:
    return datetime.now(UTC)


def ui_router(service: Service, token: str | None, reports_dir: Path | None = None,
              clock: Callable[[], datetime] = utc_now) -> APIRouter:
    """The console's routes (mounted by `solver.http.app.create_app`)."""
    sessions = Sessions(token)
    failures = FailedSignIns()
    gate = service.gate
    past_periods = PastPeriods()
    router = APIRouter(prefix="/ui", include_in_schema=False)

    def respond(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})

    def back(path: str, message: str = "", error: str = "") -> RedirectResponse:
        """303 to `path`, with a signed message (`msg`) or error (`err`) for the page to show."""
        key, text = ("msg", message) if message else ("err", error)
        query = f"?{key}={quote(text)}&sig={sessions.sign_note(text)}" if text else ""
        return RedirectResponse(path + query, status_code=303, headers=SECURITY_HEADERS)

    def note(request: Request, key: str) -> str | None:
        """The page's message or error if this console signed it (a crafted link shows nothing)."""
        text = request.query_params.get(key)
        return text if sessions.note_ok(text, request.query_params.get("sig")) else None

    def session_of(request: Request) -> Session | None:
        return sessions.read(request.cookies.get(COOKIE))

    async def form_of(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise InputError("form too large")
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def render(request: Request, session: Session, title: str, body: str, active: str,
               status: int = 200) -> HTMLResponse:
        return respond(page(title, body, active=active, user=None if sessions.open else session.user,
                            csrf=session.csrf, message=note(request, "msg"), error=note(request, "err")),
                       status)

    def signed_in(request: Request) -> Session | Response:
        """A page's session, or the redirect to the login page."""
        session = session_of(request)
        return back("/ui/login") if session is None else session

    async def gated_page(request: Request, title: str, active: str,
                         build: Callable[[Router, Session], str]) -> Response:
        """A page built from the router under its lock, for a signed-in session."""
        session = signed_in(request)
        if isinstance(session, Response):
            return session
        body = await gate.call(lambda r: build(r, session))
        return render(request, session, title, body, active)

    async def checked_form(request: Request) -> tuple[Session, dict[str, str]] | Response:
        """POST actions: a session and a matching CSRF token, else 403 (nothing done)."""
        session = session_of(request)
        if session is None:
            return back("/ui/login")
        form = await form_of(request)
        if not sessions.csrf_ok(session, form.get("csrf")):
            return respond(page("Refused", "<p>The form's security token did not match: reload the page "
                                "and try again.</p>"), 403)
        return session, form

    @router.get("/console.css")
    async def stylesheet() -> Response:
        return Response(CSS, media_type="text/css", headers={"cache-control": "max-age=3600",
                                                             "x-content-type-options": "nosniff"})

    @router.get("/login")
    async def login_page(request: Request) -> Response:
        if session_of(request) is not None:
            return back("/ui")
        error = note(request, "err")
        # One nonce per browser while it is good, so two open sign-in tabs both work.
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        nonce = nonce if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", nonce) else sessions.login_nonce()
        body = ("<form class='login' method='post' action='/ui/login'>"
                + (f"<p class='error' role='alert'>{esc(error)}</p>" if error else "")
                + csrf_field(sessions.login_csrf(nonce))
                + "<label for='user'>Your name (kept with every change you make)</label>"
                "<input type='text' id='user' name='user' required autocomplete='username'>"
                "<label for='token'>Service token</label>"
                "<input type='password' id='token' name='token' required autocomplete='current-password'>"
                "<button type='submit'>Sign in</button></form>")
        response = respond(page("Sign in", body, signed_out=True))
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_SECONDS, path="/ui/login",
                            secure=True, httponly=True, samesite="strict")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        wait = failures.wait_s(address)
        if wait:  # checked before the token, so that guessing goes no faster with a right guess
            return respond(page("Sign in", "<p class='error' role='alert'>Too many failed sign-ins from "
                                f"your address: try again in {wait} seconds.</p>", signed_out=True), 429,
                           {"retry-after": str(wait)})
        form = await form_of(request)
        if not sessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            return respond(page("Sign in", "<p class='error' role='alert'>This sign-in form did not come "
                                "from this console's sign-in page (or it is over an hour old): "
                                "<a href='/ui/login'>open the sign-in page</a> and try again.</p>",
                                signed_out=True), 403)
        user = clean_name(form.get("user", ""))
        if not user:  # said before the token is read: it tells a guesser nothing, and is no strike
            return back("/ui/login", error="Your name, please: the console signs what you change with it.")
        if not sessions.token_matches(form.get("token", "")):
            failures.failed(address)
            return back("/ui/login", error="That token is not the service's.")
        failures.succeeded(address)
        response = back("/ui")
        response.set_cookie(COOKIE, sessions.new_cookie(user), max_age=SESSION_SECONDS, path="/ui",
                            secure=True, httponly=True, samesite="strict")
        response.delete_cookie(LOGIN_COOKIE, path="/ui/login", secure=True, httponly=True, samesite="strict")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        checked = await checked_form(request)
        if isinstance(checked, Response):
            return checked
        sessions.end(checked[0])  # the cookie, copied or kept, no longer opens the console here
        response = back("/ui/login")
        response.delete_cookie(COOKIE, path="/ui", secure=True, httponly=True, samesite="strict")
        return response

    @router.get("")
    @router.get("/")
    async def now(request: Request) -> Response:
        return await gated_page(request, "Now", "now", lambda r, _: now_page(r, clock()))

    @router.get("/reps")
    async def reps(request: Request) -> Response:
        return await gated_page(request, "Reps", "reps", lambda r, s: reps_page(r, clock(), s.csrf))

    @router.post("/reps/{rep_id:path}/change")
    async def change_rep(request: Request, rep_id: str) -> Response:
        checked = await checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        try:
            change = check_change(_rep_change(form))
        except InputError as exc:
            return back("/ui/reps", error=f"Nothing changed: {exc.message}")
        def record(router: Router) -> int | None:
            # Marked applied while the gate is held, so the timer that follows the ledger's rep
            # changes cannot read this one between its record and its mark and apply it twice.
            seq = change_rep_now(router, rep_id, change, session.user, clock())
            if seq is not None:
                service.applied_here(seq)  # this team has it; other replicas read it from the ledger
            return seq

        if await gate.call_in_thread(record) is None:
            return back("/ui/reps", error=f"Nothing changed: no rep {rep_id!r}.")
        return back("/ui/reps", message=f"{rep_id}: {describe_change(change)} (recorded as {session.user}).")

    @router.get("/leads")
    async def find_lead(request: Request) -> Response:
        session = signed_in(request)
        if isinstance(session, Response):
            return session
        lead_id = request.query_params.get("id", "").strip()
        if lead_id:
            return RedirectResponse(f"/ui/leads/{path_part(lead_id)}", status_code=303)
        body = ("<form method='get' action='/ui/leads'><label for='id'>Lead id</label> "
                "<input type='text' id='id' name='id' required> <button type='submit'>Show</button></form>")
        return render(request, session, "Find a lead", body, "leads")

    @router.get("/leads/{lead_id:path}")
    async def show_lead(request: Request, lead_id: str) -> Response:
        session = signed_in(request)
        if isinstance(session, Response):
            return session
        try:
            lead_id = normalize_id(lead_id)
        except ValueError:
            return render(request, session, "No such lead", "<p>That is not a lead id.</p>", "leads", 404)
        body = await gate.call(lambda r: lead_page(r, lead_id, session.csrf))
        if body is None:
            return render(request, session, "No such lead",
                          f"<p>No lead {esc(lead_id)!s} was ever accepted.</p>", "leads", 404)
        return render(request, session, f"Lead {lead_id}", body, "leads")

    @router.post("/leads/{lead_id:path}/release")
    async def release_lead(request: Request, lead_id: str) -> Response:
        checked = await checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        released = await gate.call(lambda r: release_open(r, lead_id, session.user))
        target = f"/ui/leads/{path_part(lead_id)}"
        return (back(target, message="Released: the rep's capacity is free again.") if released
                else back(target, error="Not released: the lead is not open (released or closed already)."))

    @router.post("/leads/{lead_id:path}/reroute")
    async def reroute_lead(request: Request, lead_id: str) -> Response:
        checked = await checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        moved = await gate.call_in_thread(lambda r: reroute(r, lead_id, clock(), session.user))
        target = f"/ui/leads/{path_part(lead_id)}"
        return (back(target, message=f"Re-routed to {moved} (recorded as {session.user}).") if moved
                else back(target, error="Not re-routed: touched, closed, moved too often already, or no "
                                        "other rep can take it."))

    @router.get("/fairness")
    async def fairness(request: Request) -> Response:
        bucket: Bucket = "day" if request.query_params.get("bucket") == "day" else "week"
        try:
            periods = min(max(int(request.query_params.get("periods", "8" if bucket == "week" else "14")), 1),
                          366)
        except ValueError:
            periods = 8
        return await gated_page(request, "Fairness and speed", "fairness",
                                lambda r, _: fairness_page(r, clock(), bucket, periods, past_periods))

    @router.get("/experiments")
    async def experiments(request: Request) -> Response:
        return await gated_page(request, "Experiments", "experiments", lambda r, _: experiment_body(r))

    @router.get("/reports")
    async def reports(request: Request) -> Response:
        session = signed_in(request)
        if isinstance(session, Response):
            return session
        return render(request, session, "Reports", reports_body(reports_dir), "reports")

    @router.get("/reports/{name:path}")
    async def report_file(request: Request, name: str) -> Response:
        session = signed_in(request)
        if isinstance(session, Response):
            return session
        path = report_path(reports_dir, name)
        if path is None:
            return render(request, session, "No such report", "<p>No report by that name.</p>", "reports",
                          404)
        return FileResponse(path, media_type="text/html", headers=SECURITY_HEADERS)

    return router


def _rep_change(form: dict[str, str]) -> dict[str, Any]:
    """The change a rep form posts: available=true|false, capacity=N, cap_per_day=N or empty (lift)."""
    change: dict[str, Any] = {}
    if "available" in form:
        change["available"] = {"true": True, "false": False}.get(form["available"], form["available"])
    for key in ("capacity", "cap_per_day"):
        if key in form:
            text = form[key].strip()
            if not text and key == "cap_per_day":
                change[key] = None
                continue
            try:
                change[key] = int(text)
            except ValueError:
                raise InputError(f"{key.replace('_', ' ')} must be a whole number, not {text!r}",
                                 field=key) from None
    return change


def change_rep_now(router: Router, rep_id: str, change: dict[str, Any], user: str,
                   now: datetime) -> int | None:
    """Record the change in the ledger and apply it to the running team, together: its number in
    the ledger (other replicas apply it from there); None: no such rep."""
    store = router.store
    if rep_id not in {r.id for r in router.reps}:
        return None
    with store.transaction():
        seq = store.record_rep_change(rep_id, now, change, by=user)
        follow(router, [{"rep_id": rep_id, "change": change}])
    return seq


def release_open(router: Router, lead_id: str, by: str) -> bool:
    """Release the lead if it is open with a rep, recorded as `by`'s; False (nothing done) otherwise."""
    if router.store.open_lead(lead_id) is None:
        return False
    router.release(lead_id, by=by)
    return True


def reroute(router: Router, lead_id: str, now: datetime, by: str) -> str | None:
    """Move an open, untouched lead to the best other rep now, recorded as `by`'s move: the
    new rep, or None when it stayed."""
    answer = router.reroute(lead_id, by, now)
    return None if answer is None else answer.rep_id


def experiment_body(router: Router) -> str:
    """The experiment's arms, lift so far and interval (`solver.report.experiment`), or why there is none.

    The service's own experiment (its policy's), not the latest the ledger records: another team's
    experiment may run on the same ledger. Without one (none, or a stopped one's winner), the latest.
    """
    experiment = router.policy.experiment
    try:
        report = experiment_report(router.store, None if experiment is None else experiment.name)
    except NoExperiment:
        return ("<p>No experiment: the ledger records none. A policy with an <code>experiment</code> "
                "section starts one; <code>leadsolver experiment report</code> reads it too.</p>")
    lines = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(report))
    words = dict(ARM_ROWS)  # the metrics in the words of the arms table
    differences = [(words.get(m, m.replace("_", " ")),
                    *(f"{d[k]:+.4g}" if isinstance(d[k], float) else "-" for k in ("diff", "low", "high")))
                   for m, d in report["differences"].items()]
    return (f"<ul>{lines}</ul><h2>Arms</h2>"
            + table(("", "control", "challenger"), arm_rows(report), numeric=(1, 2))
            + "<h2>Lift so far (challenger − control, 95% interval)</h2>"
            + table(("Metric", "Difference", "Low", "High"), differences, numeric=(1, 2, 3))
            + f"<figure>{lift_chart(report)}</figure>")


def report_files(reports_dir: Path | None) -> list[Path]:
    """Every report.html up to REPORT_DEPTH folders below `reports_dir`, newest first."""
    if reports_dir is None or not reports_dir.is_dir():
        return []
    found = [p for depth in range(REPORT_DEPTH + 1)
             for p in reports_dir.glob("/".join(["*"] * depth + ["report.html"])) if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def reports_body(reports_dir: Path | None) -> str:
    if reports_dir is None:
        return "<p>No reports folder: start the service with <code>--reports FOLDER</code>.</p>"
    files = report_files(reports_dir)
    if not files:
        return f"<p>No report.html under {esc(reports_dir)}.</p>"
    rows = []
    for path in files:
        name = path.parent.relative_to(reports_dir).as_posix() or "."
        kind = ("simulation" if (path.parent / "result.json").exists()
                else "benchmark" if (path.parent / "results.json").exists() else "report")
        rows.append((link(f"/ui/reports/{quote(path.relative_to(reports_dir).as_posix())}", name), kind,
                     datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")))
    return table(("Report", "Kind", "Written"), rows, caption=f"Reports under {reports_dir}")


def report_path(reports_dir: Path | None, name: str) -> Path | None:
    """The report file `name` names, if it is one of `report_files` (nothing outside the folder)."""
    if reports_dir is None:
        return None
    wanted = (reports_dir / name).resolve()
    return next((p for p in report_files(reports_dir) if p.resolve() == wanted), None)

