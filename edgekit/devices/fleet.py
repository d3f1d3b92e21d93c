"""Benchmarks on several devices at once: one thread per device, one device's failure does not
stop the others, and the outcome of each is kept (its result, or the error that ended it).

Ctrl-C while waiting asks every device for its partial results (a second Ctrl-C drops them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from .. import _signals
from ..artifact import BenchResult, ErrorInfo, FleetEntry, FleetResult
from ..artifact.manifest import now
from ..errors import EdgekitError
from .bench import BenchRequest, Cancel, HostInputs, bench_on_device
from .inventory import Device


@dataclass
class Outcome:
    device: Device
    result: BenchResult | None = None
    error: EdgekitError | None = None

    def entry(self) -> FleetEntry:
        error = None if self.error is None else ErrorInfo(type(self.error).__name__, self.error.exit_code,
                                                          self.error.message)
        return FleetEntry(self.device.name, self.device.address, self.result, error)


def bench_on_devices(devices: list[Device], inputs: HostInputs, request: BenchRequest, *,
                     accept_new_host_key=False, on_step: Callable[[str, str], None] | None = None,
                     on_tick: Callable[[str, str, int], None] | None = None) -> list[Outcome]:
    """Run the benchmark on every device in parallel; an Outcome per device, in order."""
    outcomes = [Outcome(device) for device in devices]
    cancel = Cancel()

    def work(outcome: Outcome, done: threading.Event):
        name = outcome.device.name
        try:
            outcome.result = bench_on_device(
                outcome.device, inputs, request, accept_new_host_key=accept_new_host_key,
                on_step=(lambda message: on_step(name, message)) if on_step else None,
                on_tick=(lambda model, count: on_tick(name, model, count)) if on_tick else None,
                cancel=cancel,
            )
        except EdgekitError as exc:
            outcome.error = exc
        except Exception as exc:  # a bug: keep it with this device, the others go on
            outcome.error = EdgekitError(f"{name}: internal error: {type(exc).__name__}: {exc} (a bug in edgekit)")
        finally:
            done.set()

    done = [threading.Event() for _ in outcomes]
    for outcome, flag in zip(outcomes, done):
        threading.Thread(target=work, args=(outcome, flag), daemon=True, name=f"edgekit-{outcome.device.name}").start()
    wait_all(done, cancel)
    return outcomes


def wait_all(done: list[threading.Event], cancel: Cancel) -> None:
    """Wait for every worker's `done`; Ctrl-C sets cancel.stop, a second one cancel.force.
    (Events, not Thread.join: a join interrupted by Ctrl-C can report a live thread as ended.)"""
    for flag in done:
        while not flag.is_set():
            try:
                flag.wait(timeout=0.2)
            except KeyboardInterrupt:
                _signals.handled()  # the devices are asked for their partial results
                (cancel.force if cancel.stop.is_set() else cancel.stop).set()


def fleet_result(outcomes: list[Outcome]) -> FleetResult:
    """The fleet's result (schema edgekit.fleet/2): each device's result or error."""
    interrupted = any(o.result is not None and o.result.interrupted for o in outcomes) or any(
        o.error is not None and o.error.exit_code == 130 for o in outcomes)
    return FleetResult(created=now(), devices=tuple(o.entry() for o in outcomes), interrupted=interrupted)
