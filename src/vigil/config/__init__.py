"""Settings: one frozen object, loaded once by the composition root.

Precedence, lowest first: defaults < ``$VIGIL_HOME/config.toml`` < ``VIGIL_*`` environment
variables < command-line flags (passed in as ``overrides``). This is the only module that reads
the environment. Secrets are never stored here: a config names the *variable* that holds a key.

A key or section of ``config.toml`` that nothing reads is not an error (an older or newer config
still starts), but it is almost always a typo: each one becomes a line in ``Settings.warnings``
naming it and the closest known one, which the CLI prints on stderr and the daemon logs. What is
known is :data:`SECTIONS` (plus every key of :data:`_TOML_FIELDS`): a feature that reads a
section of its own adds one line there, and reads its raw table with ``settings.table(name)``.

Every command loads the settings, so this module stays cheap to import (``vigil events`` starts
at the speed of Python): no dataclasses (they import ``inspect``), ``tomllib`` only when a config
file exists, ``difflib`` only for a typo.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vigil.errors import ConfigError

TYPE_CHECKING = False  # spelt out: every command imports this module, none needs ``typing``
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, NoReturn

    from vigil.config.attention import AttentionSettings

DEFAULT_PORT = 7878
# The steps that may use a model: triage enrichment and `vigil ask`.
REASONING_STEPS = ("enrich", "ask", "logs_summary")


def default_home() -> Path:
    """``$VIGIL_HOME`` or ``~/.local/share/vigil``."""
    env = os.environ.get("VIGIL_HOME")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME")
    base = Path(data).expanduser() if data else Path.home() / ".local" / "share"
    return base / "vigil"


class Settings:
    """Everything configurable, with defaults that work on a fresh machine.

    Frozen: ``settings.replace(name=value)`` gives a changed copy. Fields are the annotated
    class attributes below; the class attribute is the default.
    """

    home: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    log_level: str = "info"
    # How much of a command's output `vigil run` keeps in its event (bytes of the tail).
    output_tail_bytes: int = 64 * 1024
    # Lines of output that triage parses at most (the tail is what matters).
    triage_max_lines: int = 20_000
    # How many known fixes and suspects triage reports at most.
    triage_max_fixes: int = 5
    triage_max_suspects: int = 10
    # Log rotation: the log file's size limit and how many rotated files are kept.
    log_max_bytes: int = 50 * 1024 * 1024
    log_keep: int = 5
    # How long one git command may take before git counts as failing (seconds).
    git_timeout_s: float = 5.0
    # How long `vigil run` waits for git's facts after the command ends; then it goes on without
    # them (the diagnosis says so) and counts a failure on git's breaker.
    git_wait_s: float = 0.5
    # `vigil run`: wait for the model's explanation of a failure before returning the prompt
    # (`vigil run --explain` does it for one run). Off: the prompt comes back at once.
    run_explain: bool = False
    # How often the daemon proves it can still write its database (seconds).
    storage_probe_s: float = 5.0
    # Raw provider tables from config.toml, validated by the reasoning layer.
    providers: tuple[Mapping[str, Any], ...] = ()
    # Forbid providers that are not on this machine (loopback or in-process).
    local_only: bool = False
    # The steps ("enrich", "ask") whose chain includes the embedded model when no providers are
    # configured; None: the measured default (vigil.app.reasoning.DEFAULT_EMBEDDED_STEPS).
    embedded_steps: tuple[str, ...] | None = None
    # `vigil ask`: the overall deadline; triage enrichment: its deadline after the failure.
    ask_deadline_s: float = 30.0
    enrich_deadline_s: float = 3.0
    # Hearing (HTTP API, webhooks, files, probes, chores); see _hearing() below.
    allow_remote: bool = False  # bind beyond loopback (then reads need the token too)
    api_max_body_bytes: int = 1024 * 1024
    api_queue: int = 2048  # requests waiting to be stored before the API answers 503
    github_secret_env: str = "VIGIL_GITHUB_SECRET"
    github_token_env: str = "VIGIL_GITHUB_TOKEN"
    github_api_url: str = "https://api.github.com"
    watch_debounce_ms: int = 200
    watch_paths: tuple[Mapping[str, Any], ...] = ()
    probes: tuple[Mapping[str, Any], ...] = ()
    chores: Mapping[str, Any] = {}
    # `[[logs.follow]]` tables (path = "...", or kind = "journald"), validated by vigil.app.
    log_follow: tuple[Mapping[str, Any], ...] = ()
    # Memory: semantic recall "auto" (on when the `semantic` extra is installed) or "off"; the
    # idle gap that ends a session (hours); days after which a never-confirmed candidate is
    # retired; the back-tested hit rate and the evidence a prediction needs to be mentioned.
    memory_semantic: str = "auto"
    idle_gap_h: float = 2.0
    retire_candidates_days: int = 60
    predict_min_hit_rate: float = 0.5
    predict_min_evidence: int = 5
    # Voice ([voice]): the wake phrase ("" = the default chosen by measurement, see
    # vigil.sources.voice.grammar), the voice that speaks ("" = espeak-ng's en-us; "piper" with
    # the voice-piper extra), the command "run the tests" proposes ("" = the last `vigil run`).
    voice_wake_phrase: str = ""
    voice_name: str = ""
    voice_test_command: str = ""
    # [attention], parsed on first use (``settings.attention``): see vigil.config.attention.
    attention_rules: Any = None
    # `[control]` from config.toml, raw: validated by vigil.guard.policy.PolicyConfig.
    control: Mapping[str, Any] = {}
    # The parsed config.toml, for features that read a section of their own (``table``).
    document: Mapping[str, Any] = {}
    # One line per key or section of config.toml that nothing reads (see the module docstring).
    warnings: tuple[str, ...] = ()

    def __init__(self, home: Path, **values: Any) -> None:
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise TypeError(f"Settings has no field {unknown[0]!r}")
        object.__setattr__(self, "home", home)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Settings are frozen: use settings.replace({name}=...)")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Settings are frozen")

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied."""
        return Settings(**{**self.values(), **changes})

    def values(self) -> dict[str, Any]:
        """Every field by name."""
        return {name: getattr(self, name) for name in FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.values() == other.values()

    __hash__ = None  # type: ignore[assignment]  # holds tables: not hashable, like its dicts

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values().items() if k != "document")
        return f"Settings({shown})"

    def table(self, name: str) -> Any:
        """The raw value of a (dotted) section of config.toml, ``None`` when absent:
        ``settings.table("logs.follow")`` is the list of ``[[logs.follow]]`` tables."""
        value: Any = self.document
        for part in name.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    @property
    def attention(self) -> AttentionSettings:
        """``[attention]``, validated on first use (a mistake there is one clear line from the
        commands that need it, not from every command)."""
        if self.attention_rules is None:
            from vigil.config.attention import attention_settings

            object.__setattr__(self, "attention_rules", attention_settings(self.document))
        rules: AttentionSettings = self.attention_rules
        return rules

    @property
    def db_path(self) -> Path:
        return self.home / "vigil.db"

    @property
    def config_path(self) -> Path:
        return self.home / "config.toml"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"


