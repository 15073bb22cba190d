"""The event types the notifier reads (kept apart so the CLI can name them without importing
the gates): requests, the clock, focus, resolutions, and signs of a person at work (anything
published through the CLI is one, whatever its type; these are the types that can be)."""

from __future__ import annotations

from vigil.events import catalog

OBSERVED = (
    catalog.NOTIFICATION_REQUESTED,
    catalog.ATTENTION_FOCUS_CHANGED,
    catalog.ATTENTION_CONDITION_RESOLVED,
    catalog.CLOCK_TICKED,
    catalog.BUILD_RUN_STARTED,
    catalog.BUILD_RUN_PASSED,
    catalog.BUILD_RUN_FAILED,
    "file.changed",
    "git.commit.created",
    "git.branch.switched",
)
