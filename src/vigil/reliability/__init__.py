"""vigil.reliability"""

from vigil.reliability.breaker import CallHook, ChangeHook, CircuitBreaker
from vigil.reliability.breaker_policy import BreakerPolicy, CountWindow, State, TimeWindow
from vigil.reliability.breaker_registry import BreakerRegistry
from vigil.reliability.breaker_store import BreakerRecord, BreakerStore
from vigil.reliability.retry import (
    RetryHook,
    RetryPolicy,
    aretry_call,
    is_testing,
    retry_call,
    set_testing,
    testing,
)

__all__ = [
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
