"""The policy: whether an action may run, checked when it is proposed and again before it runs.

``Policy.judge(action, place)`` is the static part (commands, paths, hosts, units, webhooks; see
:mod:`vigil.guard.commands` and :mod:`vigil.guard.paths`); :meth:`Policy.limits` adds what
depends on history: executions per action kind per hour, executions per day, and proposals by a
model per day (the model's spend on actions). What the policy cannot evaluate is denied, and the
reason is recorded: a decision always says why.

Auto-approval: only for action kinds a person listed in ``[control] auto_approve``, only when the
policy allows the action and its risk is ``low``.

Configuration (``[control]`` in ``config.toml``; every key optional)::

    expires = "30m"              # how long a proposal waits for a person (then: expired)
    auto_approve = ["rerun"]     # kinds approved at once when allowed and low-risk
    allow_commands = ["pip install", "./deploy.sh"]   # command prefixes a person allows
    deny_commands = ["make deploy"]
    allow_paths = ["/srv/scratch"]                    # outside the project, still allowed
    allow_hosts = ["hooks.slack.com", "*.example.com"]
    units = ["myapp.service"]    # systemd units restart_unit may restart
    cache_dirs = ["out"]         # more directory names clear_cache may empty
    max_per_hour = 30            # executions of one action kind per hour
    daily_executions = 200
    daily_model_proposals = 50
    timeout_s = 600              # bounds of one execution
    memory_mb = 4096
    cpu_s = 600
    output_mb = 16
    max_processes = 256
    run_as = "nobody"            # the user actions run as when Vigil itself runs as root

    [control.webhooks]
    issues = "https://hooks.example.com/vigil"        # open_issue posts here
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError
from vigil.guard import action as kinds
from vigil.guard.action import Action
from vigil.guard.commands import RISK_ORDER, CommandRules, Verdict, judge_argv
from vigil.guard.paths import Place, judge_path, judge_url

DEFAULT_CACHE_DIRS = frozenset(
    {".pytest_cache", "__pycache__", ".mypy_cache", ".ruff_cache", ".cache", ".tox", ".nox"}
    | {"build", "dist", "target", ".gradle", ".next", ".parcel-cache", ".turbo", "htmlcov"}
)
_UNITS = re.compile(r"^[A-Za-z0-9_.@:-]+\.(service|socket|timer|target|path)$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")


def parse_duration(text: str | float | int, what: str = "duration") -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``."""
    from vigil.errors import UsageError

    if isinstance(text, bool):
        raise UsageError(f"not a {what}: {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text).lower())
        if not match:
            raise UsageError(f"not a {what}: {text!r} (use 90s, 30m, 2h or 1d)")
        seconds = (
            float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]
        )
    if not seconds > 0:
        raise UsageError(f"a {what} must be positive, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one execution may use."""

    timeout_s: float = 600.0
    memory_mb: int = 4096
    cpu_s: int = 600
    output_bytes: int = 16 * 1024 * 1024
    tail_bytes: int = 64 * 1024
    max_processes: int = 256
    file_mb: int = 2048
    run_as: str = "nobody"
    process_guard: str = "auto"  # auto | rlimit | cgroup | setuid


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """``[control]`` from config.toml, validated."""

    expires_s: float = 1800.0
    auto_approve: tuple[str, ...] = ()
    allow_commands: tuple[tuple[str, ...], ...] = ()
    deny_commands: tuple[tuple[str, ...], ...] = ()
    allow_paths: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    cache_dirs: frozenset[str] = DEFAULT_CACHE_DIRS
    webhooks: Mapping[str, str] = field(default_factory=dict)
    max_per_hour: int = 30
    daily_executions: int = 200
    daily_model_proposals: int = 50
    bounds: Bounds = field(default_factory=Bounds)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> PolicyConfig:
        """Validate a ``[control]`` table; a :class:`ConfigError` names the bad key."""

        def strings(key: str) -> tuple[str, ...]:
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"config.toml: [control] {key} must be a list of strings")
            return tuple(value)

        def number(key: str, default: float, kind: type = int) -> Any:
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"config.toml: [control] {key} must be a positive number")
            return kind(value)

        known = {
            "expires", "auto_approve", "allow_commands", "deny_commands", "allow_paths",
            "allow_hosts", "units", "cache_dirs", "webhooks", "max_per_hour", "daily_executions",
            "daily_model_proposals", "timeout_s", "memory_mb", "cpu_s", "output_mb",
            "max_processes", "run_as", "process_guard",
        }  # fmt: skip
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"config.toml: [control] has an unknown key {unknown[0]!r}")
        try:
            expires = parse_duration(table.get("expires", 1800), "[control] expires")
        except Exception as exc:  # noqa: BLE001 - re-raised as a config error
            raise ConfigError(f"config.toml: {exc}") from None
        auto = strings("auto_approve")
        for kind in auto:
            if kind not in kinds.KINDS:
                raise ConfigError(f"config.toml: [control] auto_approve: unknown action {kind!r}")
        try:
            allow = tuple(tuple(shlex.split(c)) for c in strings("allow_commands"))
            deny = tuple(tuple(shlex.split(c)) for c in strings("deny_commands"))
        except ValueError as exc:
            raise ConfigError(f"config.toml: [control] commands: {exc}") from None
        units = strings("units")
        for unit in units:
            if not _UNITS.match(unit):
                raise ConfigError(f"config.toml: [control] units: not a unit name: {unit!r}")
        hooks = table.get("webhooks", {})
        if not isinstance(hooks, Mapping) or not all(
            isinstance(v, str) and v.startswith(("https://", "http://")) for v in hooks.values()
        ):
            raise ConfigError("config.toml: [control.webhooks] must map names to http(s) URLs")
        guard = table.get("process_guard", "auto")
        if guard not in ("auto", "rlimit", "cgroup", "setuid"):
            raise ConfigError("config.toml: [control] process_guard: auto|rlimit|cgroup|setuid")
        run_as = table.get("run_as", "nobody")
        if not isinstance(run_as, str) or not run_as:
            raise ConfigError("config.toml: [control] run_as must be a user name")
        bounds = Bounds(
            timeout_s=number("timeout_s", 600.0, float),
            memory_mb=number("memory_mb", 4096),
            cpu_s=number("cpu_s", 600),
            output_bytes=int(number("output_mb", 16, float) * 1024 * 1024),
            max_processes=number("max_processes", 256),
            run_as=run_as,
            process_guard=guard,
        )
        return cls(
            expires_s=expires,
            auto_approve=auto,
            allow_commands=allow,
            deny_commands=deny,
            allow_paths=strings("allow_paths"),
            allow_hosts=strings("allow_hosts"),
            units=units,
            cache_dirs=DEFAULT_CACHE_DIRS | set(strings("cache_dirs")),
            webhooks=dict(hooks),
            max_per_hour=number("max_per_hour", 30),
            daily_executions=number("daily_executions", 200),
            daily_model_proposals=number("daily_model_proposals", 50),
            bounds=bounds,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy said about one action, at one stage (``proposal`` or ``execution``)."""

    allowed: bool
    risk: str
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    stage: str
    checked_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "allow" if self.allowed else "deny",
            "risk": self.risk,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "stage": self.stage,
            "checked_at": self.checked_at,
        }

    def summary(self) -> str:
        if self.allowed:
            return f"allowed ({self.risk} risk)"
        return "denied: " + "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class Usage:
    """What the store counted, for rate limits and budgets."""

    kind_last_hour: int = 0
    executions_today: int = 0
    model_proposals_today: int = 0


class Policy:
    """Judges actions against a :class:`PolicyConfig`; pure (no clock, no store)."""

    def __init__(self, config: PolicyConfig, home: Path) -> None:
        self.config = config
        self.home = home
        self.rules = CommandRules(
            allow=config.allow_commands,
            deny=config.deny_commands,
            allow_hosts=config.allow_hosts,
        )

    def place(self, cwd: str) -> Place:
        return Place.of(cwd, self.home, self.config.allow_paths)

    def judge(self, action: Action, stage: str = "proposal", checked_at: str = "") -> Decision:
        """The static judgement; anything unexpected while judging is a denial (fail closed)."""
        try:
            verdict = self._judge(action)
        except Exception as exc:  # noqa: BLE001 - fail closed: the policy could not decide
            verdict = Verdict(risk="high").deny(
                f"the policy could not evaluate this action ({type(exc).__name__}: {exc})"
            )
        if action.kind in (kinds.RUN_COMMAND, kinds.RERUN):
            risk = verdict.risk  # what the command does decides (see vigil.guard.commands)
        else:
            higher = RISK_ORDER[action.risk] > RISK_ORDER[verdict.risk]
            risk = action.risk if higher else verdict.risk
        return Decision(
            allowed=verdict.allowed,
            risk=risk,
            reasons=tuple(verdict.reasons),
            notes=tuple(verdict.notes),
            stage=stage,
            checked_at=checked_at,
        )

    def _judge(self, action: Action) -> Verdict:
        cwd = action.cwd
        if not cwd or not Path(cwd).is_dir():
            return Verdict(risk="high").deny(f"the directory {cwd!r} does not exist")
        place = self.place(cwd)
        argv = action.argv
        if action.kind in (kinds.RUN_COMMAND, kinds.RERUN) and argv is not None:
            return judge_argv(argv, place, self.rules)
        verdict = Verdict(risk=action.risk)
        args = action.args
        if action.kind == kinds.RESTART_COMPONENT:
            name = str(args["component"])
            if name in ("control", "http"):
                verdict.deny(f"the component {name} cannot be restarted by an action it runs")
        elif action.kind == kinds.RESTART_UNIT:
            if args["unit"] not in self.config.units:
                verdict.deny(f"unit {args['unit']!r} is not listed in [control] units")
        elif action.kind == kinds.REVERT_FILE:
            reason = judge_path(str(args["path"]), place, write=True)
            if reason:
                verdict.deny(reason)
        elif action.kind == kinds.OPEN_ISSUE:
            url = self.config.webhooks.get(str(args["webhook"]))
            if url is None:
                verdict.deny(f"no webhook named {args['webhook']!r} in [control.webhooks]")
            else:
                reason = judge_url(url, self.config.allow_hosts)
                if reason:
                    verdict.deny(f"webhook {args['webhook']}: {reason}")
        elif action.kind == kinds.CLEAR_CACHE:
            path = str(args["path"])
            reason = judge_path(path, place, write=True)
            if reason:
                verdict.deny(reason)
            elif Path(path.rstrip("/")).name not in self.config.cache_dirs:
                verdict.deny(
                    f"{path!r} is not a cache directory (known: .pytest_cache, __pycache__,"
                    " build, ...; add names to [control] cache_dirs)"
                )
        else:
            verdict.deny(f"the policy has no rule for {action.kind}")
        return verdict

    def limits(self, action: Action, usage: Usage, *, proposer: str, stage: str) -> list[str]:
        """Why rate limits or budgets refuse ``action`` now (empty: within them)."""
        config = self.config
        reasons: list[str] = []
        if stage == "execution":
            if usage.kind_last_hour >= config.max_per_hour:
                reasons.append(
                    f"rate limit: {action.kind} ran {usage.kind_last_hour} times in the last hour"
                    f" (max {config.max_per_hour})"
                )
            if usage.executions_today >= config.daily_executions:
                reasons.append(
                    f"daily budget: {usage.executions_today} executions today"
                    f" (max {config.daily_executions})"
                )
        elif proposer.startswith("model") and usage.model_proposals_today >= (
            config.daily_model_proposals
        ):
            reasons.append(
                f"daily budget: models made {usage.model_proposals_today} proposals today"
                f" (max {config.daily_model_proposals})"
            )
        return reasons

    def auto_approves(self, action: Action, decision: Decision) -> bool:
        """Whether a person's config approves ``action`` at once."""
        return (
            decision.allowed and decision.risk == "low" and action.kind in self.config.auto_approve
        )
