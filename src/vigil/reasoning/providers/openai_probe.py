"""Discovery of a local Ollama, for the chain's no-config fallback."""

from __future__ import annotations

import asyncio

import httpx


async def probe_ollama(
    base_url: str = "http://127.0.0.1:11434", timeout: float = 0.5
) -> list[str] | None:
    """The models a local Ollama has (``GET /api/tags``), or None when nothing answers there.

    Its OpenAI-compatible endpoint is ``{base_url}/v1``.
    """
    url = f"{base_url.rstrip('/')}/api/tags"
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, trust_env=False) as client,
        ):
            reply = await client.get(url)
            data = reply.json() if reply.status_code == 200 else None
    except (TimeoutError, httpx.HTTPError, ValueError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return None
    return [m["name"] for m in models if isinstance(m, dict) and isinstance(m.get("name"), str)]
