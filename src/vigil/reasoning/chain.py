"""The fallback chain: providers tried in order, each behind its own circuit breaker.

For every provider, in configuration order, the chain first checks, cheaply, whether it may be
called at all: ``local_only`` forbids providers that are not on this machine; a provider that
answered 429 is left alone until its ``Retry-After`` passes; one whose daily budget (tokens or
money) is spent is skipped; an open breaker refuses the call in microseconds; and nothing is
tried once the overall deadline has passed. The provider that may be called runs the task
through a guard that enforces the per-call timeout (within the overall deadline), retries
``ProviderUnavailable`` once when time allows, counts failures in the breaker (shared by every
Vigil process: it is stored), records usage for the budget, and turns a 429 into a cooldown.

An empty answer (no text but whitespace, no tool calls) is a failure of its provider like any
other unusable answer (:func:`require_text`). A skip's reason does not repeat the provider's name
(:func:`own_words`), and a provider that ran and failed says what its attempt spent in tokens.

The result says which provider answered and why each earlier one was skipped; when every provider
fails, :class:`ChainExhausted` carries all of those reasons (and the errors as an
``ExceptionGroup`` in ``__cause__``). Put ``rules`` last and the chain always answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from vigil.errors import (
    BudgetExhausted,
    CircuitOpen,
    ProviderError,
    ProviderRefused,
    ProviderResponseError,
    ProviderUnavailable,
    RateLimited,
)
from vigil.reasoning.provider import Chunk, Provider, Request, Response
from vigil.reasoning.usage import UsageStore
from vigil.reliability import BreakerPolicy, CircuitBreaker, aretry_call

T = TypeVar("T")

DEFAULT_COOLDOWN_S = 60.0
BREAKER_POLICY = BreakerPolicy(
    failures=3,
    counted=(ProviderUnavailable,),
    open_base=30.0,
    open_max=900.0,
    probe_timeout=60.0,
)


@dataclass(frozen=True, slots=True)
class Link:
    """One provider in the chain, with its breaker and limits."""

    provider: Provider
    breaker: CircuitBreaker
    kind: str = "openai"  # openai | embedded | rules: how callers drive it
    timeout_s: float = 10.0
    daily_tokens: int | None = None
    daily_cost: float | None = None

    @property
    def name(self) -> str:
        return self.provider.name


@dataclass(frozen=True, slots=True)
class Skip:
    """A provider the chain passed over, why, and what its failed attempt spent (if it ran)."""

    provider: str
    reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "reason": self.reason}
        if self.prompt_tokens or self.completion_tokens:
            out["prompt_tokens"] = self.prompt_tokens
            out["completion_tokens"] = self.completion_tokens
        return out


def own_words(message: str, provider: str) -> str:
    """``message`` without a leading ``provider:`` or ``provider 'name':`` (the skip already
    names the provider: "embedded: failed: embedded: ..." reads as "embedded: failed: ...")."""
    for prefix in (f"{provider}: ", f"provider {provider!r}: ", f"provider {provider}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def require_text(response: Response) -> Response:
    """``response``, or ``ProviderResponseError`` when it says nothing (empty or whitespace
    text and no tool calls): an empty answer is that provider's failure, never a final answer."""
    if not response.tool_calls and not response.text.strip():
        raise ProviderResponseError(
            f"{response.provider}: empty answer", provider=response.provider
        )
    return response


@dataclass(frozen=True, slots=True)
class ChainRun(Generic[T]):
    """What the chain produced: the value, who produced it, who was skipped and why."""

    value: T
    provider: str
    model: str
    kind: str
    skipped: tuple[Skip, ...]
    elapsed_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class ChainExhausted(ProviderError):
    """No provider could answer; ``skipped`` says why for each."""

    def __init__(self, skipped: tuple[Skip, ...]) -> None:
        reasons = "; ".join(f"{s.provider}: {s.reason}" for s in skipped) or "none configured"
        super().__init__(
            f"no provider could answer ({reasons})", skipped=[s.to_dict() for s in skipped]
        )
        self.skipped = skipped


@dataclass(slots=True)
class _Meter:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    errors: list[Exception] = field(default_factory=list)


