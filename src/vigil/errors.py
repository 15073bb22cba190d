"""Vigil's exceptions: one root with structured fields.

The tree::

    VigilError                      root; ``str(err)`` is one line fit for a user
    ├── UsageError                  the user asked for something malformed (bad flag, bad time)
    ├── InputError                  the input a user handed us is malformed (file, JSON line)
    │   └── ValidationError         a structured payload failed validation
    ├── NotFoundError               an id, entry or file that does not exist
    ├── StorageError                the state database cannot be read or written
    │   └── SchemaError             the database was written by a newer Vigil
    ├── ConfigError                 ``config.toml`` or a ``VIGIL_*`` variable is invalid
    ├── BusError                    publishing or consuming events failed
    ├── SourceError                 a source (command, file, git) failed to produce events
    ├── VoiceUnavailable            speech cannot work here (no espeak-ng, no microphone, no
    │                               `voice` extra installed)
    ├── DaemonError                 the daemon cannot start or cannot be reached
    ├── CircuitOpen                 a circuit breaker refuses calls for now (name, retry_after)
    ├── ChannelError                a notification channel did not deliver (``channel``)
    │   ├── ChannelFailed           transient (timeout, 5xx, 429, a crashed helper): retried
    │   ├── ChannelRejected         the receiver refused it (4xx): not retried
    │   └── ChannelUnavailable      cannot work here (no session bus, no synthesiser): skipped
    └── ProviderError               a model provider failed (``provider`` in details)
        ├── ProviderUnavailable     cannot be reached, 5xx, timed out, stream cut off
        ├── RateLimited             429; ``retry_after`` seconds when the provider said
        ├── ProviderResponseError   answered, but malformed (bad JSON, schema violation)
        ├── BudgetExhausted         today's token or money budget for it is spent
        └── ProviderRefused         not allowed here (``local_only`` and not on loopback)

Every error carries ``details`` (a small dict of structured context) so that logs and
receipts can keep the facts without parsing the message.
"""

from __future__ import annotations

TYPE_CHECKING = False  # spelt out: ``vigil --version`` never imports ``typing``
if TYPE_CHECKING:
    from typing import Any


class VigilError(Exception):
    """Root of every error Vigil raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return self.message.replace("\n", " ").strip()


class UsageError(VigilError):
    """The command line itself is wrong (unknown flag, bad value)."""

    exit_code = 2


class InputError(VigilError):
    """Input handed to Vigil (a file, stdin, a payload) is malformed or unreadable."""

    exit_code = 2


class ValidationError(InputError):
    """A structured payload (event, KB entry) does not satisfy its schema."""


class NotFoundError(VigilError):
    """The thing asked for (event id, KB entry, file) does not exist."""

    exit_code = 3


class StorageError(VigilError):
    """The state database cannot be opened, read or written."""

    exit_code = 4


class SchemaError(StorageError):
    """The database schema is newer than this Vigil understands."""


class ConfigError(VigilError):
    """Configuration (config.toml, VIGIL_* variables) is invalid."""

    exit_code = 2


class BusError(VigilError):
    """The event bus failed to publish or deliver."""


class SourceError(VigilError):
    """A source failed to observe what it watches."""


class VoiceUnavailable(VigilError):
    """Speaking or listening cannot work on this machine: a tool, a device or the `voice` extra
    is missing. The message says which, and how to get it."""


class DaemonError(VigilError):
    """The daemon cannot start, or cannot be reached."""


class CircuitOpen(VigilError):
    """A circuit breaker is open (or half-open with every probe slot taken) and refused a call.

    ``retry_after`` is the number of seconds until the breaker lets a call through again; it is
    also in ``details``, where :func:`vigil.reliability.retry_call` reads it as a wait hint.
    """

    def __init__(self, name: str, retry_after: float) -> None:
        retry_after = max(0.0, float(retry_after))
        super().__init__(
            f"circuit {name!r} is open: calls refused for {retry_after:.1f} s more",
            name=name,
            retry_after=retry_after,
        )
        self.name = name
        self.retry_after = retry_after


class ChannelError(VigilError):
    """A notification channel did not deliver; ``details["channel"]`` names it."""


class ChannelFailed(ChannelError):
    """A transient failure (timeout, 5xx, 429, a helper program that crashed): retried."""


class ChannelRejected(ChannelError):
    """The receiver refused the notice (a 4xx answer): retrying would not help."""


class ChannelUnavailable(ChannelError):
    """The channel cannot work on this machine now (no session bus, no synthesiser)."""


class ProviderError(VigilError):
    """A model provider failed; ``details["provider"]`` names it."""


class ProviderUnavailable(ProviderError):
    """The provider cannot be reached, answered 5xx, timed out, or cut its stream off."""


class RateLimited(ProviderError):
    """The provider answered 429; ``retry_after`` (seconds) when it said how long to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class ProviderResponseError(ProviderError):
    """The provider answered with something unusable: malformed JSON, a schema violation."""


class BudgetExhausted(ProviderError):
    """Today's budget (tokens or money) for the provider is spent."""


class ProviderRefused(ProviderError):
    """Policy forbids the call (``local_only`` and the endpoint is not on loopback)."""
