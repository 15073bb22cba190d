"""A simulation of Prometheus Alertmanager's notification timing, the attention bench's baseline.

Alertmanager's defaults: ``group_wait`` 30 s, ``group_interval`` 5 min, ``repeat_interval``
4 h, ``resolve_timeout`` 5 min, ``send_resolved`` off (so only firing notifications count).
Every request becomes an alert whose labels are its fingerprint, grouped by it (one group per
condition, like ``group_by: ['alertname']`` with one instance each). An alert fires from its
request until its resolution event, or, for one-shot requests (a failed build, a CI run), until
``resolve_timeout`` after the last request that re-sent it.

A group is created when an alert of it starts firing with no group alive; it flushes after
``group_wait`` and then every ``group_interval``. At a flush (the dedup stage's
``needsUpdate``): firing alerts not in the last notification, or ``repeat_interval`` since it,
send one notification; no alert firing clears the log and ends the group. A notification is
one interruption.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

GROUP_WAIT = timedelta(seconds=30)
GROUP_INTERVAL = timedelta(minutes=5)
REPEAT_INTERVAL = timedelta(hours=4)
RESOLVE_TIMEOUT = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Signal:
    time: datetime
    key: str
    fires: bool  # True: the alert (re)fires; False: it resolves
    resolvable: bool = False  # fires until resolved (an alert), not until resolve_timeout


def episodes(
    signals: Iterable[Signal], end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each alert's firing intervals."""
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for signal in sorted(signals, key=lambda s: s.time):
        runs = spans.setdefault(signal.key, [])
        firing = bool(runs) and runs[-1][1] > signal.time
        if signal.fires:
            until = end if signal.resolvable else signal.time + RESOLVE_TIMEOUT
            if firing:
                start, old = runs[-1]
                runs[-1] = (start, max(old, until) if not signal.resolvable else old)
            else:
                runs.append((signal.time, until))
        elif firing:
            runs[-1] = (runs[-1][0], signal.time)
    return spans


def notifications(signals: Iterable[Signal], end: datetime) -> list[tuple[datetime, str]]:
    """When Alertmanager would have notified, and for which group.

    A group holds one alert (its fingerprint): its firing set is that alert or nothing, so
    within one live group it notifies at the first flush that finds it firing and then once per
    ``repeat_interval`` (a re-fire between two flushes is invisible, as in Alertmanager).
    """
    sent: list[tuple[datetime, str]] = []
    for key, runs in episodes(signals, end).items():
        index = 0
        while index < len(runs):
            flush = runs[index][0] + GROUP_WAIT  # a new aggregation group
            last: datetime | None = None
            while flush <= end:
                if not any(a <= flush < b for a, b in runs):
                    break  # nothing firing: the log is cleared and the group ends
                if last is None or flush - last >= REPEAT_INTERVAL:
                    sent.append((flush, key))
                    last = flush
                flush += GROUP_INTERVAL
            index = next((i for i, (a, _) in enumerate(runs) if a > flush), len(runs))
    sent.sort()
    return sent
