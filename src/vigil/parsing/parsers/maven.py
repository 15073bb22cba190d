"""Maven: compiler errors, Surefire/Failsafe test failures, and the build's closing error.

* ``[ERROR] /abs/src/main/java/shop/Cart.java:[8,22] cannot find symbol`` (printed twice by
  Maven: in the COMPILATION ERROR section and again under ``Failed to execute goal``; the
  orchestrator's dedupe keeps one). The ``symbol:`` line after it joins the message.
* ``[ERROR] shop.CartTest.totalAddsPrices -- Time elapsed: 0.009 s <<< FAILURE!`` (Surefire 3;
  Surefire 2 prints ``totalAddsPrices(shop.CartTest)  Time elapsed: ...``), then the exception
  line and its stack: the test id, exception class, message and first user frame.
* ``[ERROR] 'dependencies.dependency.version' for x:y:jar is missing. @ line 20, column 17``
  (a POM Maven cannot build): the placing step points it at the pom.xml and its line.
* ``[ERROR] Failed to execute goal ...: message`` is a weak hit.
"""

from __future__ import annotations

import re

from vigil.parsing.parsers.context import Context, Hit
from vigil.parsing.parsers.javac import error_type_of, symbol_after
from vigil.parsing.parsers.jvm_stack import user_frame_of

_COMPILE = re.compile(
    r"^\[ERROR\] (?:file:/+)?(?P<file>/?[^\[\]]+?\.(?:java|kt|scala|groovy)):"
    r"\[(?P<line>\d+),(?P<col>\d+)\] (?P<message>.*)$"
)
_TEST = re.compile(
    r"^\[ERROR\] (?P<name>[\w.$\[\]]+?)(?:\((?P<owner>[\w.$]+)\))?\s+(?:--\s+)?Time elapsed: "
    r".*<<< (?P<kind>FAILURE|ERROR)!$"
)
_EXCEPTION = re.compile(r"^(?P<type>[\w.$]+?)(?::\s*(?P<message>.*))?$")
_POM = re.compile(
    r"^\[(?:ERROR|FATAL)\]\s+(?:\[(?:ERROR|FATAL)\]\s+)?(?P<message>\S.*? @ line \d+, column \d+)"
)
_POM_BANNERS = ("The build could not read", "Some problems were encountered while processing")
_GOAL = re.compile(r"^\[ERROR\] Failed to execute goal (?P<goal>\S+)?.*?: (?P<message>[^:]+.*)$")
_GOAL_ID = re.compile(r"^[\w.-]+:(?P<plugin>[\w.-]+):[\w.-]+:(?P<goal>[\w-]+)$")


def detect(ctx: Context) -> bool:
    """Maven's ``[ERROR]`` lines with its build banners, or mvn in the command hint."""
    if ctx.ran("mvn", "mvnw", "mvnd"):
        return True
    if not (ctx.has("ERR") and ctx.has("[ERROR]")):
        return False
    if ctx.has("BUILD FAILURE") or ctx.has("Failed to execute goal") or ctx.has("<<< FAILURE!"):
        return True
    return any(ctx.has(banner) for banner in _POM_BANNERS)


def parse(ctx: Context) -> list[Hit]:
    """Return compile errors and failed tests, plus the closing goal error as a weak hit."""
    return _compile_errors(ctx) + _test_failures(ctx) + _pom_problems(ctx) + _goal(ctx)


def _pom_problems(ctx: Context) -> list[Hit]:
    hits: list[Hit] = []
    for index, line in ctx.lines_with(" @ line "):
        match = _POM.match(line)
        if match is not None:
            hits.append(Hit(index, ctx.failure("maven", match["message"], error_type="pom")))
    return hits


def _compile_errors(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with(":["):
        match = _COMPILE.match(line)
        if match is None:
            continue
        message = match["message"].strip()
        if message == "cannot find symbol":
            symbol = symbol_after(lines, index)
            if symbol:
                message = f"{message}: {symbol}"
        failure = ctx.failure(
            "maven",
            message,
            file=match["file"],
            line=int(match["line"]),
            column=int(match["col"]),
            error_type=error_type_of(message),
        )
        hits.append(Hit(index, failure))
    return hits


def _test_failures(ctx: Context) -> list[Hit]:
    lines = ctx.lines
    hits: list[Hit] = []
    for index, line in ctx.lines_with("<<< "):
        match = _TEST.match(line)
        if match is None:
            continue
        name, owner = match["name"], match["owner"]
        test = f"{owner}.{name}" if owner else name
        error_type, message = None, match["kind"].lower()
        if index + 1 < len(lines):
            exception = _EXCEPTION.match(lines[index + 1].strip())
            if exception is not None:
                error_type = exception["type"].rsplit(".", 1)[-1]
                message = exception["message"] or error_type
        frame, _ = user_frame_of(lines, index + 2)
        failure = ctx.failure(
            "maven",
            message,
            file=frame.file if frame else None,
            line=frame.line if frame else None,
            test=test,
            error_type=error_type,
        )
        hits.append(Hit(index, failure, source=frame.source if frame else None))
    return hits


def _goal(ctx: Context) -> list[Hit]:
    hits: list[Hit] = []
    for index, line in ctx.lines_with("Failed to execute goal"):
        match = _GOAL.match(line)
        if match is None:
            continue
        goal = _GOAL_ID.match(match["goal"] or "")
        error_type = f"{goal['plugin']}:{goal['goal']}" if goal else None
        failure = ctx.failure("maven", match["message"], error_type=error_type)
        hits.append(Hit(index, failure, weak=True))
    return hits
