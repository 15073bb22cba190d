"""File locations: library-frame detection, cwd-relative paths and project-relative paths.

Three questions every parser asks about a path a tool printed:

* ``is_library_path``: is this frame in code the user does not own? (site-packages,
  dist-packages, the Python stdlib under ``/usr/lib/python3*`` or any ``lib/python3.*``,
  ``<frozen ...>``, ``node_modules``, ``node:`` built-ins, Go's GOROOT and module cache,
  Rust's ``/rustc/`` sources and cargo registry, the JDK, CMake's own modules, system headers.)
* ``relative_to_cwd``: the path as printed, made relative when it lies under ``cwd``.
* ``project_path``: a location-independent form used by fingerprints. The rule, applied to the
  path string alone (fingerprints never see ``cwd``):

  1. ``\\`` becomes ``/``; a ``file://`` scheme, a Windows drive and leading ``./`` are dropped;
  2. if any directory component is one of the project markers ``src``, ``tests``, ``lib``,
     ``pkg``, ``cmd``, the path is kept from the LAST such marker on
     (``/tmp/tmp.x1/shop/src/shop/cart.py`` and ``src/shop/cart.py`` both give
     ``src/shop/cart.py``);
  3. otherwise only the basename is kept (``/tmp/tmp.x1/app.js`` and ``./app.js`` both give
     ``app.js``), since the leading directories are where the checkout happens to live.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LIBRARY_MARKERS = (
    "site-packages",
    "dist-packages",
    "/usr/lib/python",
    "/usr/local/lib/python",
    "<frozen ",
    "<string>",
    "node_modules",
    "node:",
    "/usr/lib/go",
    "/usr/local/go/",
    "/pkg/mod/",
    "/rustc/",
    "/.cargo/registry/",
    "/.rustup/",
    "java.base/",
    "/share/cmake",
    "/usr/include/",
    "/Library/Developer/",
    "/usr/lib/jvm/",
    "/usr/lib/node_modules/",
)
_LIB_PYTHON = re.compile(r"(?:^|/)lib/python\d")
_GOROOT_SRC = re.compile(r"/go(?:-\d[\d.]*)?/src/(?:runtime|testing|reflect|sync|os|fmt)/")
_PROJECT_MARKERS = frozenset({"src", "tests", "lib", "pkg", "cmd"})
_DRIVE = re.compile(r"^[A-Za-z]:/")


@lru_cache(maxsize=2048)
def is_library_path(path: str) -> bool:
    """Return True when ``path`` points into code the user does not own (stdlib, deps, runtime)."""
    path = path.replace("\\", "/")
    if any(marker in path for marker in _LIBRARY_MARKERS):
        return True
    return bool(_LIB_PYTHON.search(path) or _GOROOT_SRC.search(path))


def is_under(path: str, cwd: str) -> bool:
    """Return True when ``path`` lies under the directory ``cwd`` (relative paths always do)."""
    path = path.replace("\\", "/")
    if not _is_absolute(path):
        return not path.startswith("../")
    root = cwd.replace("\\", "/").rstrip("/") + "/"
    return path.startswith(root)


def relative_to_cwd(path: str, cwd: str | None) -> str:
    """Return ``path`` relative to ``cwd`` when it lies under it, otherwise unchanged."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    if not cwd or not _is_absolute(path):
        return path
    root = cwd.rstrip("/\\")
    if path.startswith(root) and len(path) > len(root) and path[len(root)] in "/\\":
        return path[len(root) + 1 :]
    return path


def project_path(path: str) -> str:
    """Return the location-independent form of ``path`` described in the module docstring."""
    path = path.replace("\\", "/")
    if path.startswith("file://"):
        path = path[len("file://") :]
    path = _DRIVE.sub("/", path)
    parts = [part for part in path.split("/") if part and part != "."]
    if not parts:
        return ""
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in _PROJECT_MARKERS:
            return "/".join(parts[index:])
    return parts[-1]


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\", "~")) or bool(_DRIVE.match(path.replace("\\", "/")))