FIELDS: dict[str, str] = dict(Settings.__annotations__)
"""Field name -> its type, as written (``"int"``, ``"float"``...)."""

_ENV_FIELDS = {
    "VIGIL_GIT_TIMEOUT_S": "git_timeout_s",
    "VIGIL_GIT_WAIT_S": "git_wait_s",
    "VIGIL_STORAGE_PROBE_S": "storage_probe_s",
    "VIGIL_PORT": "port",
    "VIGIL_HOST": "host",
    "VIGIL_LOG_LEVEL": "log_level",
    "VIGIL_OUTPUT_TAIL_BYTES": "output_tail_bytes",
}

_TOML_FIELDS = {
    ("logs", "max_bytes"): "log_max_bytes",
    ("logs", "keep"): "log_keep",
    ("run", "git_timeout_s"): "git_timeout_s",
    ("run", "git_wait_s"): "git_wait_s",
    ("run", "explain"): "run_explain",
    ("daemon", "storage_probe_s"): "storage_probe_s",
    ("daemon", "port"): "port",
    ("daemon", "log_level"): "log_level",
    ("run", "output_tail_bytes"): "output_tail_bytes",
    ("triage", "max_lines"): "triage_max_lines",
    ("triage", "max_fixes"): "triage_max_fixes",
    ("triage", "max_suspects"): "triage_max_suspects",
    ("daemon", "host"): "host",
    ("api", "max_body_bytes"): "api_max_body_bytes",
    ("api", "queue"): "api_queue",
    ("watch", "debounce_ms"): "watch_debounce_ms",
    ("memory", "semantic"): "memory_semantic",
    ("memory", "idle_gap_h"): "idle_gap_h",
    ("memory", "retire_candidates_days"): "retire_candidates_days",
    ("memory", "predict_min_hit_rate"): "predict_min_hit_rate",
    ("memory", "predict_min_evidence"): "predict_min_evidence",
    ("voice", "wake_phrase"): "voice_wake_phrase",
    ("voice", "voice"): "voice_name",
    ("voice", "test_command"): "voice_test_command",
}

