"""Benchmarks on several devices at once: one thread per device, one device's failure does not
stop the others, and the outcome of each is kept (its result, or the error that ended it).

Ctrl-C while waiting asks every device for its partial results (a second Ctrl-C drops them).
"""

from __future__ import annotations

import datetime as _dt
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import EdgekitError
from .bench import Cancel, bench_on_device, prepare_inputs
from .inventory import Device

FLEET_SCHEMA = "edgekit.fleet/1"


@dataclass
class Outcome:
    device: Device
    result: dict | None = None
    error: EdgekitError | None = None

    def to_dict(self) -> dict:
        error = None if self.error is None else {
            "type": type(self.error).__name__, "exit_code": self.error.exit_code, "message": self.error.message}
        return {"name": self.device.name, "address": self.device.address, "ok": self.error is None,
                "result": self.result, "error": error}


def bench_on_devices(devices: list[Device], models, *, data=None, reference=None, save_reference_to=None,
                     timing, threads=None, backend="auto", min_relative_accuracy=0.99,
                     accept_new_host_key=False, on_step: Callable[[str, str], None] | None = None,
                     on_tick: Callable[[str, str, int], None] | None = None) -> list[Outcome]:
    """Run the benchmark on every device in parallel; an Outcome per device, in order."""
    with tempfile.TemporaryDirectory(prefix="edgekit-fleet-") as tmp:
        inputs = prepare_inputs(models, Path(tmp), data=data, reference=reference,
                                save_reference_to=save_reference_to, threads=threads)
        outcomes = [Outcome(device) for device in devices]
        cancel = Cancel()

        def work(outcome: Outcome, done: threading.Event):
            name = outcome.device.name
            try:
                outcome.result = bench_on_device(
                    outcome.device, inputs, timing=timing, threads=threads, backend=backend,
                    min_relative_accuracy=min_relative_accuracy, accept_new_host_key=accept_new_host_key,
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
                (cancel.force if cancel.stop.is_set() else cancel.stop).set()


def fleet_report(outcomes: list[Outcome]) -> dict:
    """The JSON of a fleet run (schema edgekit.fleet/1): each device's result or error."""
    return {
        "schema": FLEET_SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "devices": [o.to_dict() for o in outcomes],
        "failed": [o.device.name for o in outcomes if o.error is not None],
        "interrupted": any(o.result is not None and o.result.get("interrupted") for o in outcomes)
        or any(o.error is not None and o.error.exit_code == 130 for o in outcomes),
    }
