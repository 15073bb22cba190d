"""The redactor: every secret shape, literal environment values, deep objects, and what stays."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.storage import Redactor

ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def hexs(n: int) -> str:
    return rand(n, "0123456789abcdef")


REDACT = Redactor()
GH = rand(36)
AWS = rand(16, string.ascii_uppercase + string.digits)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
    "\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMg\n"
    "-----END RSA PRIVATE KEY-----"
)


def case(template: str, secret: str, expected: str) -> Any:
    """A text with ``secret`` planted at ``{}``, and what must be in its redacted form."""
    return pytest.param(template.replace("{}", secret), secret, expected, id=template)


# (text with the secret, the secret, what the redacted text must contain)
CASES = [
    case("Authorization: Bearer {}", rand(32), "Authorization: Bearer [REDACTED:bearer-token]"),
    case("authorization='Basic {}=='", rand(16), "authorization='Basic [REDACTED:basic-auth]'"),
    case("curl -H 'Authorization: token {}'", f"ghp_{GH}", "token [REDACTED:authorization]'"),
    case("header Bearer {} sent", rand(40), "header Bearer [REDACTED:bearer-token] sent"),
    case("bearer {}", JWT, "bearer [REDACTED:bearer-token]"),
    case("git clone https://alice:{}@github.com/o/r.git", "Hunter2-pass", "alice:[REDACTED:url-"),
    case("postgres://app:{}@db:5432/x", "s3cr3t", "postgres://app:[REDACTED:url-password]@db"),
    case("redis://:{}@cache:6379", rand(20), "redis://:[REDACTED:url-password]@cache"),
    case("OPENAI_KEY is {}", f"sk-{rand(47)}1", "OPENAI_KEY is [REDACTED:openai-key]"),
    case("key {} end", f"sk-proj-{rand(60)}9z", "key [REDACTED:openai-key] end"),
    case("{}", f"sk-ant-api03-{rand(90)}-AA", "[REDACTED:anthropic-key]"),
    case("push with {} now", f"ghp_{GH}", "push with [REDACTED:github-token] now"),
    case("{} x", f"gho_{GH}", "[REDACTED:github-token] x"),
    case("{} x", f"ghu_{GH}", "[REDACTED:github-token] x"),
    case("{} x", f"ghs_{GH}", "[REDACTED:github-token] x"),
    case("{} x", f"ghr_{GH}", "[REDACTED:github-token] x"),
    case("{}", f"github_pat_11{rand(20)}_{rand(59)}", "[REDACTED:github-token]"),
    case("id {} used", f"AKIA{AWS}", "id [REDACTED:aws-access-key-id] used"),
    case("{}", f"ASIA{AWS}", "[REDACTED:aws-access-key-id]"),
    case("aws_secret_access_key = {}", rand(40, ALNUM + "/+"), "= [REDACTED:aws-secret-key]"),
    case("{}", f"xoxb-{rand(12, string.digits)}-{rand(24)}", "[REDACTED:slack-token]"),
    case("{}", f"xoxp-1-{rand(30)}", "[REDACTED:slack-token]"),
    case("{}", f"xoxa-2-{rand(30)}", "[REDACTED:slack-token]"),
    case("{}", f"xapp-1-A0{rand(30)}", "[REDACTED:slack-token]"),
    case(
        "POST https://hooks.slack.com/services/{}",
        f"T0{rand(8)}/B0{rand(8)}/{rand(24)}",
        "https://hooks.slack.com/services/[REDACTED:slack-webhook]",
    ),
    case("before\n{}\nafter", PEM, "before\n[REDACTED:private-key]\nafter"),
    case(
        "{}",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",  # cut off: no END
        "[REDACTED:private-key]",
    ),
    case("token={}", JWT, "token=[REDACTED:"),
    case("id_token {} end", JWT, "id_token [REDACTED:jwt] end"),
    case("DB_PASSWORD={}", "correct-horse", "DB_PASSWORD=[REDACTED:password]"),
    case("password: {}", "hunter2", "password: [REDACTED:password]"),
    case('{"password": "{}"}', "a b c d", '{"password": "[REDACTED:password]"}'),
    case("passwd='{}'", "x1y2z3", "passwd='[REDACTED:password]'"),
    case("client_secret: {}", "abc-def-ghi", "client_secret: [REDACTED:secret]"),
    case("clientSecret={}", "zzzabc", "clientSecret=[REDACTED:secret]"),
    case("token: {}", rand(24), "token: [REDACTED:token]"),
    case("GITHUB_TOKEN={}", rand(30), "GITHUB_TOKEN=[REDACTED:token]"),
    case('"api_key": "{}"', rand(30), '"api_key": "[REDACTED:api-key]"'),
    case("X-Api-Key: {}", rand(12) + "7", "X-Api-Key: [REDACTED:api-key]"),
    case("apiKey={}", rand(10) + "12", "apiKey=[REDACTED:api-key]"),
    case("access_token => '{}'", rand(30), "access_token => '[REDACTED:token]'"),
    case("mysql --password {} -u root", "hunter22", "--password [REDACTED:password] -u"),
    case("gh auth --token {}", rand(20) + "9", "--token [REDACTED:token]"),
    case("tool --api-key={}", rand(20) + "1", "--api-key=[REDACTED:api-key]"),
    case("secret_key: {}", rand(30), "secret_key: [REDACTED:secret]"),
]


@pytest.mark.parametrize(("text", "secret", "expected"), CASES)
def test_each_shape_is_redacted(text: str, secret: str, expected: str) -> None:
    """Every secret shape is replaced by a marker naming its kind, and the secret is gone."""
    out = REDACT.redact(text)
    assert expected in out, out
    assert secret not in out
    assert REDACT.redact(out) == out


KEPT = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b on main",
    f"sha256:{hexs(64)} and fingerprint {hexs(16)}",
    "run 123e4567-e89b-12d3-a456-426614174000 finished",
    "/home/dev/.ssh/id_rsa and ~/.aws/credentials and C:\\Users\\dev\\key.pem",
    "E   KeyError: 'api'  (file src/keys.py, line 12)",
    "max_tokens=256 token_type=bearer password_file=/run/secrets/db tokenizer=bert",
    "SyntaxError: Unexpected token: identifier",
    "Bearer tokens are documented in RFC 6750; bearer authentication",
    "password: ${DB_PASSWORD} secret: true token: null api_key: <your key here>",
    "password = '***' token: {{ secrets.GITHUB_TOKEN }} passphrase=%(pw)s",
    "prompt_tokens: 1234 total_tokens: 99999 secret: 42",
    "task-runner-for-the-build-system sk-learn disk-usage-monitor-service",
    "visit https://example.com:8443/path?q=1 and http://[::1]:8080/ and git@github.com:o/r",
    "tests/test_api.py::test_login PASSED [ 10%]",
    "AKIAshort ASIA is a continent; ghp_short",
    "eyJ alone, and eyJhbGciOiJIUzI1NiJ9 with no payload",
    "the word credentials: loaded from ~/.aws",
]


@pytest.mark.parametrize("text", KEPT, ids=[f"kept-{i}" for i in range(len(KEPT))])
def test_ordinary_text_is_kept(text: str) -> None:
    """Hashes, fingerprints, UUIDs, paths, placeholders and look-alike words stay as they are."""
    assert REDACT.redact(text) == text


def test_env_values_are_redacted_with_their_variable_name() -> None:
    """A literal secret is replaced wherever it occurs, named by its variable, longest first."""
    long, short = rand(32), rand(10)
    redactor = Redactor({"GROQ_API_KEY": long, "SHORT_TOKEN": short, "PREFIX_SECRET": long[:12]})
    out = redactor.redact(f"key={long}; again{long}x and {short} and {long[:12]}")
    assert long not in out and short not in out and long[:12] not in out
    assert out.count("[REDACTED:env:GROQ_API_KEY]") == 2
    assert "[REDACTED:env:SHORT_TOKEN]" in out and "[REDACTED:env:PREFIX_SECRET]" in out
    assert redactor.literal_count == 3
    unnamed = Redactor([long])
    assert unnamed.redact(f"x {long} y") == "x [REDACTED:env] y"


def test_env_values_are_found_in_large_text() -> None:
    """Literal secrets are found in a 64 KB text too (the large-text path)."""
    value = rand(24)
    text = ("ordinary build output line\n" * 3000) + value + "\n" + "tail\n" * 10
    out = Redactor({"MY_TOKEN": value}).redact(text)
    assert value not in out and "[REDACTED:env:MY_TOKEN]" in out
    assert len(text) > 64 * 1024


def test_ignore_case_finds_folded_literals() -> None:
    """With ignore_case, a literal secret is found even after it was lower-cased."""
    value = "AbCdEf" + rand(10)
    redactor = Redactor({"X_TOKEN": value})
    assert value.lower() in redactor.redact(value.lower())
    assert redactor.redact(value.lower(), ignore_case=True) == "[REDACTED:env:X_TOKEN]"


def test_redact_obj_is_deep_and_keeps_keys() -> None:
    """Every string in nested dicts, lists and tuples is redacted; keys and other values stay."""
    value = rand(20)
    gh = f"ghp_{rand(36)}"
    obj = {
        "command": f"deploy --token {gh}",
        "nested": [{"password": "hunter22", "note": value}, (gh, 3, None, True, 1.5)],
        "GROQ_API_KEY": rand(40),
        "api_key": "abc",
        "max_tokens": 128,
        "token_type": "bearer",
        value: "key kept",
    }
    out = Redactor({"VAL_SECRET": value}).redact_obj(obj)
    assert out["command"] == "deploy --token [REDACTED:github-token]"
    assert out["nested"][0] == {
        "password": "[REDACTED:password]",
        "note": "[REDACTED:env:VAL_SECRET]",
    }
    assert out["nested"][1] == ("[REDACTED:github-token]", 3, None, True, 1.5)
    assert out["GROQ_API_KEY"] == "[REDACTED:api-key]"
    assert out["api_key"] == "abc"  # too short to be generated: kept
    assert out["max_tokens"] == 128 and out["token_type"] == "bearer"
    assert out[value] == "key kept"  # keys are kept as they are
    assert obj["nested"][0]["password"] == "hunter22"  # the input is not modified


def test_redact_obj_returns_unchanged_objects_as_themselves() -> None:
    """Nothing to redact means no copy: the same object comes back."""
    obj = {"a": ["x", {"b": "y"}], "n": 1}
    assert Redactor().redact_obj(obj) is obj


def test_redact_obj_stringifies_unknown_objects() -> None:
    """An object JSON would store as str() is stored as its redacted str()."""
    path = Path(f"/tmp/ghp_{rand(36)}")
    assert Redactor().redact_obj({"p": path}) == {"p": "/tmp/[REDACTED:github-token]"}


def test_adversarial_input_stays_linear() -> None:
    """Pathological repetitions finish (each would be quadratic without the covered-span skip)."""
    for text in (
        "-----BEGIN RSA PRIVATE KEY-----\n" * 2000,
        "sk-" * 20000,
        "secret=" * 9000,
        "secret=$" * 9000,
    ):
        out = REDACT.redact(text)
        assert isinstance(out, str)


@given(st.text(max_size=300))
def test_redaction_is_idempotent(text: str) -> None:
    """Redacting redacted text changes nothing, whatever the text."""
    once = REDACT.redact(text)
    assert REDACT.redact(once) == once


@given(st.text(alphabet=string.ascii_letters + string.digits + " \n:=/._-", max_size=200))
def test_planted_token_never_survives(text: str) -> None:
    """A GitHub token planted anywhere in arbitrary text never survives redaction."""
    token = f"ghp_{GH}"
    middle = len(text) // 2
    assert token not in REDACT.redact(f"{text[:middle]} {token} {text[middle:]}")


@pytest.mark.parametrize(
    "text",
    ["password:=password", "--password =password", "token=password=password", "--token ==x1234567"],
)
def test_separators_and_earlier_markers_do_not_redact_twice(text: str) -> None:
    """A second pass never re-reads an earlier marker or a separator as a new value."""
    once = REDACT.redact(text)
    assert "[REDACTED:" in once
    assert REDACT.redact(once) == once


FRAGMENTS = st.sampled_from(
    [
        *("password", "token", "key", "api_", "secret", "Authorization", "Bearer ", "Basic "),
        *("--", "=", ":", "=>", " ", "\n", "'", '"', "`", "$", "@", "://", ".", "]", "x", "9"),
        *("sk-", "ghp_", "eyJ", "xoxb-", "AKIA", "[REDACTED:", "abc123DEF456ghi789jkl"),
        *("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "gsk_Abc123Def456Ghi789"),
    ]
)


@settings(max_examples=500)
@given(st.lists(FRAGMENTS, max_size=25).map("".join))
def test_secret_shaped_text_is_idempotent_and_loses_literals(text: str) -> None:
    """Text built from secret-shaped fragments redacts idempotently and never keeps a literal."""
    redactor = Redactor({"GROQ_API_KEY": "gsk_Abc123Def456Ghi789"})
    once = redactor.redact(text)
    assert redactor.redact(once) == once
    assert "gsk_Abc123Def456Ghi789" not in once


ESCAPED = 'q"uo\\te\nd-' + rand(8)  # a literal secret that JSON escapes
PREFILTERED = Redactor({"ODD_TOKEN": ESCAPED, "PLAIN_TOKEN": "plain-" + rand(10)})


@settings(max_examples=300)
@given(st.lists(FRAGMENTS | st.text(max_size=8) | st.just(ESCAPED), max_size=12).map("".join))
def test_needs_redaction_false_means_nothing_to_redact(text: str) -> None:
    """When the prefilter says no, redacting the text changes nothing."""
    if not PREFILTERED.needs_redaction(text):
        assert PREFILTERED.redact(text) == text


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.text(max_size=10) | st.sampled_from(["password", "apiKey", "note"]),
        st.lists(FRAGMENTS | st.text(max_size=8) | st.just(ESCAPED), max_size=6).map("".join),
        max_size=4,
    )
)
def test_needs_redaction_on_json_covers_every_string_inside(obj: dict[str, str]) -> None:
    """When the prefilter says no to an object's JSON, no string in the object needs redaction."""
    document = json.dumps(obj, ensure_ascii=False)
    if not PREFILTERED.needs_redaction(document):
        assert PREFILTERED.redact_obj(obj) is obj
    if any(ESCAPED in value for value in obj.values()):
        assert PREFILTERED.needs_redaction(document)


def test_needs_redaction_on_large_text() -> None:
    """The large-text prefilter finds a trigger or a literal anywhere in 64 KB."""
    filler = "ordinary build output without anything special in it\n" * 1300
    assert not PREFILTERED.needs_redaction(filler)
    assert PREFILTERED.needs_redaction(filler + "x-api-key: abc")
    assert PREFILTERED.needs_redaction(filler + json.dumps(ESCAPED)[1:-1])
