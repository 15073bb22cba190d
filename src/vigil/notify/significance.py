"""How much a request matters: a score in [0, 1] and the parts it is made of.

    severity      info 0.2, warning 0.45, error 0.65, critical 0.9
    novelty       +0.1 never seen before; -0.05 seen ten times or more
    persistence   +0.1 still failing (the producer says ``persisting``)
    impact        +0.1 main branch, +0.05 CI, +0.1 production, +0.05 ten or more tests
                  (at most +0.2 in all)
    fix           +0.05 a fix is known (there is something to do about it)

Every channel has a threshold (voice the highest); the significance gate compares this score
with them. Facts come from the request's ``signals`` (set by whoever raised it) and, for
novelty, from how often the notifier has seen the fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BASE = {"info": 0.2, "warning": 0.45, "error": 0.65, "critical": 0.9}
# The score a channel needs; terminal and dashboard take anything that is not dropped.
THRESHOLDS = {"dashboard": 0.0, "terminal": 0.0, "desktop": 0.5, "webhook": 0.6, "spoken": 0.85}
FLOOR = 0.15  # below this a request is not worth even a passive line: it goes to the digest
MAX_IMPACT = 0.2


def score(severity: str, signals: Mapping[str, Any], seen: int) -> tuple[float, dict[str, float]]:
    """The score and its parts; ``seen`` is how many earlier requests had this fingerprint."""
    parts: dict[str, float] = {"severity": BASE.get(severity, BASE["info"])}
    novel = bool(signals["novel"]) if "novel" in signals else seen == 0
    if novel:
        parts["novelty"] = 0.1
    elif seen >= 10 or int(signals.get("seen") or 0) >= 10:
        parts["novelty"] = -0.05
    if signals.get("persisting"):
        parts["persistence"] = 0.1
    impact = 0.0
    if signals.get("main_branch"):
        impact += 0.1
    if signals.get("ci"):
        impact += 0.05
    if signals.get("production"):
        impact += 0.1
    if int(signals.get("tests_failed") or 0) >= 10:
        impact += 0.05
    if impact:
        parts["impact"] = round(min(impact, MAX_IMPACT), 3)
    if signals.get("fix_known"):
        parts["fix"] = 0.05
    total = round(min(1.0, max(0.0, sum(parts.values()))), 3)
    return total, parts
