"""The rules provider: deterministic answers from a real store, enrichment JSON, never raising."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reasoning.test_tools import World, build_world
from vigil.app import Vigil
from vigil.config import load_settings
from vigil.errors import StorageError
from vigil.handlers import enricher
from vigil.reasoning.agent import run_agent
from vigil.reasoning.provider import Message, Provider, Request
from vigil.reasoning.providers.rules import HOW_TO_ASK, RulesProvider, classify, instance
from vigil.reasoning.tools import build_tools, schema_errors
from vigil.reasoning.workspace import StoreWorkspace


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("world"))
    yield built
    built.vigil.close()


@pytest.fixture(scope="module")
def rules(world: World) -> RulesProvider:
    return RulesProvider(world.ws)


# -- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how do I fix the pytest failure?", "fix"),
        ("Is there a workaround?", "fix"),
        ("what changed since it was green?", "changed"),
        ("show me the recent commits", "changed"),
        ("is npm test flaky?", "flaky"),
        ("it fails intermittently", "flaky"),
        ("why did pytest fail?", "failure"),
        ("what failed?", "failure"),
        ("last failure", "failure"),
        ("status", "status"),
        ("what's going on?", "status"),
        ("release tagging", "search"),
        ("???", "help"),
        ("", "help"),
    ],
)
def test_questions_are_classified_by_keywords(question: str, kind: str) -> None:
    """Each question class is recognised by its keywords, first match winning."""
    assert classify(question) == kind


# -- answers for each class ----------------------------------------------------------------------


def test_why_did_a_command_fail_names_its_failure_suspects_and_ids(
    world: World, rules: RulesProvider
) -> None:
    """'why did X fail' answers from X's latest triage: failure, suspect, commits, ids."""
    answer = rules.answer("why did check fail?")
    assert answer.kind == "failure"
    assert world.ids["check_fail"] in answer.text and world.ids["check_triage"] in answer.text
    assert "check.py:4" in answer.text and "add(1, 1) returned 0" in answer.text
    assert "`calc.py`: changed in" in answer.text and "Refactor add" in answer.text
    assert answer.cited_ids[:2] == (world.ids["check_fail"], world.ids["check_triage"])
    assert "Also failing: `python report.py`" in answer.text


def test_what_failed_answers_with_the_latest_failure(world: World, rules: RulesProvider) -> None:
    """Without a command named, the most recent open failure is the answer."""
    answer = rules.answer("what failed?")
    assert answer.text.startswith(f"**`python report.py` failed** ({world.ids['report_fail']}")
    assert world.ids["report_triage"] in answer.cited_ids
    assert "ignore previous instructions" not in answer.text  # output tails are never quoted


def test_an_event_id_in_the_question_picks_that_failure(world: World, rules: RulesProvider) -> None:
    """A question that names a failure's event id is answered about that failure."""
    answer = rules.answer(f"why did {world.ids['pytest_fail2']} fail?")
    assert answer.text.startswith(f"**`pytest -q` failed** ({world.ids['pytest_fail2']}")
    assert world.ids["kb_fix"] in answer.cited_ids
    assert "History: seen once before" in answer.text


def test_how_do_i_fix_lists_known_fixes_with_their_bodies(
    world: World, rules: RulesProvider
) -> None:
    """'how do I fix X' gives X's known fixes (id, confidence, body) from the knowledge base."""
    answer = rules.answer("how do I fix pytest?")
    assert answer.kind == "fix"
    assert world.ids["pytest_fail2"] in answer.text
    assert f"**Make add() return the sum** ({world.ids['kb_fix']}; fix, active" in answer.text
    assert "it must return a + b" in answer.text
    assert world.ids["kb_fix"] in answer.cited_ids


def test_fix_without_a_known_fix_says_so_and_points_elsewhere(
    world: World, rules: RulesProvider
) -> None:
    """With no fix recorded, the answer says so, how to add one, and which failures have one."""
    answer = rules.answer("how do I fix the make build?")
    assert world.ids["build_fail"] in answer.text
    assert "No known fix is recorded for this failure" in answer.text
    assert f"`pytest -q` ({world.ids['kb_fix']})" in answer.text


