"""The HTTP API against its own OpenAPI document: schemathesis generates requests (valid and
invalid) for every operation of a real daemon, and every answer must be one the document
allows, with the documented content type and body, never a server error, and an invalid
request must be refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hearing.live import auth, live, token
from tests.hearing.payloads import SECRET

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The stream never ends by itself; its answers are pinned in test_api.
SKIP = {("/api/events/stream", "GET")}


def _property(
    strategy: Any, base: str, headers: dict[str, Any], mode: GenerationMode
) -> Callable[[], None]:
    """A hypothesis test of one operation: call the daemon, validate the answer."""

    @given(case=strategy)
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, headers=headers, timeout=20)
        extra = [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
        case.validate_response(response, checks=[*CHECKS, *extra])

    return run


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_one_the_schema_allows(
    home: Path, monkeypatch: pytest.MonkeyPatch, mode: GenerationMode
) -> None:
    """Valid and invalid requests to every operation get only documented answers."""
    monkeypatch.setenv("VIGIL_GITHUB_SECRET", SECRET)
    key = token(home)
    with live(home) as (client, state):
        base = f"http://127.0.0.1:{state['port']}"
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [
            result.ok() for result in schema.get_all_operations() if result.ok() is not None
        ]
        checked: list[str] = []
        for operation in operations:
            if (operation.path, operation.method.upper()) in SKIP:
                continue
            headers: dict[str, Any] = {} if "hooks/github" in operation.path else auth(key)
            run = _property(operation.as_strategy(generation_mode=mode), base, headers, mode)
            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong in this one
                continue
            checked.append(f"{operation.method.upper()} {operation.path}")
        for operation in ("POST /api/events", "GET /api/events", "POST /hooks/github"):
            assert operation in checked
        if mode is GenerationMode.POSITIVE:  # schemathesis leaves out the document's own path
            assert len(checked) >= 10, checked
        assert client.get("/healthz").status_code == 200  # still serving after all of it
