"""Two rotation runs on one secret, interleaved step by step: the race a store must refuse.

Both runs look at the store (no pending version, the same current one) before either writes;
then the first writes its pending version, then the second tries to write its own, and only
when the second has finished does the first go on to apply, test and finish. A store that lets
the second write a second pending version lets both runs apply their values and race to
promote: the issuer ends up with one run's value and the store with the other's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from leakstop.config.secrets import ManagedSecret
from leakstop.rotator.machine import Machine, RotationResult, Step

#: Seconds a run waits for the other to reach its step before the test gives up (a hang is a
#: failure, not a stuck CI job).
WAIT = 60.0


@dataclass
class _Turns:
    first_looked: threading.Event
    second_looked: threading.Event
    first_wrote: threading.Event
    second_done: threading.Event

    @classmethod
    def new(cls) -> _Turns:
        return cls(threading.Event(), threading.Event(), threading.Event(), threading.Event())

    def all(self) -> tuple[threading.Event, ...]:
        return (self.first_looked, self.second_looked, self.first_wrote, self.second_done)


def _wait(event: threading.Event, what: str) -> None:
    if not event.wait(WAIT):
        raise AssertionError(f"the other run did not {what} within {WAIT:.0f} s")


def interleave(
    first: Callable[[Callable[[Step], None]], Machine],
    second: Callable[[Callable[[Step], None]], Machine],
    secret: ManagedSecret,
) -> tuple[RotationResult, RotationResult]:
    """Run two machines (built by `first` and `second` from an `after_step` hook) on `secret`
    in two threads, in the order above; their results, first's then second's. An exception
    in either run is raised here."""
    turns = _Turns.new()
    results: dict[str, RotationResult] = {}
    errors: list[BaseException] = []

    def first_steps(step: Step) -> None:
        if step is Step.CREATE:  # it looked before creating: now the second one looks
            turns.first_looked.set()
            _wait(turns.second_looked, "look at the store")
        elif step is Step.SET:
            turns.first_wrote.set()
            _wait(turns.second_done, "finish")

    def second_steps(step: Step) -> None:
        if step is Step.CREATE:
            turns.second_looked.set()
            _wait(turns.first_wrote, "write its pending version")

    def run(key: str, machine: Machine) -> None:
        try:
            results[key] = machine.rotate(secret, reason="race test")
        except BaseException as exc:  # noqa: BLE001 (raised in the test's thread below)
            errors.append(exc)
        finally:
            for event in turns.all():
                if key == "second" or event is not turns.second_done:
                    event.set()

    threads = [
        threading.Thread(target=run, args=("first", first(first_steps))),
        threading.Thread(target=run, args=("second", second(second_steps))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    if errors:
        raise errors[0]
    assert not any(t.is_alive() for t in threads), "a run hung"
    return results["first"], results["second"]
