"""The webhook channel: ntfy or Slack-compatible JSON over HTTP (httpx lives only here).

- ``ntfy``: ``POST`` to the server's root with ``{"topic", "title", "message", "priority",
  "tags", "click"}`` (ntfy's JSON publishing); the topic is the URL's path
  (``https://ntfy.sh/my-topic``). A token from ``token_env`` goes in ``Authorization: Bearer``.
- ``slack``: ``POST`` to the incoming-webhook URL with ``{"text", "blocks"}``.

A timeout, a connection error, a 429 or a 5xx is :class:`~vigil.errors.ChannelFailed` (retried;
``Retry-After`` is kept as the wait hint); another 4xx is :class:`~vigil.errors.ChannelRejected`.
The URL may hold a secret (a Slack webhook's does): it is never put in an error or a log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from vigil.errors import ChannelFailed, ChannelRejected, ChannelUnavailable
from vigil.notify.channels import Notice

TIMEOUT_S = 5.0
_PRIORITY = {"passive": 2, "active": 3, "time-sensitive": 4, "critical": 5}
_TAGS = {"info": "information_source", "warning": "warning", "error": "x"}
_TAGS["critical"] = "rotating_light"


def _link(link: Any) -> str | None:
    if isinstance(link, str):
        return link
    if isinstance(link, dict) and isinstance(link.get("url"), str):
        return str(link["url"])
    return None


def ntfy_payload(notice: Notice, url: str) -> tuple[str, dict[str, Any]]:
    """Where to post and what: ntfy's JSON form wants the root URL and the topic inside."""
    parts = urlsplit(url)
    topic = parts.path.strip("/")
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    body: dict[str, Any] = {
        "topic": topic,
        "title": notice.title,
        "message": notice.body or notice.reason,
        "priority": _PRIORITY.get(notice.level, 3),
        "tags": [_TAGS.get(notice.severity, "bell"), "vigil"],
    }
    links = [link for link in (_link(x) for x in notice.links) if link]
    if links:
        body["click"] = links[0]
    return root, body


def slack_payload(notice: Notice) -> dict[str, Any]:
    text = f"*{notice.title}*" + (f"\n{notice.body}" if notice.body else "")
    links = [link for link in (_link(x) for x in notice.links) if link]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    context = f"{notice.severity} · {notice.reason}"
    if links:
        context += " · " + " ".join(f"<{link}|link>" for link in links[:3])
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {
        "text": f"{notice.title}" + (f": {notice.body}" if notice.body else ""),
        "blocks": blocks,
    }


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        url: str | None,
        *,
        format: str = "ntfy",
        token: str | None = None,
        timeout: float = TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.format = format
        self.token = token
        self.timeout = timeout
        self.transport = transport

    def unavailable(self) -> str | None:
        return None if self.url else "no webhook URL (url, or the variable url_env names, is empty)"

    async def send(self, notice: Notice) -> dict[str, Any] | None:
        if not self.url:
            raise ChannelUnavailable(str(self.unavailable()), channel=self.name)
        if self.format == "slack":
            target, body = self.url, slack_payload(notice)
        else:
            target, body = ntfy_payload(notice, self.url)
        headers = {"User-Agent": "vigil"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.post(target, json=body, headers=headers)
        except httpx.TimeoutException:
            raise ChannelFailed(
                f"webhook did not answer within {self.timeout:g} s", channel=self.name
            ) from None
        except httpx.HTTPError as exc:
            raise ChannelFailed(
                f"webhook unreachable: {type(exc).__name__}", channel=self.name
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            wait = response.headers.get("retry-after", "")
            details: dict[str, Any] = {"channel": self.name, "status": status}
            if wait.isdigit():
                details["retry_after"] = float(wait)
            raise ChannelFailed(f"webhook answered {status}", **details)
        if status >= 400:
            raise ChannelRejected(f"webhook refused it: {status}", channel=self.name, status=status)
        return {"status": status}
