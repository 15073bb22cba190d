"""The dashboard in a real browser (Debian's Chromium driven by Playwright) on a real daemon.

Chromium comes from the system (``apt-get install chromium``; ``make test`` installs it), never
from ``playwright install``. Screenshots at two widths are kept under the test's tmp dir and
copied to ``screenshots/`` at the repository's root (ignored by git) for people to look at.
"""

from __future__ import annotations

import json
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.helpers import daemon, vigil, wait_for
from tests.conftest import REPO, RULES_ONLY
from tests.dashboard import scene

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = ((1280, 900), (390, 844))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A daemon on a home with a scene in it, a token, and the project proposals run in."""
    base = tmp_path_factory.mktemp("live")
    home = base / "home"
    home.mkdir()
    (home / "config.toml").write_text(RULES_ONLY)
    project = base / "project"
    ids = scene.build(home, project)
    made = vigil("token", "create", "browser", "--json", home=home)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    with daemon(home) as state:
        url = f"http://127.0.0.1:{state['port']}"
        with httpx.Client(base_url=url, timeout=20) as client:
            yield {
                "home": home,
                "project": project,
                "ids": ids,
                "token": token,
                "url": url,
                "client": client,
            }


def propose(live: dict[str, Any], marker: str) -> str:
    done = vigil(
        "propose",
        "--why",
        "browser test",
        "--",
        "touch",
        marker,
        home=live["home"],
        cwd=live["project"],
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def proposal(live: dict[str, Any], pid: str) -> dict[str, Any]:
    answer = live["client"].get(f"/api/proposals/{pid}")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def open_page(browser: Any, live: dict[str, Any], **options: Any) -> Any:
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(live["url"] + "/")
    return page


def use_token(page: Any, token: str) -> None:
    page.fill("#token-input", token)
    page.click("#token-form button[type=submit]")
    page.wait_for_function("document.querySelector('#token-state').textContent.includes('kept')")


def test_an_ingested_event_appears_within_a_second(browser: Any, live: dict[str, Any]) -> None:
    """An event posted to the API shows in the open page's stream within one second, its
    planted markup as text (nothing runs)."""
    page = open_page(browser, live)
    try:
        page.wait_for_function("document.querySelector('#stream-state').textContent === 'live'")
        body = {
            "type": "dash.test.sent",
            "subject": scene.PLANTED_IMG,
            "data": {"title": scene.PLANTED, "n": 1},
        }
        headers = {"Authorization": f"Bearer {live['token']}"}
        started = time.monotonic()
        posted = live["client"].post("/api/events", json=body, headers=headers)
        assert posted.status_code == 201, posted.text
        page.wait_for_selector('li.ev[data-type="dash.test.sent"]', timeout=1000)
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, elapsed
        row = page.inner_text('li.ev[data-type="dash.test.sent"] summary')
        assert scene.PLANTED in row and scene.PLANTED_IMG in row
        assert page.evaluate("window.__planted") is None
    finally:
        page.context.close()


def test_a_proposal_approved_by_clicking_runs(browser: Any, live: dict[str, Any]) -> None:
    """With the token entered once, clicking Approve approves (recorded as from the dashboard,
    by the token's name) and the command runs; the token is in no URL, cookie or log."""
    pid = propose(live, "approved-marker")
    page = open_page(browser, live)
    try:
        use_token(page, live["token"])
        page.reload()  # kept for the session: no need to type it again
        page.click(f'button[data-decide="approve"][data-id="{pid}"]')
        page.wait_for_selector(f'[data-proposal="{pid}"] .result.ok', timeout=10_000)
        done = wait_for(lambda: proposal(live, pid)["status"] in ("executed", "failed") or None)
        assert done
        found = proposal(live, pid)
        assert found["status"] == "executed", found
        assert (found["decided_via"], found["decided_by"]) == ("dashboard", "token:browser")
        assert (live["project"] / "approved-marker").exists()
        assert live["token"] not in page.url and not page.context.cookies()
        stored = page.evaluate("sessionStorage.getItem('vigil.token')")
        assert stored == live["token"]
    finally:
        page.context.close()
    for log in (live["home"] / "logs").rglob("*"):
        if log.is_file():
            assert live["token"] not in log.read_text(errors="replace"), log


def test_a_denied_proposal_never_runs(browser: Any, live: dict[str, Any]) -> None:
    """Deny with a reason: denied, the reason kept, nothing run, and approving later is
    refused."""
    pid = propose(live, "denied-marker")
    page = open_page(browser, live)
    try:
        use_token(page, live["token"])
        page.fill(f"#why-{pid}", "not today")
        page.click(f'button[data-decide="deny"][data-id="{pid}"]')
        page.wait_for_selector(f'[data-proposal="{pid}"] .result.ok', timeout=10_000)
    finally:
        page.context.close()
    found = proposal(live, pid)
    assert (found["status"], found["decision_why"], found["decided_via"]) == (
        "denied",
        "not today",
        "dashboard",
    )
    headers = {"Authorization": f"Bearer {live['token']}"}
    later = live["client"].post(f"/api/proposals/{pid}/approve", headers=headers)
    assert later.status_code == 409
    kinds = [
        e["type"]
        for e in live["client"].get("/api/events?limit=1000").json()
        if pid in json.dumps(e)
    ]
    assert "action.denied" in kinds and "action.executed" not in kinds
    assert not (live["project"] / "denied-marker").exists()


def test_a_wrong_token_is_refused(browser: Any, live: dict[str, Any]) -> None:
    """A wrong token changes nothing: the page says it was refused and forgets it."""
    pid = propose(live, "refused-marker")
    page = open_page(browser, live)
    try:
        use_token(page, "vgl_not_a_real_token")
        page.click(f'button[data-decide="approve"][data-id="{pid}"]')
        page.wait_for_selector(f'[data-proposal="{pid}"] .result.bad', timeout=10_000)
        assert "Refused" in page.inner_text(f'[data-proposal="{pid}"] .result')
        assert "refused" in page.inner_text("#token-state")
        assert page.evaluate("sessionStorage.getItem('vigil.token')") is None
    finally:
        page.context.close()
    assert proposal(live, pid)["status"] == "pending"
    assert not (live["project"] / "refused-marker").exists()


def test_a_delivered_notice_pops_up(browser: Any, live: dict[str, Any]) -> None:
    """A notice the daemon delivers to the dashboard channel shows on the open page."""
    page = open_page(browser, live)
    try:
        page.wait_for_function("document.querySelector('#stream-state').textContent === 'live'")
        told = vigil("notify", "Hello from the browser test", home=live["home"])
        assert told.returncode == 0, told.stderr
        page.wait_for_selector(".toast >> text=Hello from the browser test", timeout=10_000)
    finally:
        page.context.close()


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_screenshots_show_the_key_parts(
    browser: Any, live: dict[str, Any], tmp_path: Path, width: int, height: int
) -> None:
    """At a laptop's and a phone's width every panel's heading, the stream, a triage card, the
    approve button and the token field are visible, nothing overflows sideways, and the
    screenshot is saved (and copied to screenshots/ for people)."""
    page = open_page(browser, live, viewport={"width": width, "height": height})
    try:
        page.wait_for_function("document.querySelector('#stream-state').textContent === 'live'")
        for key in ("events", "triage", "health", "proposals", "inbox", "latency", "knowledge"):
            assert page.locator(f"#{key}-title").is_visible(), key
        assert page.locator("li.ev").count() > 5
        assert page.locator("article.card[data-triage]").first.is_visible()
        assert page.locator("button[data-decide=approve]").first.is_visible()
        assert page.locator("#token-input").is_visible()
        assert page.locator("svg.chart").count() >= 1
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, overflow
        shot = tmp_path / f"dashboard-{width}.png"
        # Bytes, written here: with path= Playwright writes on a thread of its own loop.
        shot.write_bytes(page.screenshot(full_page=True))
    finally:
        page.context.close()
    assert png_size(shot)[0] == width
    keep = REPO / "screenshots"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / shot.name)