ATTENTION_KEYS = frozenset(
    {"clock", "timezone", "quiet_hours", "meetings", "idle", "grace", "cooldown", "cooldown_max"}
    | {"flap_window", "flap_count", "deadlines", "look_away", "stale", "channels"}
)
CHANNEL_KEYS = frozenset(
    {"kind", "enabled", "url", "url_env", "format", "token_env", "min_score", "max_per_hour"}
    | {"voice", "name"}
)

ANY_KEYS: frozenset[str] = frozenset({"*"})
"""The keys of a section that its feature checks itself (``[[reasoning.providers]]``)."""

SECTIONS: dict[str, frozenset[str]] = {
    # Section (dotted for a nested one; for ``[[an.array]]``, the keys of one item) -> its keys,
    # besides the ones in _TOML_FIELDS. A feature that reads its own section adds one line here.
    "reasoning": frozenset(
        {"providers", "local_only", "ask_deadline_s", "enrich_deadline_s", "embedded_steps"}
    ),
    "reasoning.providers": ANY_KEYS,  # each provider's keys: checked by the reasoning layer
    "attention": ATTENTION_KEYS,
    "attention.channels": CHANNEL_KEYS,
    "control": ANY_KEYS,  # checked by vigil.guard.policy.PolicyConfig
    "daemon": frozenset({"allow_remote"}),
    "hooks.github": frozenset({"secret_env", "token_env", "api_url"}),
    "watch.paths": ANY_KEYS,  # checked by vigil.sources.files
    "probes": ANY_KEYS,  # each probe's keys: checked by vigil.sources.probes
    "chores": ANY_KEYS,  # checked by the chores' scheduler
    "logs.follow": ANY_KEYS,  # each follower's keys: checked by vigil.app.logfollow
}


def known_keys() -> dict[str, frozenset[str]]:
    """Every known section and its keys: :data:`SECTIONS` plus :data:`_TOML_FIELDS`."""
    known = dict(SECTIONS)
    for section, key in _TOML_FIELDS:
        known[section] = known.get(section, frozenset()) | {key}
    for path in list(known):  # ``[hooks.github]`` makes ``hooks`` a known section too
        parts = path.split(".")
        for end in range(1, len(parts)):
            known.setdefault(".".join(parts[:end]), frozenset())
    return known


def config_warnings(document: Mapping[str, Any], origin: str) -> list[str]:
    """One line per key or section of ``document`` that is not known, with the closest known
    one (sections are checked wherever they are known, keys inside them too)."""
    known = known_keys()
    found: list[str] = []

    def check(section: str, table: Mapping[str, Any]) -> None:
        keys = known.get(section, frozenset())
        if keys is ANY_KEYS:
            return
        for key, value in table.items():
            path = f"{section}.{key}" if section else key
            if path in known:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        check(path, item)
            elif key not in keys:
                found.append(_unknown(origin, section, key, value, known))

    check("", document)
    return found


