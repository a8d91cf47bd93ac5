"""The console in a real browser (issue 17): Chromium drives `leadsolver serve` through sign-in,
the queue, a lead's explanation, pausing a rep (the next lead goes elsewhere), fairness and a report.

Each page is screenshotted into tests/artifacts/browser/ (LEADSOLVER_ARTIFACTS overrides; the
path is printed) and checked for accessibility: every input labelled, text contrast >= 4.5:1
from computed styles (a11y.js), and every link, button and field reached by Tab in page order.

Needs Playwright (the dev extra) and Debian's chromium (.ci/run installs it); without them
the module is skipped, saying which is missing.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import serving

CHROMIUM = os.environ.get("LEADSOLVER_CHROMIUM", "/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e .[dev])")
if not Path(CHROMIUM).exists():
    pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LEADSOLVER_ARTIFACTS", ROOT / "tests" / "artifacts")) / "browser"
A11Y = (Path(__file__).parent / "a11y.js").read_text()
TOKEN = "browser-token-0123456789abcdef"
# Two reps share EU (Ben has twice Ana's quota share); Cleo alone covers US.
TEAM = [{"id": "ana", "name": "Ana", "territories": ["EU"], "capacity": 10},
        {"id": "ben", "name": "Ben", "territories": ["EU"], "capacity": 10, "quota_weight": 2.0},
        {"id": "cleo", "name": "Cleo", "territories": ["US"], "capacity": 10}]


def api(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"content-type": "application/json",
                                                 "authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def decided(base: str, lead_id: str) -> dict[str, Any]:
    """The lead once the service's batch timer decided it."""
    deadline = time.monotonic() + 15
    while (detail := api(f"{base}/v1/leads/{lead_id}"))["status"] == "pending":
        assert time.monotonic() < deadline, f"{lead_id} was not decided"
        time.sleep(0.05)
    return detail


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`leadsolver serve` on loopback with the team above and a reports folder holding one report."""
    from solver.report.simulation import simulation_report
    from solver.sim.scenario import load_scenario
    from solver.sim.simulate import simulate_scenario
    from tests.sim.test_simulate import TINY

    folder = tmp_path_factory.mktemp("console")
    (folder / "tiny.yaml").write_text(TINY)
    result = simulate_scenario(load_scenario(folder / "tiny.yaml"), seeds=2, workers=1, progress=False)
    (folder / "reps.json").write_text(json.dumps({"reps": TEAM}))
    report = folder / "reports" / "tiny-simulation"
    report.mkdir(parents=True)
    (report / "result.json").write_text(json.dumps(result))
    (report / "report.html").write_text(simulation_report(result))
    args = ["--reps", str(folder / "reps.json"), "--db", str(folder / "ledger.db"),
            "--reports", str(folder / "reports")]
    # localhost: a secure context for the browser, so it keeps the Secure cookie over plain HTTP.
    with serving(args, TOKEN, host="localhost") as served:
        yield served.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser: Any, server: str) -> Iterator[Any]:
    """One signed-in tab for the module's tests, in order (they build on each other's leads)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    blocked: list[str] = []
    tab.on("request", lambda r: blocked.append(r.url) if not r.url.startswith((server, "data:")) else None)
    yield tab
    context.close()
    assert blocked == [], f"requests left for other hosts: {blocked}"


