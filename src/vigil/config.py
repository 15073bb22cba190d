"""Settings: one frozen object, loaded once by the composition root.

Precedence, lowest first: defaults < ``$VIGIL_HOME/config.toml`` < ``VIGIL_*`` environment
variables < command-line flags (passed in as ``overrides``). This is the only module that reads
the environment. Secrets are never stored here: a config names the *variable* that holds a key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError

DEFAULT_PORT = 7878


def default_home() -> Path:
    """``$VIGIL_HOME`` or ``~/.local/share/vigil``."""
    env = os.environ.get("VIGIL_HOME")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME")
    base = Path(data).expanduser() if data else Path.home() / ".local" / "share"
    return base / "vigil"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that work on a fresh machine."""

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
    # How often the daemon proves it can still write its database (seconds).
    storage_probe_s: float = 5.0
    # Raw provider tables from config.toml, validated by the reasoning layer.
    providers: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    # Forbid providers that are not on this machine (loopback or in-process).
    local_only: bool = False
    # `vigil ask`: the overall deadline; triage enrichment: its deadline after the failure.
    ask_deadline_s: float = 30.0
    enrich_deadline_s: float = 3.0
    # `[[logs.follow]]` tables (path = "...", or kind = "journald"), validated by vigil.app.
    log_follow: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

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


_ENV_FIELDS = {
    "VIGIL_GIT_TIMEOUT_S": "git_timeout_s",
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
    ("daemon", "storage_probe_s"): "storage_probe_s",
    ("daemon", "port"): "port",
    ("daemon", "log_level"): "log_level",
    ("run", "output_tail_bytes"): "output_tail_bytes",
    ("triage", "max_lines"): "triage_max_lines",
    ("triage", "max_fixes"): "triage_max_fixes",
    ("triage", "max_suspects"): "triage_max_suspects",
}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    if kinds.get(name) in ("int", int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be an integer, got {value!r}") from None
        if number < 0:
            raise ConfigError(f"{origin}: {name} must not be negative, got {number}")
        return number
    if kinds.get(name) in ("float", float):
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
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
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
        for key in ("ask_deadline_s", "enrich_deadline_s"):
            if key in reasoning:
                changes[key] = _coerce(key, reasoning[key], f"config.toml [reasoning] {key}")
    logs = document.get("logs", {})
    if isinstance(logs, dict) and "follow" in logs:
        follow = logs["follow"]
        if not isinstance(follow, list) or not all(isinstance(f, dict) for f in follow):
            raise ConfigError("config.toml: [[logs.follow]] must be a list of tables")
        changes["log_follow"] = tuple(follow)
    local_env = environ.get("VIGIL_LOCAL_ONLY", "").strip().lower()
    if local_env:
        if local_env not in ("1", "true", "yes", "0", "false", "no"):
            raise ConfigError(f"VIGIL_LOCAL_ONLY must be 1 or 0, got {local_env!r}")
        changes["local_only"] = local_env in ("1", "true", "yes")
    for variable, name in _ENV_FIELDS.items():
        if environ.get(variable):
            changes[name] = _coerce(name, environ[variable], variable)
    for name, value in (overrides or {}).items():
        if name != "home" and value is not None:
            changes[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    host = changes.get("host", settings.host)
    if not (host == "localhost" or host == "::1" or host.startswith("127.")):
        raise ConfigError(f"host must be a loopback address (127.0.0.1 or ::1), got {host!r}")
    if "port" in changes and not 0 <= changes["port"] <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {changes['port']}")
    return replace(settings, **changes)


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
_SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH(?!OR)"
    r"|(?:^|_)(?:PASS|PAT|PW|DSN)(?:_|$)",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none"}
    | {"null", "nil", "undefined", "unset", "empty", "default", "auto"}
    | {"enabled", "disabled", "required", "optional"}
)
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d*)?")
MIN_SECRET_LENGTH = 6


def _is_secret_value(value: str) -> bool:
    if len(value) < MIN_SECRET_LENGTH or value.lower() in _NOT_SECRET or _NUMERIC.fullmatch(value):
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
        if _SECRET_NAME.search(name) and _is_secret_value(value):
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