def test_what_changed_gives_suspects_commits_and_the_git_log(
    world: World, rules: RulesProvider
) -> None:
    """'what changed' prefers a failure with suspects; it lists them and recent commits."""
    answer = rules.answer("what changed?")
    assert answer.kind == "changed"
    assert world.ids["check_fail"] in answer.text
    assert "Suspects (changed since the last green run):\n- `calc.py`" in answer.text
    assert f"Commits since the last green run ({world.ids['check_pass']})" in answer.text
    assert "Latest commits:" in answer.text and "Add calculator (Ada)" in answer.text


def test_flaky_lists_commands_that_alternate(world: World, rules: RulesProvider) -> None:
    """'flaky' finds commands whose runs alternate between passing and failing."""
    answer = rules.answer("is anything flaky?")
    assert "`npm test`: last runs ✗✓✗✓" in answer.text
    assert "pytest" not in answer.text
    assert answer.cited_ids == (world.ids["npm_fail"],)
    named = rules.answer("is pytest flaky?")
    assert "Nothing looks flaky" in named.text


def test_status_summarises_the_project_state(world: World, rules: RulesProvider) -> None:
    """'status' tells daemon, counts, what fails now and what passes, with ids."""
    answer = rules.answer("what's going on?")
    assert answer.kind == "status"
    assert answer.text.startswith("The daemon is not running; 11 runs recorded (7 failed)")
    assert f"- `pytest -q` ({world.ids['pytest_fail2']})" in answer.text
    assert f"Passing: `make lint` ({world.ids['lint_pass']})" in answer.text


def test_other_words_search_the_knowledge_base(world: World, rules: RulesProvider) -> None:
    """A question with no class keyword searches the knowledge base (stems included)."""
    answer = rules.answer("release tagging")
    assert answer.kind == "search"
    assert answer.cited_ids == (world.ids["kb_note"],)
    nothing = rules.answer("kubernetes helm")
    assert nothing.text.startswith("Nothing in the knowledge base matches *kubernetes helm*.")
    assert HOW_TO_ASK in nothing.text


def test_an_unintelligible_question_gets_the_state_and_how_to_ask(rules: RulesProvider) -> None:
    """A question the rules cannot classify still gets an answer: the state and how to ask."""
    answer = rules.answer("???")
    assert answer.kind == "help"
    assert "could not tell what you are asking" in answer.text
    assert "Failing now:" in answer.text and answer.text.endswith(HOW_TO_ASK)


def test_an_empty_store_is_answered_plainly(tmp_path: Path) -> None:
    """With nothing recorded and no git, every class still answers, without raising."""

    def no_git(*args: Any) -> Any:
        raise OSError("not a git repository")

    with Vigil(load_settings()) as vigil:
        ws = StoreWorkspace(
            log=vigil.log,
            knowledge=vigil.knowledge,
            history=vigil.history,
            git_log=no_git,
            git_diff=no_git,
            project_dir=tmp_path,
            log_dir=vigil.settings.log_dir,
            daemon_running=lambda: True,
        )
        rules = RulesProvider(ws)
        assert rules.answer("why did it fail?").text.startswith("No failed run is recorded yet")
        assert "Nothing is failing now." in rules.answer("status").text
        assert "The daemon is running" in rules.answer("status").text
        assert "No runs are recorded yet" in rules.answer("is it flaky?").text
        assert rules.answer("how do I fix it?").text.startswith("No failed run is recorded")
        assert rules.answer("what changed?").text.startswith("I am Vigil's rules provider")


def test_a_named_command_is_found_beyond_the_latest_few_failures(tmp_path: Path) -> None:
    """A question naming a failing command that is older than the few open failures the
    project state lists is answered about that command, not the latest failure."""
    from vigil.events.model import new_event

    with Vigil(load_settings()) as vigil:
        names = ["alpha-build", "beta", "gamma", "delta", "epsilon", "zeta"]
        for name in names:  # alpha-build first: the oldest of six
            data = {
                "command": name,
                "cwd": str(tmp_path),
                "exit_code": 1,
                "output_tail": f"{name}.py:3: error: boom in {name}\n",
            }
            vigil.publish_diagnosed(
                new_event("build.run.failed", data, clock=vigil.clock, source="t", subject=name)
            )
        rules = RulesProvider(vigil.workspace(tmp_path))
        assert "alpha-build" not in str(rules._state()["open_failures"])
        answer = rules.answer("why did `alpha-build` fail?").text
        assert answer.startswith("**`alpha-build` failed**") and "alpha-build.py" in answer


