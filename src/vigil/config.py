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
    # How long `vigil run` waits for git's facts after the command ends; then it goes on without
    # them (the diagnosis says so) and counts a failure on git's breaker.
    git_wait_s: float = 0.5
    # `vigil run`: wait for the model's explanation of a failure before returning the prompt
    # (`vigil run --explain` does it for one run). Off: the prompt comes back at once.
    run_explain: bool = False
    # How often the daemon proves it can still write its database (seconds).
    storage_probe_s: float = 5.0
    # Raw provider tables from config.toml, validated by the reasoning layer.
    providers: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    # Forbid providers that are not on this machine (loopback or in-process).
    local_only: bool = False
    # `vigil ask`: the overall deadline; triage enrichment: its deadline after the failure.
    ask_deadline_s: float = 30.0
    enrich_deadline_s: float = 3.0
    # [attention]: the notification gates and channels (see AttentionSettings below).
    attention: AttentionSettings = field(default_factory=lambda: AttentionSettings())
    # `[control]` from config.toml, raw: validated by vigil.guard.policy.PolicyConfig.
    control: Mapping[str, Any] = field(default_factory=dict)

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
}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    if kinds.get(name) in ("bool", bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{origin}: {name} must be true or false, got {value!r}")
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
    control = document.get("control", {})
    if not isinstance(control, dict):
        raise ConfigError("config.toml: [control] must be a table")
    changes["control"] = control
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
    changes["attention"] = attention_settings(document, environ)
    host = changes.get("host", settings.host)
    if not (host == "localhost" or host == "::1" or host.startswith("127.")):
        raise ConfigError(f"host must be a loopback address (127.0.0.1 or ::1), got {host!r}")
    if "port" in changes and not 0 <= changes["port"] <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {changes['port']}")
    return replace(settings, **changes)


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


# --- [attention]: notification gates and channels (issue 16) ------------------------------------
# Self-contained: the table is validated here (one clear line per mistake), interpreted by
# ``vigil.notify``. Durations are seconds or text like "90s", "30m", "2h"; windows "HH:MM-HH:MM".

ATTENTION_KEYS = frozenset(
    {
        "clock",
        "timezone",
        "quiet_hours",
        "meetings",
        "idle",
        "grace",
        "cooldown",
        "cooldown_max",
        "flap_window",
        "flap_count",
        "deadlines",
        "look_away",
        "stale",
        "channels",
    }
)
CHANNEL_KINDS = ("terminal", "desktop", "spoken", "webhook", "dashboard")
CHANNEL_KEYS = frozenset(
    {
        "kind",
        "enabled",
        "url",
        "url_env",
        "format",
        "token_env",
        "min_score",
        "max_per_hour",
        "voice",
        "name",
    }
)
SEVERITIES = ("info", "warning", "error", "critical")
_WINDOW = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")


@dataclass(frozen=True)
class ChannelSettings:
    """One ``[[attention.channels]]`` table."""

    kind: str
    enabled: bool = True
    url: str | None = None
    url_env: str | None = None  # the variable holding the URL (a Slack webhook URL is a secret)
    format: str = "ntfy"  # webhook: "ntfy" or "slack"
    token_env: str | None = None  # webhook: a bearer token's variable (ntfy access tokens)
    min_score: float | None = None  # the significance this channel needs (None: its default)
    max_per_hour: int | None = None  # rate limit (None: the channel's default)
    voice: str | None = None  # spoken: an espeak-ng voice
    name: str | None = None


@dataclass(frozen=True)
class AttentionSettings:
    """``[attention]``: when Vigil may interrupt, and through which channels."""

    clock: str = "system"  # "events": every time rule runs on the handled event's own time
    timezone: str | None = None  # IANA name; None: this machine's local zone
    quiet_hours: str | None = None  # "22:00-07:30": notices lowered one level (critical stays)
    meetings: tuple[str, ...] = ()  # daily windows during which interruptions wait
    idle_s: float = 900.0  # no sign of the person for this long: away
    grace_s: float = 90.0  # a condition that can resolve (alert, probe) must last this long
    cooldown_s: float = 900.0  # the first repeat of a fingerprint waits this long; then doubles
    cooldown_max_s: float = 4 * 3600.0
    flap_window_s: float = 3600.0  # this many fires of one condition in this window: flapping
    flap_count: int = 3
    look_away_s: float = 120.0  # a failing `vigil run` shorter than this was watched
    stale_s: float = 6 * 3600.0  # a request decided later than this (daemon down): not pushed
    deadlines: tuple[tuple[str, float], ...] = (
        ("info", 8 * 3600.0),
        ("warning", 2 * 3600.0),
        ("error", 3600.0),
        ("critical", 0.0),
    )
    channels: tuple[ChannelSettings, ...] = ()
    session_bus: str | None = None  # DBUS_SESSION_BUS_ADDRESS, for desktop notifications
    sound: bool = False  # a sound server or device seems to exist (spoken notices are played)

    def deadline(self, severity: str) -> float:
        return dict(self.deadlines).get(severity, 0.0)

    def channel(self, kind: str) -> ChannelSettings | None:
        """The configured table for ``kind`` (the first one), if any."""
        return next((c for c in self.channels if c.kind == kind), None)


def parse_duration(value: Any, origin: str) -> float:
    """Seconds from a number or ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ConfigError(f"{origin} must be a duration such as 30m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value)) if isinstance(value, str) else None
        if match is None:
            raise ConfigError(f"{origin} must be a duration such as 90s, 30m or 2h, got {value!r}")
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]
        seconds = float(match.group(1)) * unit
    if seconds < 0:
        raise ConfigError(f"{origin} must not be negative, got {value!r}")
    return seconds


def check_window(value: Any, origin: str) -> str:
    """A daily window ``HH:MM-HH:MM`` (it may cross midnight)."""
    if not isinstance(value, str) or not _WINDOW.match(value):
        raise ConfigError(f"{origin} must look like 22:00-07:30, got {value!r}")
    return value.strip()


def _channel_settings(raw: Any, index: int) -> ChannelSettings:
    where = f"config.toml [[attention.channels]] #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - CHANNEL_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    kind = raw.get("kind")
    if kind not in CHANNEL_KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(CHANNEL_KINDS)}, got {kind!r}")
    for key in ("url", "url_env", "token_env", "voice", "name"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    if "enabled" in raw and not isinstance(raw["enabled"], bool):
        raise ConfigError(f"{where}: enabled must be true or false")
    fmt = raw.get("format", "ntfy")
    if fmt not in ("ntfy", "slack"):
        raise ConfigError(f"{where}: format must be ntfy or slack, got {fmt!r}")
    url = raw.get("url")
    if kind == "webhook":
        if not url and not raw.get("url_env"):
            raise ConfigError(f"{where}: a webhook needs url (or url_env)")
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: url must start with http:// or https://")
    min_score = raw.get("min_score")
    if min_score is not None and (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not 0 <= min_score <= 1
    ):
        raise ConfigError(f"{where}: min_score must be a number from 0 to 1")
    per_hour = raw.get("max_per_hour")
    if per_hour is not None and (
        isinstance(per_hour, bool) or not isinstance(per_hour, int) or per_hour < 1
    ):
        raise ConfigError(f"{where}: max_per_hour must be a positive integer")
    return ChannelSettings(
        kind=kind,
        enabled=raw.get("enabled", True),
        url=url,
        url_env=raw.get("url_env"),
        format=fmt,
        token_env=raw.get("token_env"),
        min_score=None if min_score is None else float(min_score),
        max_per_hour=per_hour,
        voice=raw.get("voice"),
        name=raw.get("name"),
    )


def attention_settings(
    document: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> AttentionSettings:
    """``[attention]`` of a parsed config document, validated."""
    env = os.environ if environ is None else environ
    table = document.get("attention", {})
    if not isinstance(table, dict):
        raise ConfigError("config.toml: [attention] must be a table")
    where = "config.toml [attention]"
    unknown = sorted(set(table) - ATTENTION_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    changes: dict[str, Any] = {}
    clock = table.get("clock", "system")
    if clock not in ("system", "events"):
        raise ConfigError(f'{where} clock must be "system" or "events", got {clock!r}')
    changes["clock"] = clock
    zone = table.get("timezone")
    if zone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where} timezone: unknown time zone {zone!r}") from None
        changes["timezone"] = str(zone)
    if table.get("quiet_hours") is not None:
        changes["quiet_hours"] = check_window(table["quiet_hours"], f"{where} quiet_hours")
    meetings = table.get("meetings", [])
    if isinstance(meetings, str):
        meetings = [meetings]
    if not isinstance(meetings, list):
        raise ConfigError(f'{where} meetings must be a list such as ["14:00-15:00"]')
    changes["meetings"] = tuple(check_window(m, f"{where} meetings") for m in meetings)
    for key in ("idle", "grace", "cooldown", "cooldown_max", "flap_window", "look_away", "stale"):
        if key in table:
            changes[f"{key}_s"] = parse_duration(table[key], f"{where} {key}")
    if "flap_count" in table:
        count = table["flap_count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 2:
            raise ConfigError(f"{where} flap_count must be an integer >= 2")
        changes["flap_count"] = count
    deadlines = dict(AttentionSettings.deadlines)
    raw_deadlines = table.get("deadlines", {})
    if not isinstance(raw_deadlines, dict):
        raise ConfigError(f'{where} deadlines must be a table such as {{ error = "30m" }}')
    for severity, value in raw_deadlines.items():
        if severity not in SEVERITIES:
            raise ConfigError(f"{where} deadlines: unknown severity {severity!r}")
        deadlines[severity] = parse_duration(value, f"{where} deadlines.{severity}")
    changes["deadlines"] = tuple(deadlines.items())
    channels = table.get("channels", [])
    if not isinstance(channels, list):
        raise ConfigError("config.toml: [[attention.channels]] must be a list of tables")
    changes["channels"] = tuple(_channel_settings(c, i) for i, c in enumerate(channels))
    changes["session_bus"] = env.get("DBUS_SESSION_BUS_ADDRESS") or None
    runtime = env.get("XDG_RUNTIME_DIR")
    changes["sound"] = bool(
        env.get("PULSE_SERVER")
        or Path("/dev/snd").exists()
        or (runtime and (Path(runtime) / "pulse" / "native").exists())
    )
    return AttentionSettings(**changes)


def channel_url(channel: ChannelSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """A webhook's URL: ``url``, or the value of the variable ``url_env`` names."""
    if channel.url_env:
        return secret(channel.url_env, environ)
    return channel.url


def load_attention(path: Path) -> AttentionSettings:
    """``[attention]`` from another config file (``vigil attention replay --config F``)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    return attention_settings(_read_toml(path))