def test_reads_with_javascript_off(browser: Any, live: dict[str, Any]) -> None:
    """Without JavaScript the panels read the same; deciding says how to from the CLI."""
    page = open_page(browser, live, java_script_enabled=False)
    try:
        assert page.locator("article.card[data-triage]").first.is_visible()
        assert page.locator("li.ev").count() > 5
        assert not page.locator("button[data-decide=approve]").first.is_visible()
        assert page.locator(".nojs").first.is_visible()
        assert not page.locator("#token-form").is_visible()
    finally:
        page.context.close()


def test_a_new_diagnosis_appears_as_a_card(browser: Any, live: dict[str, Any]) -> None:
    """A failure run while the page is open gets its triage card without a reload, with its
    explanation once it arrives."""
    page = open_page(browser, live)
    try:
        page.wait_for_function("document.querySelector('#stream-state').textContent === 'live'")
        (live["project"] / "boom.py").write_text("def main():\n    raise KeyError('x')\n\nmain()\n")
        done = vigil("run", "--", "python3", "boom.py", home=live["home"], cwd=live["project"])
        assert done.returncode == 1
        triages = live["client"].get("/api/events", params={"type": "triage.completed"}).json()
        card = f'article[data-triage="{triages[-1]["id"]}"]'
        page.wait_for_selector(card, timeout=10_000)
        page.wait_for_selector(f"{card} .enrichment:not(.waiting)", timeout=10_000)
    finally:
        page.context.close()


def test_every_control_is_labelled_and_reachable_by_keyboard(
    browser: Any, live: dict[str, Any]
) -> None:
    """Every input has a label, every button a name, and the first Tab lands on "Skip to
    content", which leads to the panels."""
    page = open_page(browser, live)
    try:
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input')).filter(i =>
                 !(i.id && document.querySelector('label[for="' + i.id + '"]')) &&
                 !i.getAttribute('aria-label')).map(i => i.outerHTML)"""
        )
        assert unlabelled == []
        nameless = page.evaluate(
            "() => Array.from(document.querySelectorAll('button'))"
            ".filter(b => !b.textContent.trim()).length"
        )
        assert nameless == 0
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.url.endswith("#main")
    finally:
        page.context.close()