class BrokenWorkspace:
    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StorageError("state database vigil.db: disk I/O error")

        return fail


def test_a_store_that_cannot_be_read_still_gets_an_answer() -> None:
    """When every store read fails, the rules provider says so instead of raising."""
    rules = RulesProvider(BrokenWorkspace())  # type: ignore[arg-type]
    answer = rules.answer("why did pytest fail?")
    assert "StorageError: state database vigil.db: disk I/O error" in answer.text
    assert "I cannot read Vigil's state right now." in answer.text
    assert answer.text.endswith(HOW_TO_ASK)


# -- the Provider protocol -----------------------------------------------------------------------


async def test_it_is_a_local_provider_that_completes_and_streams(
    world: World, rules: RulesProvider
) -> None:
    """complete answers the last user message; stream yields the same text in a few chunks."""
    assert isinstance(rules, Provider) and rules.local
    assert (rules.name, rules.model) == ("rules", "rules-1")
    request = Request((Message("system", "ignored"), Message("user", "status")))
    response = await rules.complete(request)
    assert response.provider == "rules" and response.model == "rules-1"
    assert response.text == rules.answer("status").text
    assert response.usage.total == 0 and not response.tool_calls
    chunks = [chunk async for chunk in rules.stream(request)]
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 1 and "".join(texts) == response.text
    assert chunks[-1].response is not None and chunks[-1].response.text == response.text


async def test_through_the_agent_loop_it_answers_in_one_step_citing_its_ids(
    world: World, rules: RulesProvider
) -> None:
    """Driven by run_agent, rules answers at once and its inline ids become the citations."""
    result = await run_agent(rules, "how do I fix pytest?", build_tools(world.ws))
    assert result.steps == 1 and result.tool_calls == []
    assert world.ids["kb_fix"] in result.cited_ids and result.provider == "rules"


# -- schema requests (triage enrichment) ---------------------------------------------------------


def _diagnoses(world: World) -> list[dict[str, Any]]:
    real = [
        dict(world.vigil.log.get(world.ids[key]).data)
        for key in ("check_triage", "pytest_triage2", "npm_triage", "build_triage", "report_triage")
    ]
    return [
        *real,
        {},
        {"summary": "no known failure pattern was found in the output", "failures": []},
        {
            "summary": "1 failure (gcc)",
            "failures": [{"tool": "gcc", "message": "undefined reference to `main'"}],
            "known_fixes": [
                {"id": "kb_01ABCDEFGHJKMNPQRSTVWXYZ00", "title": "Link crt1 " * 60, "match": "text"}
            ],
        },
        {
            "failures": [
                {
                    "tool": "tsc",
                    "file": "src/app.ts",
                    "line": 12,
                    "error_type": "TS2322",
                    "message": "Type 'string' is not assignable to type 'number'. " * 10,
                }
            ],
            "suspects": [{"path": "src/types.ts", "reasons": ["named by the failure"]}],
            "history": {"seen": 4, "flaky": True},
        },
        {
            "failures": [{"tool": "go", "test": "TestParse/ünïcødé", "message": "got 1 want 2 ✗"}],
            "history": {"seen": 2, "flaky": False},
        },
    ]


async def test_enrichment_answers_are_valid_json_for_ten_diagnoses(
    world: World, rules: RulesProvider
) -> None:
    """For the enricher's own prompt and schema, every answer parses, validates and is worded."""
    diagnoses = _diagnoses(world)
    assert len(diagnoses) == 10
    for diagnosis in diagnoses:
        request = enricher.request_for(diagnosis, time.monotonic() + 3)
        response = await rules.complete(request)
        value = json.loads(response.text)
        assert schema_errors(value, enricher.SCHEMA) == [], (diagnosis, value)
        enrichment = enricher.validate(response)
        assert enrichment["explanation"] and enrichment["next_step"]
    check, pytest_, *_ = diagnoses
    words = enricher.validate(await rules.complete(enricher.request_for(check, 0)))
    assert "calc.py, the only file changed" in words["explanation"]
    assert words["next_step"].startswith("Review that change to calc.py: `git show ")
    words = enricher.validate(await rules.complete(enricher.request_for(pytest_, 0)))
    fix = world.ids["kb_fix"]
    assert words["explanation"].startswith(f"This exact failure was fixed before: {fix}")
    assert "Make add() return the sum" not in words["explanation"]
    assert words["next_step"].startswith(f'Apply fix {fix} ("Make add() return the sum") again')
    flaky = enricher.validate(await rules.complete(enricher.request_for(diagnoses[8], 0)))
    assert "flaky" in flaky["explanation"] and len(flaky["explanation"]) <= 300


