"""Paths: library detection, cwd-relative paths and the project-relative form."""

from __future__ import annotations

import pytest

from vigil.parsing.location import is_library_path, project_path, relative_to_cwd


@pytest.mark.parametrize(
    "path",
    [
        "/srv/app/.venv/lib/python3.11/site-packages/requests/api.py",
        "/usr/lib/python3/dist-packages/yaml/__init__.py",
        "/usr/lib/python3.11/json/decoder.py",
        "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py",
        "<frozen importlib._bootstrap>",
        "/srv/web/node_modules/pg/lib/client.js",
        "node:internal/modules/cjs/loader",
        "node:fs",
        "/usr/lib/go-1.19/src/testing/testing.go",
        "/usr/local/go/src/runtime/panic.go",
        "/rustc/5980761/library/core/src/panicking.rs",
        "C:\\Python311\\Lib\\site-packages\\x.py",
    ],
)
def test_library_paths_are_recognised(path: str) -> None:
    """Stdlib, dependency and runtime frames count as library code."""
    assert is_library_path(path)


@pytest.mark.parametrize(
    "path", ["/srv/app/src/shop/cart.py", "tests/test_a.py", "./main.go", "/tmp/x/lib.rs"]
)
def test_project_paths_are_not_library(path: str) -> None:
    """The user's own files, wherever they live, are not library code."""
    assert not is_library_path(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tmp/tmp.x1/shop/src/shop/cart.py", "src/shop/cart.py"),
        ("src/shop/cart.py", "src/shop/cart.py"),
        ("./src/shop/cart.py", "src/shop/cart.py"),
        ("/home/ann/shop/tests/unit/test_a.py", "tests/unit/test_a.py"),
        ("/go/src/example.com/app/cmd/server/main.go", "cmd/server/main.go"),
        ("/tmp/tmp.x1/uncaught/app.js", "app.js"),
        ("./app.js", "app.js"),
        ("file:///home/ann/app/src/main/kotlin/Cart.kt", "src/main/kotlin/Cart.kt"),
        ("C:\\Users\\ann\\shop\\src\\x.py", "src/x.py"),
        ("/srv/app/src/pkg/tests/test_x.py", "tests/test_x.py"),
    ],
)
def test_project_path_rule(path: str, expected: str) -> None:
    """Paths keep what follows the last project marker, else only the basename."""
    assert project_path(path) == expected


def test_relative_to_cwd_only_strips_a_real_prefix() -> None:
    """Only paths under cwd become relative; a sibling sharing a prefix is left alone."""
    assert relative_to_cwd("/srv/app/src/a.py", "/srv/app") == "src/a.py"
    assert relative_to_cwd("/srv/app/src/a.py", "/srv/app/") == "src/a.py"
    assert relative_to_cwd("/srv/app2/a.py", "/srv/app") == "/srv/app2/a.py"
    assert relative_to_cwd("src/a.py", "/srv/app") == "src/a.py"
    assert relative_to_cwd("/srv/app/a.py", None) == "/srv/app/a.py"
