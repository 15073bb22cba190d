"""Which environment variables count as secrets, and which of their values are redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import secret_values, secret_variables
from vigil.storage import Redactor


@pytest.mark.parametrize(
    "name",
    [
        "GROQ_API_KEY",
        "OPENAI_APIKEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "MYSQL_PWD_PASSWD",
        "GPG_PASSPHRASE",
        "AZURE_CREDENTIALS",
        "NPM_AUTH",
        "OAUTH_CLIENT",
        "SSH_PRIVATE",
        "SMTP_PASS",
        "GH_PAT",
        "SENTRY_DSN",
        "my_service_token",
    ],
)
def test_secret_names(name: str) -> None:
    """A variable whose name says it holds a secret has its value listed."""
    assert secret_variables({name: "s3cr3t-value"}) == {name: "s3cr3t-value"}


@pytest.mark.parametrize(
    "name",
    [
        "GIT_AUTHOR_NAME",
        "XAUTHORITY",
        "HOME",
        "PWD",
        "OLDPWD",
        "PATH",
        "BYPASS_CACHE",
        "COMPASS_MODE",
        "PATTERN",
    ],
)
def test_ordinary_names(name: str) -> None:
    """Author names, display authority, paths and look-alike names are not secrets."""
    assert secret_variables({name: "some-long-value-1234"}) == {}


@pytest.mark.parametrize(
    "value",
    ["", "short", "true", "False", "disabled", "3600", "0.5", "-1", "   "],
)
def test_values_that_are_not_secrets(value: str) -> None:
    """Short values, booleans, switches and numbers are ignored even under a secret name."""
    assert secret_variables({"API_KEY": value}) == {}


def test_existing_paths_are_not_secrets_but_missing_ones_are(tmp_path: Path) -> None:
    """A path that exists (a socket, a key file) is not the secret; a missing one may be one."""
    existing = tmp_path / "key.json"
    existing.write_text("{}")
    missing = str(tmp_path / "nope" / "x")
    found = secret_variables(
        {"GOOGLE_APPLICATION_CREDENTIALS": str(existing), "SSH_AUTH_SOCK": missing}
    )
    assert found == {"SSH_AUTH_SOCK": missing}


def test_values_are_stripped_and_listed_once() -> None:
    """Values lose surrounding whitespace and each appears once in secret_values."""
    env = {"A_TOKEN": "  tok-123456\n", "B_TOKEN": "tok-123456", "C_KEY": "other-123456"}
    assert secret_values(env) == ("tok-123456", "other-123456")


def test_default_is_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping, the process environment is read (only config.py does)."""
    monkeypatch.setenv("VIGIL_TEST_SECRET_TOKEN", "planted-7f3a9c")
    assert secret_variables()["VIGIL_TEST_SECRET_TOKEN"] == "planted-7f3a9c"
    redactor = Redactor.from_environment()
    assert redactor.redact("x planted-7f3a9c y") == "x [REDACTED:env:VIGIL_TEST_SECRET_TOKEN] y"
