"""``vigil run -- CMD`` and ``vigil triage --log FILE``."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from vigil.cli.context import open_vigil
from vigil.cli.events import read_input
from vigil.cli.render import render_diagnosis, render_enrichment, render_pending
from vigil.errors import ConfigError, StorageError, UsageError
from vigil.sources.command import run_command


def cmd_run(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("vigil run: missing command (usage: vigil run -- CMD [ARGS...])")
    try:
        opened = open_vigil()
    except (StorageError, ConfigError) as exc:
        # Vigil's own trouble must never stop the user's command from running.
        print(f"vigil: warning: this run is not recorded: {exc}", file=sys.stderr)
        return run_command(argv, cwd=os.getcwd()).exit_code
    with opened as vigil:
        from vigil.app.memory import PredictionHint

        foresight = PredictionHint(vigil)  # on its own thread while the command runs
        report = vigil.run(argv)
        result = report.result
        if result.error:
            hint = ""
            if len(argv) == 1 and " " in argv[0]:
                hint = f" (for a shell command line: vigil run -- sh -c {shlex.quote(argv[0])})"
            print(f"vigil: {result.error}{hint}", file=sys.stderr)
        if report.not_recorded:
            print(
                f"vigil: warning: this run was not recorded: {report.not_recorded}", file=sys.stderr
            )
        seconds = result.duration_ms / 1000
        if result.error:
            pass  # the line above says it all; the run is recorded and triaged all the same
        elif report.diagnosis is not None and result.interrupted:
            print(
                f"── vigil ── interrupted (exit {result.exit_code}) after {seconds:.1f}s; "
                f"recorded as {report.finished.id}",
                file=sys.stderr,
            )
        elif report.diagnosis is not None:
            render_diagnosis(
                report.diagnosis.to_dict(),
                sys.stderr,
                header=f"failed (exit {result.exit_code}) in {seconds:.1f}s: "
                f"{report.finished.subject}",
                event_id=report.finished.id,
            )
            if report.triaged is not None:
                from vigil.app.enrich import enrich_run

                wait = bool(getattr(args, "explain", False)) or vigil.settings.run_explain
                enrichment = enrich_run(vigil, report.triaged, wait=wait)
                if enrichment.event is not None:
                    render_enrichment(enrichment.event.data, sys.stderr)
                elif enrichment.pending:
                    render_pending(enrichment.pending, report.finished.id, sys.stderr)
        for learned in report.learned:
            print(
                f"── vigil ── passed again; learned a candidate fix: {learned.data['title']} "
                f"({learned.data['entry_id']})",
                file=sys.stderr,
            )
        if not result.error and not report.not_recorded:
            wait = bool(getattr(args, "explain", False)) or vigil.settings.run_explain
            for line in foresight.lines(vigil, report.finished, wait=wait):
                print(line, file=sys.stderr)
    _leave_models_behind(result.exit_code)
    return result.exit_code


def _leave_models_behind(code: int) -> None:
    """End the process now when a local model is still generating for an enrichment nobody
    waits for any more (``--explain`` past its deadline): the prompt never waits for a model,
    and no model thread outlives the command (everything Vigil keeps is already committed)."""
    module = sys.modules.get("vigil.reasoning.providers.embedded")
    if module is None or not module.busy_workers():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_triage(args: argparse.Namespace) -> int:
    text = read_input(args.log, lenient=True)
    with open_vigil() as vigil:
        diagnosis = vigil.triage.diagnose(text, cwd=args.cwd or os.getcwd(), command=args.cmdline)
    if args.json:
        print(json.dumps(diagnosis.to_dict(), ensure_ascii=False))
    else:
        render_diagnosis(diagnosis.to_dict(), sys.stdout)
    return 0
