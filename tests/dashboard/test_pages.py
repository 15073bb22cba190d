"""The dashboard as a reader without JavaScript gets it: server-rendered, escaped, complete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.dashboard.conftest import dashboard
from tests.dashboard.scene import PLANTED, PLANTED_IMG
from vigil.api.dashboard.html import esc

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def only_our_script(html: str) -> None:
    tags = SCRIPT_TAG.findall(html)
    assert tags == ['<script src="/dashboard/static/dashboard.js" defer>'], tags
    assert "onerror=" not in html.replace(esc(PLANTED_IMG), "")


async def test_home_reads_every_panel_without_javascript(
    built: tuple[Path, dict[str, Any]],
) -> None:
    """``/`` holds the events, the triage card (failure with file and line, the known fix with
    its diff, suspects, history, the explanation, a why link), health, the pending proposal with
    the CLI to decide it, the inbox with its decisions and the spoken notice, latency, search."""
    home, ids = built
    async with dashboard(home) as (client, _):
        page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    for key in ("events", "triage", "health", "proposals", "inbox", "latency", "knowledge"):
        assert f'id="{key}"' in html
    assert "test_calc.py:7" in html and "AssertionError" in html
    assert "Fixed by changing calc.py" in html and '<span class="del">-    return a + b' not in html
    assert '<span class="add">+    return a + b\n</span>' in html
    assert "calc.py" in html and "Seen 1 time before" in html
    assert "Likely cause:" in html and f'href="/why/{ids["failure"]}"' in html
    assert ids["proposal"] in html and f"vigil approve {ids['proposal']}" in html
    assert "delivered by the intent gate" in html
    assert f'src="/notifications/{ids["request"]}.wav"' in html
    assert 'class="chart"' in html and "Triage: 2 calls" in html
    assert "Readiness:" in html


async def test_planted_markup_renders_as_text(built: tuple[Path, dict[str, Any]]) -> None:
    """Markup planted in a test id, an assertion message, a notice, a proposal's reason, an
    event's subject and data is escaped on every page: the only script is the dashboard's."""
    home, ids = built
    async with dashboard(home) as (client, _):
        pages = [
            await client.get("/"),
            await client.get(f"/triage/{ids['triage']}"),
            await client.get(f"/why/{ids['failure']}"),
            await client.get(f"/why/{ids['request']}"),
            await client.get(f"/why/{ids['proposal']}"),
            await client.get("/kb?q=planted"),
            await client.get(f"/kb/{ids['note']}"),
            await client.get("/dashboard/section/inbox"),
        ]
    for answer in pages:
        assert answer.status_code == 200, (answer.url, answer.text[:300])
        html = answer.text
        assert PLANTED not in html and PLANTED_IMG not in html
        if answer.url.path != "/dashboard/section/inbox":
            only_our_script(html)
    home_html = pages[0].text
    assert esc(PLANTED) in home_html and esc(PLANTED_IMG) in home_html


async def test_filters_by_type_and_text(built: tuple[Path, dict[str, Any]]) -> None:
    """``?type=`` keeps matching types only, ``?q=`` events holding the words (any case)."""
    home, _ = built
    async with dashboard(home) as (client, _):
        by_type = (await client.get("/", params={"type": "build.run.*"})).text
        by_text = (await client.get("/", params={"q": "RELEASE"})).text
        none = (await client.get("/", params={"q": "no such words anywhere"})).text
    listed = re.findall(r'<li class="ev" data-seq="\d+" data-type="([^"]+)"', by_type)
    assert listed and all(t.startswith("build.run.") for t in listed)
    assert {"build.run.failed", "build.run.passed", "build.run.started"} <= set(listed)
    texts = re.findall(r'<li class="ev" data-seq="\d+" data-type="([^"]+)"', by_text)
    assert texts == ["deploy.release.finished"]
    assert "No events match." in none


async def test_security_headers_on_every_page(built: tuple[Path, dict[str, Any]]) -> None:
    """Pages carry a CSP without inline script or style, and refuse framing and referrers."""
    home, ids = built
    async with dashboard(home) as (client, _):
        for path in ("/", f"/why/{ids['failure']}", "/kb", "/dashboard/static/dashboard.js"):
            answer = await client.get(path)
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["x-content-type-options"] == "nosniff"


async def test_spoken_notices_only_from_their_folder(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """A kept WAV is served by request id; any other name, a path out of the folder, or a
    link to a file elsewhere is 404."""
    home, ids = built
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF secret")
    link_id = "ev_" + "A" * 26
    link = home / "notifications" / f"{link_id}.wav"
    link.symlink_to(outside)
    try:
        async with dashboard(home) as (client, _):
            wav = await client.get(f"/notifications/{ids['request']}.wav")
            assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
            assert wav.content[:4] == b"RIFF"
            for name in (
                f"{link_id}.wav",
                "..%2Fvigil.db",
                "../vigil.db",
                f"{ids['request']}.txt",
                "ev_x.wav",
                "%2E%2E%2Fconfig.toml",
            ):
                answer = await client.get(f"/notifications/{name}")
                assert answer.status_code == 404, name
                assert b"secret" not in answer.content
    finally:
        link.unlink()


async def test_why_knowledge_and_unknown_ids(built: tuple[Path, dict[str, Any]]) -> None:
    """Why shows a failure's receipts and a notice's gates; the knowledge search finds the
    note and its page shows provenance; unknown ids are a page saying so, 404."""
    home, ids = built
    async with dashboard(home) as (client, _):
        failure = (await client.get(f"/why/{ids['failure']}")).text
        notice = (await client.get(f"/why/{ids['request']}")).text
        proposal = (await client.get(f"/why/{ids['proposal']}")).text
        search = (await client.get("/kb", params={"q": "cache daily"})).text
        entry = (await client.get(f"/kb/{ids['note']}")).text
        fix = (await client.get(f"/kb/{ids['fix']}")).text
        missing = [
            await client.get("/why/ev_00000000000000000000000000"),
            await client.get("/kb/kb_00000000000000000000000000"),
            await client.get("/triage/ev_00000000000000000000000000"),
            await client.get("/dashboard/section/nothing"),
        ]
        bad = await client.get("/kb", params={"q": "!!!"})
    assert "deterministic" in failure and "triage" in failure
    assert "intent" in notice and "delivered" in notice
    assert "proposal" in proposal and "echo hi" in proposal
    assert f'href="/kb/{ids["note"]}"' in search and "<mark>" in search
    assert "Provenance" in entry and "<dt>source</dt>" in entry
    assert "Provenance" in fix and '<pre class="diff"' in fix
    assert [m.status_code for m in missing] == [404, 404, 404, 404]
    assert bad.status_code == 400 and 'role="alert"' in bad.text
