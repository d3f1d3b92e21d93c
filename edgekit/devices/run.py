"""`benchmark`: the one entry point of `edgekit bench`, here or on devices over SSH.

The host prepares the data and the reference outputs once (`prepare_inputs`), then measures
on this machine (`run_benchmark` with crash isolation) or on every device named.
"""

from __future__ import annotations

from typing import Callable

from ..artifact import BenchResult, FleetResult
from ..bench.run import run_benchmark
from ..bench.sweep import run_sweep
from ..errors import BoundError, EdgekitError, Interrupted, UsageError, error_for_exit_code
from .bench import BenchRequest, prepare_inputs
from .fleet import bench_on_devices, fleet_result
from .inventory import load_inventory, resolve_devices


def benchmark(models, request: BenchRequest = BenchRequest(), *, devices: str | None = None,
              accept_new_host_key: bool = False, on_step: Callable[[str], None] | None = None,
              on_tick: Callable[[str, int], None] | None = None) -> BenchResult | FleetResult:
    """Measure `models` here (devices=None) or on `devices` (inventory names or groups,
    comma-separated, or ssh://user@host:port). One device gives its BenchResult (its error
    is raised); several give a FleetResult with each device's result or error."""
    if devices is None:
        if accept_new_host_key:
            raise UsageError("`accept_new_host_key` applies to runs on devices (`devices`) only; name the devices or drop it")
        inputs = prepare_inputs(models, request, threads=request.threads)
        if request.sweep is not None:
            return run_sweep(inputs.models, request.sweep, data=inputs.data, timing=request.timing,
                             backend=request.backend, on_step=on_step, on_tick=on_tick)
        return run_benchmark(
            inputs.models, data=inputs.data, reference=inputs.reference, timing=request.timing,
            threads=request.threads, backend=request.backend, xnnpack=request.xnnpack,
            delegate=request.delegate, device=request.device,
            min_relative_accuracy=request.min_relative_accuracy, isolate=True, on_step=on_step, on_tick=on_tick,
        )
    targets = resolve_devices(devices, load_inventory())
    inputs = prepare_inputs(models, request, threads=request.threads)
    fleet = len(targets) > 1

    def step(name: str, message: str):
        if on_step:
            on_step(f"{name}: {message}" if fleet else message)

    def tick(name: str, model: str, count: int):
        if on_tick:
            on_tick(f"{name}: {model}" if fleet else model, count)

    outcomes = bench_on_devices(targets, inputs, request, accept_new_host_key=accept_new_host_key,
                                on_step=step, on_tick=tick)
    if fleet:
        return fleet_result(outcomes)
    if outcomes[0].error is not None:
        raise outcomes[0].error
    return outcomes[0].result


def outcome_error(result: BenchResult | FleetResult, strict: bool = False) -> EdgekitError | None:
    """The error a finished benchmark ends with, if any: interrupted (130), a device that
    failed (its exit code), or with `strict` a model whose verdict is FAIL (5)."""
    if result.interrupted:
        return Interrupted("interrupted: the partial results are above")
    if isinstance(result, FleetResult):
        failed = [d for d in result.devices if d.error is not None]
        if failed:
            first = failed[0].error
            return error_for_exit_code(first.exit_code)(
                f"{len(result.devices) - len(failed)} of {len(result.devices)} devices gave results; failed: "
                f"{', '.join(d.name for d in failed)} (first: {first.message})")
        fails = [f"{d.name}: {m.name}" for d in result.devices for m in d.result.failed()]
    else:
        fails = [m.name for m in result.failed()]
    if strict and fails:
        bound = result.config.min_relative_accuracy if isinstance(result, BenchResult) else None
        limit = f" below {bound:g} x the reference accuracy" if bound is not None else ""
        return BoundError(f"FAIL: {', '.join(fails)}{limit} (`strict`)")
    return None
