"""Judging paths and hosts for the policy: where an action may read, write and connect.

A path is allowed when it resolves (symlinks followed) inside the project, or under a path a
person listed in ``[control] allow_paths``; it is refused when it

- is inside a ``.git`` directory (git internals: hooks run code, config holds credentials),
- is a dotfile in the home directory (``~/.bashrc``, ``~/.ssh/...``) outside the project,
- names a secret file anywhere (``.env``, ``.netrc``, ``id_rsa``, ``*.pem``, ``credentials``),
- is the project root itself when the action would delete or overwrite it,
- is anywhere else outside the project.

Devices such as ``/dev/null`` are allowed. A host is allowed only when ``[control] allow_hosts``
lists it (``example.com`` or ``*.example.com``); schemes other than http and https are refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_DEVICES = frozenset(
    {"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"}
    | {"/dev/urandom", "/dev/random"}
)
SECRET_FILE = re.compile(
    r"(^\.env(\..*)?$|^\.netrc$|^\.pgpass$|^\.git-credentials$|^id_[a-z0-9]+(\.pub)?$"
    r"|\.(pem|key|p12|pfx|kdbx|keystore|jks)$|^credentials(\.json)?$|^secrets?\.(json|ya?ml|toml)$"
    r"|^\.npmrc$|^\.pypirc$)",
    re.IGNORECASE,
)
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class Place:
    """Where an action runs: its directory, the project that directory belongs to, and home
    (real paths, as strings: judging is on every proposal's path, so it stays cheap)."""

    cwd: str
    project: str
    home: str
    allow_paths: tuple[str, ...] = ()

    @classmethod
    def of(cls, cwd: str | Path, home: str | Path, allow_paths: Sequence[str] = ()) -> Place:
        directory = os.path.realpath(cwd)
        return cls(
            cwd=directory,
            project=str(project_root(Path(directory))),
            home=os.path.realpath(home),
            allow_paths=tuple(os.path.realpath(os.path.expanduser(p)) for p in allow_paths),
        )

    def moved(self, directory: str) -> Place:
        return Place(os.path.realpath(directory), self.project, self.home, self.allow_paths)


def project_root(directory: Path) -> Path:
    """The nearest directory at or above ``directory`` holding ``.git``; else ``directory``."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def judge_path(text: str, place: Place, *, write: bool) -> str | None:
    """Why ``text`` (as an action would use it, relative to ``place.cwd``) is refused; ``None``
    when it is allowed."""
    if not text:
        return None
    if text in _DEVICES or text.startswith("/dev/fd/"):
        return None
    shown = text
    if text.startswith("~"):
        if text == "~" or text.startswith("~/"):
            text = place.home + text[1:]
        else:
            return f"path {shown!r}: another user's home directory"
    glob = _GLOB.search(text)
    if glob:  # judge the directory the pattern lists (a pattern never names that directory)
        prefix = text[: glob.start()]
        directory, _, partial = prefix.rpartition("/")
        if partial.startswith("."):
            return f"path {shown!r}: a pattern that matches hidden files (.git, dotfiles)"
        text = directory or ("/" if prefix.startswith("/") else ".")
        write = False
    joined = text if text.startswith("/") else place.cwd + "/" + text
    resolved = os.path.realpath(joined)
    if "/.git/" in resolved + "/":
        return f"path {shown!r}: inside .git (git internals)"
    inside = _inside(resolved, place.project)
    if not inside and _inside(resolved, place.home):
        if resolved == place.home:
            return f"path {shown!r}: the home directory"
        first = resolved[len(place.home) :].lstrip("/").split("/", 1)[0]
        if first.startswith("."):
            return f"path {shown!r}: a dotfile in the home directory"
    if SECRET_FILE.search(resolved.rsplit("/", 1)[-1]):
        return f"path {shown!r}: a secret file"
    if inside:
        if write and resolved == place.project:
            return f"path {shown!r}: the whole project"
        return None
    if any(_inside(resolved, allowed) for allowed in place.allow_paths):
        return None
    return f"path {shown!r}: outside the project ({place.project})"


def judge_url(text: str, allow_hosts: Sequence[str]) -> str | None:
    """Why the URL in ``text`` is refused (``None``: its host is allowed)."""
    try:
        parts = urlsplit(text[_scheme_start(text) :])
    except ValueError:
        return f"cannot judge the URL {text!r}"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"URL {text!r}: scheme {scheme or '?'!r} is not allowed (http and https only)"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return f"cannot judge the URL {text!r} (no host)"
    if host_allowed(host, allow_hosts):
        return None
    return f"host {host!r} is not on the allow list ([control] allow_hosts)"


def host_allowed(host: str, allow_hosts: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allow_hosts:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


def _scheme_start(text: str) -> int:
    """Where the URL in ``text`` starts (``--url=https://...`` -> at ``https``)."""
    at = text.find("://")
    start = at
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "+.-"):
        start -= 1
    return start
