"""Property: run-specific noise inserted into a message never changes its fingerprint."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vigil.parsing import Failure, failure_fingerprint

_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=10)
_HEX = st.text(alphabet="0123456789abcdef", min_size=8, max_size=12)
_PREFIX = st.one_of(
    st.just(""),
    st.just("./"),
    st.builds(
        lambda user, n, t: f"/tmp/pytest-of-{user}/pytest-{n}/{t}0/",
        _NAME,
        st.integers(0, 999),
        _NAME,
    ),
    st.builds(lambda a, b: f"/var/folders/{a[:2]}/{b}/T/", _NAME, _NAME),
    st.builds(lambda h: f"/tmp/tmp{h}/", _HEX),
    st.builds(lambda user: f"/home/{user}/checkouts/shop/", _NAME),
    st.builds(lambda user: f"C:\\Users\\{user}\\shop\\", _NAME),
)
_CAUSES = st.sampled_from(
    [
        "NameError: name 'foo' is not defined",
        "KeyError: 'total'",
        "assert 1 == 2",
        "undefined reference to `checksum'",
        "`os` imported but unused",
    ]
)


def _message(prefix: str, line: int, column: int, cause: str) -> str:
    path = f"{prefix}src/shop/cart.py"
    if prefix.startswith("C:"):
        path = f"{prefix}src\\shop\\cart.py"
    return f"{path}:{line}:{column}: {cause} (see {path} line {line})"


@given(
    prefix=_PREFIX,
    line=st.integers(1, 99_999),
    column=st.integers(1, 500),
    cause=_CAUSES,
)
def test_moving_code_or_checkout_keeps_the_fingerprint(
    prefix: str, line: int, column: int, cause: str
) -> None:
    """Any line/column and any temp-dir or home prefix give the reference fingerprint."""
    reference = Failure(tool="python", message=_message("", 1, 1, cause), file="src/shop/cart.py")
    varied = Failure(
        tool="python",
        message=_message(prefix, line, column, cause),
        file=f"{prefix}src/shop/cart.py",
        line=line,
        column=column,
    )
    assert failure_fingerprint(varied) == failure_fingerprint(reference)


@given(prefix=_PREFIX, line=st.integers(1, 99_999), first=_CAUSES, second=_CAUSES)
def test_different_causes_stay_apart_under_noise(
    prefix: str, line: int, first: str, second: str
) -> None:
    """Noise never merges two different causes into one fingerprint."""
    a = Failure(tool="python", message=_message(prefix, line, 1, first))
    b = Failure(tool="python", message=_message(prefix, line, 1, second))
    assert (failure_fingerprint(a) == failure_fingerprint(b)) == (first == second)
