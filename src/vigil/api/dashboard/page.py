"""The page around the sections: head, navigation, the token form, the live notice region.

The script and the stylesheet are files (``/dashboard/static/...``), never inline, so the
Content-Security-Policy can forbid inline script and style outright. Without JavaScript every
section reads the same; only approving, denying and the live updates need it.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil import __version__
from vigil.api.dashboard.html import Html, el, join

STATIC = "/dashboard/static"
NAV = (
    ("events", "Events"),
    ("triage", "Triage"),
    ("health", "Health"),
    ("proposals", "Proposals"),
    ("inbox", "Inbox"),
    ("latency", "Latency"),
    ("knowledge", "Knowledge"),
)


def token_form() -> Html:
    """Where the token is entered once; kept in this tab's session storage by the script.

    ``hidden`` until the script runs (without it nothing could use the token), and never a GET
    form: a token must not end up in a URL.
    """
    return el(
        "form",
        {"id": "token-form", "class": "token", "hidden": True, "method": "post", "action": "#"},
        el("label", {"for": "token-input"}, "Token"),
        el(
            "input",
            {
                "id": "token-input",
                "type": "password",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "vgl_… (vigil token create NAME)",
                "aria-describedby": "token-state",
            },
        ),
        el("button", {"type": "submit"}, "Use for this session"),
        el("button", {"type": "button", "id": "token-forget", "hidden": True}, "Forget"),
        el("span", {"id": "token-state", "role": "status"}, ""),
    )


def page(title: str, body: Sequence[Html] | Html, *, home: bool = False) -> Html:
    """A whole document."""
    nav = el(
        "nav",
        {"aria-label": "Sections"},
        el(
            "ul",
            None,
            [el("li", None, el("a", {"href": f"/#{key}"}, label)) for key, label in NAV],
        ),
    )
    head = el(
        "head",
        None,
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("meta", {"name": "referrer", "content": "no-referrer"}),
        el("title", None, title),
        el("link", {"rel": "stylesheet", "href": f"{STATIC}/dashboard.css"}),
        el("script", {"src": f"{STATIC}/dashboard.js", "defer": True}),
    )
    header = el(
        "header",
        {"class": "top"},
        el("a", {"class": "skip", "href": "#main"}, "Skip to content"),
        el("h1", None, el("a", {"href": "/"}, "Vigil"), el("small", None, f" {__version__}")),
        nav,
        token_form(),
    )
    notices = el(
        "div",
        {"id": "notices", "class": "notices", "role": "log", "aria-live": "polite"},
        "",
    )
    main = el("main", {"id": "main", "class": "grid" if home else "single"}, body)
    return Html(
        "<!doctype html>\n"
        + el("html", {"lang": "en"}, head, el("body", None, header, notices, main))
    )


def section(key: str, title: str, *content: Html | str | None, wide: bool = False) -> Html:
    """One panel of the dashboard; the script refreshes it from ``/dashboard/section/KEY``."""
    return el(
        "section",
        {
            "id": key,
            "class": "panel wide" if wide else "panel",
            "aria-labelledby": f"{key}-title",
            "data-section": key,
        },
        el("h2", {"id": f"{key}-title"}, title),
        el("div", {"class": "body"}, join(content)),
    )
