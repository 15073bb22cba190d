"""``[attention]``: the notification gates' and channels' settings (issue 16).

Parsed on first use (``Settings.attention``), not by every command: the table is validated here
(one clear line per mistake) and interpreted by ``vigil.notify``. Durations are seconds or text
like "90s", "30m", "2h"; windows "HH:MM-HH:MM". Unknown keys are warned about by
``vigil.config.config_warnings`` (the keys are registered in ``vigil.config.SECTIONS``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.config import _read_toml, secret
from vigil.errors import ConfigError

CHANNEL_KINDS = ("terminal", "desktop", "spoken", "webhook", "dashboard")
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
