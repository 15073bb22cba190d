"""The breaker and metrics modules were split along their seams; their public names stay put."""

from __future__ import annotations

import importlib

import pytest

import vigil.reliability


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("vigil.reliability.breaker", ["CircuitBreaker", "CallHook", "ChangeHook"]),
        (
            "vigil.reliability.metrics",
            [
                "BOUNDS",
                "COUNTER",
                "GAUGE",
                "HOUR",
                "MINUTE",
                "TIMER",
                "Metrics",
                "MetricsUpkeep",
                "SeriesKey",
                "Window",
                "bucket_index",
                "compact",
                "decode_buckets",
                "ensure_schema",
                "report",
            ],
        ),
    ],
)
def test_names_stay_importable_from_their_old_modules(module: str, names: list[str]) -> None:
    """Every name callers import from ``breaker`` and ``metrics`` is still there."""
    loaded = importlib.import_module(module)
    assert [name for name in names if not hasattr(loaded, name)] == []


def test_the_package_exports_are_unchanged() -> None:
    """``vigil.reliability`` still exports every name it listed, each one importable."""
    assert sorted(vigil.reliability.__all__) == sorted(
        [
            "BreakerPolicy",
            "BreakerRecord",
            "BreakerRegistry",
            "BreakerStore",
            "CallHook",
            "ChangeHook",
            "CircuitBreaker",
            "CountWindow",
            "RetryHook",
            "RetryPolicy",
            "State",
            "TimeWindow",
            "aretry_call",
            "is_testing",
            "retry_call",
            "set_testing",
            "testing",
        ]
    )
    assert all(hasattr(vigil.reliability, name) for name in vigil.reliability.__all__)