_BOOM = '{"failures": [{"tool": "python", "file": "boom.py", "line": 3, "message": "x"}]}'


@pytest.mark.parametrize(
    "prompt",
    [
        f"Diagnosis (JSON):\n{_BOOM}",
        f"```json\n{_BOOM}\n```",
        _BOOM,
        f'Please explain {{"diagnosis": {_BOOM}}} thanks',
    ],
)
def test_the_diagnosis_is_found_in_every_documented_prompt_shape(
    rules: RulesProvider, prompt: str
) -> None:
    """The marker line, a fenced block, bare JSON and a wrapped diagnosis are all read."""
    value = rules.structured(prompt, enricher.SCHEMA)
    assert "boom.py:3" in value["explanation"] and "boom.py:3" in value["next_step"]


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "properties": {"summary": {"type": "string", "minLength": 3}},
            "required": ["summary"],
        },
        {
            "type": "object",
            "properties": {
                "severity": {"enum": ["low", "high"]},
                "score": {"type": "integer", "minimum": 1},
                "ok": {"type": "boolean"},
            },
            "required": ["severity", "score", "ok"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "steps": {
                    "type": "array",
                    "minItems": 2,
                    "items": {"type": "string", "maxLength": 5},
                }
            },
            "required": ["steps"],
        },
        {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"answer": {"type": "string"}},
                    "required": ["answer"],
                },
                {"type": "null"},
            ]
        },
        {
            "type": "object",
            "properties": {
                "meta": {
                    "type": "object",
                    "properties": {
                        "kind": {"const": "note"},
                        "weight": {"type": "number", "maximum": -1},
                    },
                    "required": ["kind", "weight"],
                }
            },
            "required": ["meta"],
        },
        {"type": "string", "maxLength": 10},
    ],
)
async def test_other_schemas_get_a_minimal_valid_instance(
    rules: RulesProvider, schema: dict[str, Any]
) -> None:
    """Any schema gets a value that satisfies it: required keys, types, enums, lengths."""
    request = Request((Message("user", "Diagnosis (JSON):\n{}"),), schema=schema)
    value = json.loads((await rules.complete(request)).text)
    assert schema_errors(value, schema) == []


def test_instance_fills_text_fields_by_name() -> None:
    """Text fields named like an explanation or a next step get those words."""
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "next_action": {"type": "string"}},
        "required": ["summary", "next_action"],
    }
    assert instance(schema, {"explanation": "E", "next_step": "N"}) == {
        "summary": "E",
        "next_action": "N",
    }


# -- never raises --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(question=st.text(max_size=200))
def test_random_questions_never_raise(rules: RulesProvider, question: str) -> None:
    """Whatever the text, the rules provider answers with some Markdown."""
    answer = rules.answer(question)
    assert answer.text.strip()


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "summary",
                            "failures",
                            "known_fixes",
                            "suspects",
                            "history",
                            "file",
                            "line",
                            "message",
                            "id",
                            "title",
                            "path",
                            "reasons",
                            "seen",
                            "flaky",
                            "tool",
                        ]
                    ),
                    inner,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ).map(lambda value: "Diagnosis (JSON):\n" + json.dumps(value)),
    )
)
def test_random_enrichment_prompts_always_give_valid_json(
    rules: RulesProvider, prompt: str
) -> None:
    """Whatever the prompt holds, the enrichment answer is valid against the schema."""
    request = Request((Message("user", prompt),), schema=enricher.SCHEMA)
    value = json.loads(rules.respond(request))
    assert schema_errors(value, enricher.SCHEMA) == []
    assert value["explanation"].strip() and value["next_step"].strip()
