"""HTTP answers that are not a completion, as Vigil's provider errors.

=====================================  ===========================================================
what happened                          raised
=====================================  ===========================================================
408, 5xx                               :class:`~vigil.errors.ProviderUnavailable`
429                                    :class:`~vigil.errors.RateLimited` (``retry_after`` from
                                       ``Retry-After``/``retry-after-ms``, else the
                                       ``x-ratelimit-reset-*`` headers)
401, 403                               :class:`~vigil.errors.ProviderError` naming the variable to
                                       check (``reason="auth"``)
any other 4xx                          :class:`~vigil.errors.ProviderError` with the server's
                                       message, truncated
=====================================  ===========================================================

Every error carries ``provider`` and ``status`` in ``details``. The API key never appears: the
server's message is left out of auth errors and scrubbed of the key everywhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from vigil.errors import ProviderError, ProviderUnavailable, RateLimited
from vigil.reasoning.providers.openai_wire import error_text

MESSAGE_LIMIT = 200

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def server_message(body: bytes, secret: str | None = None) -> str:
    """The server's own words about an error: one line, truncated, with ``secret`` scrubbed."""
    text = body.decode("utf-8", "replace")
    try:
        text = error_text(json.loads(text)) or text
    except ValueError:
        pass
    if secret:
        text = text.replace(secret, "[REDACTED]")
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def duration(text: str) -> float | None:
    """Seconds in ``"1.5"``, ``"20ms"``, ``"6m0s"``, ``"1h2m3.5s"`` (the rate-limit headers)."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(amount) * _UNITS[unit] for amount, unit in parts)


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long a 429 asks us to wait, in seconds; None when it does not say.

    ``Retry-After`` (seconds or an HTTP date), then ``retry-after-ms``, then the
    ``x-ratelimit-reset-requests``/``-tokens`` pair (the exhausted one's, else the longer).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after", "").strip()
    if value:
        if _SECONDS.fullmatch(value):
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    milliseconds = duration(lower.get("retry-after-ms", "x"))
    if milliseconds is not None:
        return milliseconds / 1000.0
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        reset = duration(lower.get(f"x-ratelimit-reset-{kind}", "x"))
        if reset is not None:
            resets[kind] = reset
    exhausted = [k for k in resets if lower.get(f"x-ratelimit-remaining-{k}", "").strip() == "0"]
    if exhausted:
        return max(resets[k] for k in exhausted)
    return max(resets.values()) if resets else None


def status_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    provider: str,
    model: str,
    api_key_env: str | None,
    secret: str | None,
    now: datetime,
) -> ProviderError:
    """The error for an HTTP answer with a status other than 200."""
    details = {"provider": provider, "model": model, "status": status}
    prefix = f"provider {provider!r}"
    if status == 429:
        wait = retry_after(headers, now)
        hint = f"; retry after {wait:.1f} s" if wait is not None else ""
        return RateLimited(
            f"{prefix} is rate limited (HTTP 429){hint}", retry_after=wait, **details
        )
    if status in (401, 403):
        where = (
            f"check the environment variable {api_key_env}"
            if api_key_env
            else "set api_key_env in its config to the variable that holds its key"
        )
        return ProviderError(
            f"{prefix} refused the credentials (HTTP {status}): {where}", reason="auth", **details
        )
    said = server_message(body, secret)
    said = f": {said}" if said else ""
    if status == 408 or status >= 500:
        return ProviderUnavailable(f"{prefix} failed (HTTP {status}){said}", **details)
    return ProviderError(f"{prefix} rejected the request (HTTP {status}){said}", **details)
