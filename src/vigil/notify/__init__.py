"""vigil.notify: whether, when and how to tell a person something.

Requests (``notification.requested``) go through five gates (:mod:`vigil.notify.gates`) on a
clock that is handed in (:mod:`vigil.notify.engine`); decisions are events; channels
(:mod:`vigil.notify.channels`) deliver behind breakers and retries; the inbox and the digest
(:mod:`vigil.notify.inbox`) read it all back from the log.
"""