def check(page: Any, name: str) -> None:
    """Screenshot the page, then the accessibility checks."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    found = page.evaluate(A11Y)
    assert found["unlabelled"] == [], f"{name}: inputs without a label: {found['unlabelled']}"
    assert found["lowContrast"] == [], f"{name}: text under 4.5:1 contrast: {found['lowContrast']}"
    keyboard_reaches_everything(page, name)


def keyboard_reaches_everything(page: Any, name: str) -> None:
    """Tab from the top visits every focusable element once, in document order."""
    expected = page.evaluate("""() => {
        const all = document.querySelectorAll(
            "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]");
        const out = [];
        all.forEach((el, k) => {
            const s = getComputedStyle(el);
            if (el.disabled || el.tabIndex < 0 || s.visibility === "hidden" || s.display === "none") return;
            el.dataset.tabCheck = String(k);
            out.push(String(k));
        });
        document.activeElement && document.activeElement.blur();
        window.scrollTo(0, 0);
        return out;
    }""")
    page.evaluate("() => { document.body.tabIndex = -1; document.body.focus(); }")
    seen = []
    for _ in range(len(expected)):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement && document.activeElement.dataset.tabCheck "
                                  "|| null"))
    assert seen == expected, f"{name}: Tab order {seen} is not the page order {expected}"


def test_sign_in(page: Any, server: str) -> None:
    page.goto(f"{server}/ui")
    assert page.url.endswith("/ui/login")
    check(page, "01-sign-in")
    page.get_by_label("Your name").fill("Olga Ops")
    page.get_by_label("Service token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    assert "not the service's" in page.get_by_role("alert").inner_text()
    page.get_by_label("Your name").fill("Olga Ops")
    page.get_by_label("Service token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/ui")
    assert "Signed in as Olga Ops" in page.inner_text("header")
    cookie = next(c for c in page.context.cookies() if c["name"] == "leadsolver_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"


def test_the_queue(page: Any, server: str) -> None:
    for k in range(3):
        decided(server, api(f"{server}/v1/leads", {"id": f"Q{k}", "value": 100.0 + k,
                                                   "territory": "EU"})["lead_id"])
    page.goto(f"{server}/ui")
    assert page.get_by_role("heading", name="Now").is_visible()
    assert "open leads" in page.inner_text("main")
    assert page.get_by_role("cell", name="ana (Ana)").is_visible()
    check(page, "02-now")


def test_why_a_lead_went_to_its_rep(page: Any, server: str) -> None:
    owner = decided(server, api(f"{server}/v1/leads", {"id": "WHY-1", "value": 500.0,
                                                       "territory": "EU"})["lead_id"])["rep_id"]
    page.goto(f"{server}/ui/leads")
    check(page, "03-find-a-lead")
    page.get_by_label("Lead id").fill("WHY-1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"{server}/ui/leads/WHY-1")
    text = page.inner_text("main")
    assert "Why this rep" in text and f"Rule trail for {owner}" in text
    other = {"ana": "ben", "ben": "ana"}[owner]
    alternatives = page.get_by_role("table").filter(has_text="Best alternatives")
    assert other in alternatives.inner_text()
    assert "accepted" in page.get_by_role("table").filter(has_text="When").inner_text()
    check(page, "03-lead-explained")


def test_pause_a_rep_and_the_next_lead_goes_elsewhere(page: Any, server: str) -> None:
    page.goto(f"{server}/ui/reps")
    page.get_by_role("button", name="Pause ana").click()
    assert "ana: paused (recorded as Olga Ops)" in page.get_by_role("status").inner_text()
    changes = page.get_by_role("table").filter(has_text="Who").inner_text()
    assert "Olga Ops" in changes and "paused" in changes
    check(page, "04-reps")
    for k in range(3):
        lead = api(f"{server}/v1/leads", {"id": f"AFTER-{k}", "value": 900.0, "territory": "EU"})["lead_id"]
        assert decided(server, lead)["rep_id"] == "ben"
    page.goto(f"{server}/ui/leads/AFTER-0")
    assert "ben" in page.get_by_role("table").first.inner_text()
    page.goto(f"{server}/ui/reps")
    page.get_by_role("button", name="Resume ana").click()
    assert "ana: resumed" in page.get_by_role("status").inner_text()


def test_who_is_behind_their_quota_share_this_week(page: Any, server: str) -> None:
    page.goto(f"{server}/ui/fairness")
    heading = page.get_by_role("heading", name="Behind their quota share this week")
    assert heading.is_visible()
    behind = page.locator("table").filter(has_text="Share vs quota share").inner_text()
    assert "cleo" in behind  # no US lead this week: nothing against its quota share
    assert page.locator("svg[role=img]").count() == 3
    check(page, "05-fairness")


def test_experiments_page(page: Any, server: str) -> None:
    page.goto(f"{server}/ui/experiments")
    assert "No experiment" in page.inner_text("main")
    check(page, "06-experiments")


def test_a_report(page: Any, server: str) -> None:
    page.goto(f"{server}/ui/reports")
    check(page, "07-reports")
    page.get_by_role("link", name="tiny-simulation").click()
    assert page.get_by_role("heading", name="Summary").is_visible()
    assert page.locator("table.reps").count() == 1
    check(page, "08-simulation-report")


def test_a_lead_that_is_not_there(page: Any, server: str) -> None:
    answer = page.goto(f"{server}/ui/leads/NOPE-1")
    assert answer.status == 404 and "No lead NOPE-1 was ever accepted" in page.inner_text("main")
    check(page, "09-no-such-lead")


def test_the_accessibility_checks_catch_what_they_look_for(browser: Any) -> None:
    """The checks above can fail: grey-on-white text, an unlabelled field, a jumbled tab order."""
    tab = browser.new_page()
    try:
        tab.set_content("<main><p style='color:#aaa'>faint</p><input type='text' name='q'>"
                        "<a href='#a' tabindex='2'>second</a><a href='#b' tabindex='1'>first</a></main>")
        found = tab.evaluate(A11Y)
        assert found["unlabelled"] and "name=\"q\"" in found["unlabelled"][0]
        assert [text.split('"')[1] for text in found["lowContrast"]] == ["faint"]
        with pytest.raises(AssertionError, match="Tab order"):
            keyboard_reaches_everything(tab, "bad")
    finally:
        tab.close()
