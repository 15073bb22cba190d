"""The supervisor: restarts with backoff, isolation by intensity, heartbeats, staged stop."""

from __future__ import annotations

import asyncio

from vigil.reliability.supervisor import Backoff, Beat, Spec, Status, Supervisor
from vigil.testing import FakeClock, eventually

FAST = Backoff(base=0.001, cap=0.01)


async def _forever(beat: Beat) -> None:
    while True:
        beat()
        await asyncio.sleep(0.01)


async def test_crashed_component_is_restarted() -> None:
    """A component that raises is restarted and runs again; its restarts are counted."""
    clock = FakeClock()
    runs = 0

    async def flaky(beat: Beat) -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("boom")
        await _forever(beat)

    changes: list[tuple[str, str, str]] = []
    sup = Supervisor(clock, on_change=lambda n, o, new, r: changes.append((n, new, r)))
    sup.add(Spec("flaky", flaky, backoff=FAST))
    await sup.start()
    await eventually(lambda: runs == 3 and sup.status("flaky") is Status.RUNNING)
    snapshot = sup.snapshot()[0]
    await sup.stop()
    assert snapshot["restarts"] == 2 and snapshot["last_error"] == "RuntimeError: boom"
    assert ("flaky", "backoff", "RuntimeError: boom") in changes
    assert sup.status("flaky") is Status.STOPPED


async def test_crash_loop_is_isolated_and_others_keep_running() -> None:
    """A component crashing more than max_restarts times within the window is isolated and
    reported, while a healthy component keeps running."""
    clock = FakeClock()
    isolated: list[str] = []
    ticks = 0

    async def broken(beat: Beat) -> None:
        raise ValueError("always")

    async def healthy(beat: Beat) -> None:
        nonlocal ticks
        while True:
            ticks += 1
            beat()
            await asyncio.sleep(0.001)

    sup = Supervisor(clock, on_isolated=lambda name, reason: isolated.append(name))
    sup.add(Spec("broken", broken, max_restarts=3, window=60, backoff=FAST))
    sup.add(Spec("healthy", healthy))
    await sup.start()
    await eventually(lambda: isolated == ["broken"])
    before = ticks
    await eventually(lambda: ticks > before + 5)
    assert sup.status("broken") is Status.ISOLATED
    assert sup.status("healthy") is Status.RUNNING
    assert sup.snapshot()[0]["restarts"] == 3
    assert not sup.ready()
    await sup.stop()


async def test_crashes_spread_out_are_never_isolated() -> None:
    """Crashes further apart than the window do not add up to isolation."""
    clock = FakeClock()
    runs = 0

    async def rare(beat: Beat) -> None:
        nonlocal runs
        runs += 1
        clock.advance(120)  # each crash happens two minutes after the previous one
        if runs <= 6:
            raise RuntimeError("now and then")
        await _forever(beat)

    sup = Supervisor(clock)
    sup.add(Spec("rare", rare, max_restarts=2, window=60, backoff=FAST))
    await sup.start()
    await eventually(lambda: runs == 7 and sup.status("rare") is Status.RUNNING)
    await sup.stop()


async def test_two_missed_heartbeats_cancel_and_restart() -> None:
    """A component silent for two heartbeat intervals is cancelled and restarted."""
    clock = FakeClock()
    starts = 0
    cancelled = 0

    async def stuck(beat: Beat) -> None:
        nonlocal starts, cancelled
        starts += 1
        try:
            await asyncio.sleep(3600)  # never beats
        except asyncio.CancelledError:
            cancelled += 1
            raise

    sup = Supervisor(clock, watch_interval=0.005)
    sup.add(Spec("stuck", stuck, heartbeat=5.0, backoff=FAST))
    await sup.start()
    await eventually(lambda: starts == 1)
    clock.advance(9)  # under two intervals: left alone
    await asyncio.sleep(0.05)
    assert cancelled == 0 and sup.stuck() == []
    clock.advance(2)  # now 11 s without a beat
    assert sup.stuck() == ["stuck"]
    await eventually(lambda: starts == 2)
    assert cancelled == 1
    assert "missed heartbeats" in (sup.snapshot()[0]["last_error"] or "")
    await sup.stop()


async def test_beating_component_is_left_alone() -> None:
    """A component that beats in time is never cancelled, however long it runs."""
    clock = FakeClock()

    async def diligent(beat: Beat) -> None:
        while True:
            beat()
            await asyncio.sleep(0.001)

    sup = Supervisor(clock, watch_interval=0.005)
    sup.add(Spec("diligent", diligent, heartbeat=1.0))
    await sup.start()
    for _ in range(20):
        clock.advance(0.5)
        await asyncio.sleep(0.003)
    assert sup.snapshot()[0]["restarts"] == 0
    assert sup.ready()
    await sup.stop()


async def test_stop_runs_in_stages_highest_first() -> None:
    """Shutdown stops the highest stage first and waits for it before the next."""
    clock = FakeClock()
    order: list[str] = []

    def component(name: str) -> object:
        async def run(beat: Beat) -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                order.append(name)
                await asyncio.sleep(0.01)  # a little cleanup work
                raise

        return run

    sup = Supervisor(clock)
    sup.add(Spec("storage", component("storage"), stage=0))  # type: ignore[arg-type]
    sup.add(Spec("http", component("http"), stage=3))  # type: ignore[arg-type]
    sup.add(Spec("consumer", component("consumer"), stage=1))  # type: ignore[arg-type]
    await sup.start()
    await eventually(sup.ready)
    await sup.stop()
    assert order == ["http", "consumer", "storage"]
    assert all(c["status"] == "stopped" for c in sup.snapshot())


async def test_component_that_returns_is_finished_not_restarted() -> None:
    """A component that returns on its own is marked finished and not restarted."""
    clock = FakeClock()
    runs = 0

    async def once(beat: Beat) -> None:
        nonlocal runs
        runs += 1

    sup = Supervisor(clock)
    sup.add(Spec("once", once, required=False))
    await sup.start()
    await eventually(lambda: sup.status("once") is Status.FINISHED)
    await asyncio.sleep(0.02)
    assert runs == 1
    await sup.stop()