class GuardedProvider:
    """A provider seen through its link's breaker, timeout, retry and accounting."""

    def __init__(
        self, link: Link, deadline: float, usage: UsageStore | None, meter: _Meter
    ) -> None:
        self.link = link
        self.name = link.provider.name
        self.model = link.provider.model
        self._deadline = deadline
        self._usage = usage
        self._meter = meter

    @property
    def local(self) -> bool:
        return self.link.provider.local

    def _bounded(self, request: Request) -> Request:
        deadline = min(self._deadline, time.monotonic() + self.link.timeout_s)
        if request.deadline is not None:
            deadline = min(deadline, request.deadline)
        return replace(request, deadline=deadline)

    async def _once(self, request: Request) -> Response:
        remaining = (request.deadline or 0) - time.monotonic()
        if remaining <= 0:
            raise ProviderUnavailable(f"{self.name}: no time left", provider=self.name)
        try:
            async with asyncio.timeout(remaining):
                return await self.link.provider.complete(request)
        except TimeoutError:
            raise ProviderUnavailable(
                f"{self.name}: no answer within {remaining:.1f} s", provider=self.name
            ) from None

    async def complete(self, request: Request) -> Response:
        async def attempt() -> Response:  # each attempt gets its own per-call timeout
            return await self.link.breaker.acall(self._once, self._bounded(request))

        remaining = max(0.0, self._deadline - time.monotonic())
        response = await aretry_call(
            attempt, on=ProviderUnavailable, attempts=2, deadline=remaining, base=0.05, cap=0.5
        )
        self._account(response)
        return response

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        """Stream through the breaker: reaching the provider (its first chunk) is the guarded
        call; a stream cut off later raises to the caller, who has the text so far."""
        bounded = self._bounded(request)
        chunks = self.link.provider.stream(bounded)
        iterator = chunks.__aiter__()

        async def first() -> Chunk | None:
            remaining = max(0.001, (bounded.deadline or 0) - time.monotonic())
            try:
                async with asyncio.timeout(remaining):
                    return await iterator.__anext__()
            except StopAsyncIteration:
                return None
            except TimeoutError:
                raise ProviderUnavailable(
                    f"{self.name}: no answer within {remaining:.1f} s", provider=self.name
                ) from None

        chunk = await self.link.breaker.acall(first)
        while chunk is not None:
            if chunk.response is not None:
                self._account(chunk.response)
            yield chunk
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                chunk = None

    def _account(self, response: Response) -> None:
        self._meter.prompt_tokens += response.usage.prompt_tokens
        self._meter.completion_tokens += response.usage.completion_tokens
        self._meter.cost += response.cost
        if self._usage is not None:
            self._usage.add(self.name, response.usage.total, response.cost)


class FallbackChain:
    """Providers in order, each behind a stored breaker; the first that can answer does."""

    def __init__(
        self,
        links: list[Link],
        *,
        usage: UsageStore | None = None,
        local_only: bool = False,
    ) -> None:
        self.links = links
        self.usage = usage
        self.local_only = local_only

    def _why_not(self, link: Link, deadline: float) -> str | None:
        if self.local_only and not link.provider.local:
            return "local_only: this provider is not on this machine"
        if time.monotonic() >= deadline:
            return "no time left before the deadline"
        if self.usage is not None:
            wait = self.usage.cooldown(link.name)
            if wait > 0:
                return f"rate limited: left alone for {wait:.0f} s more (Retry-After)"
            if link.daily_tokens is not None or link.daily_cost is not None:
                tokens, cost = self.usage.today(link.name)
                if link.daily_tokens is not None and tokens >= link.daily_tokens:
                    return f"daily budget spent: {tokens} of {link.daily_tokens} tokens"
                if link.daily_cost is not None and cost >= link.daily_cost:
                    return f"daily budget spent: ${cost:.4f} of ${link.daily_cost:.4f}"
        if link.breaker.state.value == "open" and link.breaker.retry_after() > 0:
            return f"circuit open: left alone for {link.breaker.retry_after():.0f} s more"
        return None

    async def run(
        self,
        task: Callable[[GuardedProvider, str], Awaitable[T]],
        *,
        deadline: float,
    ) -> ChainRun[T]:
        """Run ``task(provider, kind)`` with each provider in turn until one succeeds."""
        started = time.monotonic()
        skipped: list[Skip] = []
        errors: list[Exception] = []
        for link in self.links:
            reason = self._why_not(link, deadline)
            if reason is not None:
                skipped.append(Skip(link.name, reason))
                continue
            meter = _Meter()
            guarded = GuardedProvider(link, deadline, self.usage, meter)

            def skip(why: str, meter: _Meter = meter, name: str = link.name) -> Skip:
                return Skip(name, why, meter.prompt_tokens, meter.completion_tokens)

            try:
                value = await task(guarded, link.kind)
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else DEFAULT_COOLDOWN_S
                if self.usage is not None:
                    self.usage.cool_down(link.name, wait, str(exc))
                skipped.append(skip(f"rate limited (429), retry after {wait:.0f} s"))
                errors.append(exc)
                continue
            except CircuitOpen as exc:
                skipped.append(skip(f"circuit open: {exc}"))
                errors.append(exc)
                continue
            except (BudgetExhausted, ProviderRefused) as exc:
                skipped.append(skip(own_words(str(exc), link.name)))
                errors.append(exc)
                continue
            except ProviderError as exc:
                skipped.append(skip(f"failed: {own_words(str(exc), link.name)}"))
                errors.append(exc)
                continue
            return ChainRun(
                value=value,
                provider=link.name,
                model=link.provider.model,
                kind=link.kind,
                skipped=tuple(skipped),
                elapsed_ms=(time.monotonic() - started) * 1000,
                prompt_tokens=meter.prompt_tokens,
                completion_tokens=meter.completion_tokens,
                cost=meter.cost,
            )
        exhausted = ChainExhausted(tuple(skipped))
        if errors:
            raise exhausted from ExceptionGroup("every provider failed", errors)
        raise exhausted

    async def complete(self, request: Request, *, deadline: float) -> ChainRun[Response]:
        """One request answered by the first provider that can."""

        async def task(provider: GuardedProvider, kind: str) -> Response:
            return require_text(await provider.complete(request))

        return await self.run(task, deadline=deadline)


def breaker_for(registry: Any, name: str) -> CircuitBreaker:
    """The stored breaker guarding provider ``name`` (one policy for every provider)."""
    breaker: CircuitBreaker = registry.get(f"provider:{name}", BREAKER_POLICY)
    return breaker