def _unknown(
    origin: str, section: str, key: str, value: object, known: Mapping[str, frozenset[str]]
) -> str:
    import difflib

    if section:
        nested = [path.rsplit(".", 1)[1] for path in known if path.startswith(section + ".")]
        choices = sorted(known[section] | set(nested)) if section in known else nested
        what = f"unknown key {key!r} in [{section}]"
        match = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
        hint = f"did you mean {match[0]}?" if match else f"known: {', '.join(choices) or 'none'}"
        return f"{origin}: {what} ({hint})"
    if isinstance(value, dict | list):
        sections = sorted(path for path in known if "." not in path)
        match = difflib.get_close_matches(key, sections, n=1, cutoff=0.6)
        hint = f"did you mean [{match[0]}]?" if match else f"known: {', '.join(sections)}"
        return f"{origin}: unknown section [{key}] ({hint})"
    keys = {f"[{s}] {k}": k for s, ks in known.items() for k in ks if ks is not ANY_KEYS}
    by_key = difflib.get_close_matches(key, sorted(set(keys.values())), n=1, cutoff=0.6)
    where = [name for name, k in sorted(keys.items()) if by_key and k == by_key[0]]
    hint = f"did you mean {where[0]}?" if where else "keys belong in a [section]"
    return f"{origin}: unknown key {key!r} outside any section ({hint})"


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = FIELDS.get(name)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{origin}: {name} must be true or false, got {value!r}")
    if kind == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be an integer, got {value!r}") from None
        if number < 0:
            raise ConfigError(f"{origin}: {name} must not be negative, got {number}")
        return number
    if kind == "float":
        try:
            real = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be a number, got {value!r}") from None
        if not real > 0:
            raise ConfigError(f"{origin}: {name} must be positive, got {real}")
        return real
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {name} must be a string, got {value!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    import tomllib  # only when there is a file: it compiles a few regular expressions

    try:
        with handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, the config file, the environment and ``overrides``."""
    environ = os.environ if env is None else env
    home_env = environ.get("VIGIL_HOME")
    home = Path(home_env).expanduser() if home_env else default_home()
    if overrides and overrides.get("home"):
        home = Path(overrides["home"]).expanduser()
    settings = Settings(home=home)
    document = _read_toml(settings.config_path)
    changes: dict[str, Any] = {}
    if document:
        changes["document"] = document
        changes["warnings"] = tuple(config_warnings(document, str(settings.config_path)))
    for (section, key), name in _TOML_FIELDS.items():
        table = document.get(section, {})
        if isinstance(table, dict) and key in table:
            changes[name] = _coerce(name, table[key], f"config.toml [{section}] {key}")
    reasoning = document.get("reasoning", {})
    if isinstance(reasoning, dict):
        providers = reasoning.get("providers", [])
        if not isinstance(providers, list) or not all(isinstance(p, dict) for p in providers):
            raise ConfigError("config.toml: [[reasoning.providers]] must be a list of tables")
        changes["providers"] = tuple(providers)
        if "local_only" in reasoning:
            if not isinstance(reasoning["local_only"], bool):
                raise ConfigError("config.toml: [reasoning] local_only must be true or false")
            changes["local_only"] = reasoning["local_only"]
        if "embedded_steps" in reasoning:
            steps = reasoning["embedded_steps"]
            if not isinstance(steps, list) or not all(s in REASONING_STEPS for s in steps):
                raise ConfigError(
                    "config.toml: [reasoning] embedded_steps must be a list of steps from "
                    f"{', '.join(map(repr, REASONING_STEPS))}, got {steps!r}"
                )
            changes["embedded_steps"] = tuple(dict.fromkeys(steps))
        for key in ("ask_deadline_s", "enrich_deadline_s"):
            if key in reasoning:
                changes[key] = _coerce(key, reasoning[key], f"config.toml [reasoning] {key}")
    control = document.get("control", {})
    if not isinstance(control, dict):
        raise ConfigError("config.toml: [control] must be a table")
    changes["control"] = control
    local_env = environ.get("VIGIL_LOCAL_ONLY", "").strip().lower()
    if local_env:
        if local_env not in ("1", "true", "yes", "0", "false", "no"):
            raise ConfigError(f"VIGIL_LOCAL_ONLY must be 1 or 0, got {local_env!r}")
        changes["local_only"] = local_env in ("1", "true", "yes")
    logs = document.get("logs", {})
    if isinstance(logs, dict) and "follow" in logs:
        follow = logs["follow"]
        if not isinstance(follow, list) or not all(isinstance(f, dict) for f in follow):
            raise ConfigError("config.toml: [[logs.follow]] must be a list of tables")
        changes["log_follow"] = tuple(follow)
    _hearing(document, environ, changes)
    for variable, name in _ENV_FIELDS.items():
        if environ.get(variable):
            changes[name] = _coerce(name, environ[variable], variable)
    for name, value in (overrides or {}).items():
        if name == "allow_remote":
            changes[name] = bool(value) or changes.get(name, False)
        elif name != "home" and value is not None:
            changes[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    host = changes.get("host", settings.host)
    if not (host == "localhost" or host == "::1" or host.startswith("127.")) and not changes.get(
        "allow_remote"
    ):
        raise ConfigError(
            f"host must be a loopback address (127.0.0.1 or ::1), got {host!r}; to serve "
            "other machines pass --allow-remote (every request then needs a token)"
        )
    if changes.get("memory_semantic", "auto") not in ("auto", "off"):
        raise ConfigError(
            f'config.toml [memory] semantic must be "auto" or "off",'
            f" got {changes['memory_semantic']!r}"
        )
    if not 0.0 < changes.get("predict_min_hit_rate", 0.5) <= 1.0:
        raise ConfigError("config.toml [memory] predict_min_hit_rate must be in (0, 1]")
    if "port" in changes and not 0 <= changes["port"] <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {changes['port']}")
    return settings.replace(**changes)


def _tables(document: Mapping[str, Any], path: tuple[str, ...], what: str) -> tuple[Any, ...]:
    """An array of tables (``[[probes]]``, ``[[watch.paths]]``), checked for shape only."""
    value: Any = document
    for key in path:
        value = value.get(key, {}) if isinstance(value, dict) else {}
    if value == {}:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"config.toml: {what} must be a list of tables")
    return tuple(value)


def _hearing(
    document: Mapping[str, Any], environ: Mapping[str, str], changes: dict[str, Any]
) -> None:
    """The HTTP API's, webhooks', watchers', probes' and chores' settings (issue 8).

    Raw tables (``[[watch.paths]]``, ``[[probes]]``, ``[chores]``) are validated by the parts
    that use them, like providers are.
    """
    daemon = document.get("daemon", {})
    if isinstance(daemon, dict) and "allow_remote" in daemon:
        if not isinstance(daemon["allow_remote"], bool):
            raise ConfigError("config.toml: [daemon] allow_remote must be true or false")
        changes["allow_remote"] = daemon["allow_remote"]
    remote_env = environ.get("VIGIL_ALLOW_REMOTE", "").strip().lower()
    if remote_env:
        if remote_env not in ("1", "true", "yes", "0", "false", "no"):
            raise ConfigError(f"VIGIL_ALLOW_REMOTE must be 1 or 0, got {remote_env!r}")
        changes["allow_remote"] = remote_env in ("1", "true", "yes")
    hooks = document.get("hooks", {})
    github = hooks.get("github", {}) if isinstance(hooks, dict) else {}
    if not isinstance(github, dict):
        raise ConfigError("config.toml: [hooks.github] must be a table")
    for key, name in (
        ("secret_env", "github_secret_env"),
        ("token_env", "github_token_env"),
        ("api_url", "github_api_url"),
    ):
        if key in github:
            changes[name] = _coerce(name, github[key], f"config.toml [hooks.github] {key}")
    changes["watch_paths"] = _tables(document, ("watch", "paths"), "[[watch.paths]]")
    changes["probes"] = _tables(document, ("probes",), "[[probes]]")
    chores = document.get("chores", {})
    if not isinstance(chores, dict):
        raise ConfigError("config.toml: [chores] must be a table")
    changes["chores"] = chores


def environment() -> dict[str, str]:
    """A copy of this process's environment (what an executed action starts from, before the
    secrets are taken out of it)."""
    return dict(os.environ)


def user_home() -> Path:
    """The home directory of the user Vigil runs as (the policy never lets an action touch its
    dotfiles)."""
    return Path.home()


def systemd_env(environ: Mapping[str, str] | None = None) -> tuple[str | None, float | None]:
    """``NOTIFY_SOCKET`` and the watchdog interval in seconds (``WATCHDOG_USEC``) when systemd
    started this process and asked for them; ``(None, None)`` otherwise."""
    env = os.environ if environ is None else environ
    socket_path = env.get("NOTIFY_SOCKET") or None
    watchdog: float | None = None
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
        watchdog = int(usec) / 1_000_000
    return socket_path, watchdog


# --- secrets in the environment -----------------------------------------------------------------
# Which variables hold secrets, for redaction (``vigil.storage.redact``). A variable is secret
# when its NAME contains KEY, TOKEN, SECRET, PASSWORD, PASSWD, PASSPHRASE, CREDENTIAL or PRIVATE,
# AUTH but not AUTHOR/AUTHORITY (GIT_AUTHOR_NAME, XAUTHORITY are not secrets), or has PASS, PAT,
# PW or DSN as a whole ``_``-separated part (DB_PASS, GH_PAT, SENTRY_DSN). Names are matched
# case-insensitively. Over-matching a name costs little (its value gets hidden where it shows),
# so the list is broad; what keeps ordinary text intact is the VALUE filter: a value is ignored
# when it is shorter than 6 characters, a number (timeouts, ports, TTLs: hiding them would scramble
# every timing and line number in stored output), a word like true/false/none/enabled, or the
# path of a file or directory that exists (SSH_AUTH_SOCK, GOOGLE_APPLICATION_CREDENTIALS: the
# secret is in the file, and hiding a path such as a home directory would hide it in every
# traceback). Anything else counts, including URLs, which often carry credentials.
# (Patterns are compiled on first use, by ``re``'s cache: most commands never need them.)
_SECRET_NAME = (
    r"(?i)KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH(?!OR)"
    r"|(?:^|_)(?:PASS|PAT|PW|DSN)(?:_|$)"
)
_NOT_SECRET = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none"}
    | {"null", "nil", "undefined", "unset", "empty", "default", "auto"}
    | {"enabled", "disabled", "required", "optional"}
)
_NUMERIC = r"[+-]?\d+(?:\.\d*)?"
MIN_SECRET_LENGTH = 6


def _is_secret_value(value: str) -> bool:
    if (
        len(value) < MIN_SECRET_LENGTH
        or value.lower() in _NOT_SECRET
        or re.fullmatch(_NUMERIC, value)
    ):
        return False
    if value.startswith(("/", "~/", "./", "../")):
        try:
            return not Path(value).expanduser().exists()
        except (OSError, ValueError):
            return True
    return True


def secret_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The secret variables in ``environ`` (default: this process's), name -> stripped value."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name in sorted(env):
        value = env[name].strip()
        if re.search(_SECRET_NAME, name) and _is_secret_value(value):
            found[name] = value
    return found


def secret_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of the secret variables in ``environ``, each once (see ``secret_variables``)."""
    return tuple(dict.fromkeys(secret_variables(environ).values()))


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the environment variable ``name`` (a credential), or ``None``.

    Credentials come only from the environment, named by the config (``api_key_env``); this is
    the one place that reads them, and the value is never stored or logged.
    """
    env = os.environ if environ is None else environ
    value = env.get(name)
    return value if value else None
