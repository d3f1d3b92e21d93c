"""`optimize`: the best artifact for a target under the user's budgets, measured on the target.

Order of work: check every argument, the outputs and the target (a device is contacted
before anything is converted); convert every candidate recipe once on the host into a
temporary folder (verified on the eval data); plan the candidates (artifacts x thread counts x
XNNPACK on/off), never timing one whose accuracy or size already misses its budget; measure
them on the target in one sweep (one upload per device; dominated artifacts are not measured
further; the time budget stops it); judge, find the Pareto front and pick; then write the
pick and its manifest. The temporary folder goes in every case.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from .._files import check_outputs, output_lock, temp_folder
from ..convert import ConvertRequest, DataOptions, EdgeTpuOptions, LoadOptions
from ..convert.request import read_labels
from ..errors import BadInputError, Interrupted, UsageError, error_for_exit_code
from ..quantize.recipes import RECIPE_NAMES, resolve_recipes
from ..runtime.timing import TimingConfig
from .budgets import Budgets, make_budgets, parse_duration
from .build import Built, Conversion, convert_candidates
from .plan import Plan, fill, make_plan
from .result import OptimizeResult, Times
from .select import choose
from .target import Target, device_target, local_target
from .write import output_path, write_pick

# Enough timed runs for a stable p90 of a millisecond model, short enough for dozens of candidates.
OPTIMIZE_TIMING = TimingConfig(runs=100, min_time=0.5, warmup=10, warmup_time=0.2)


def optimize(
    model: str | Path,
    *,
    calib: str | None = None,
    eval: str | None = None,  # noqa: A002 - the name users know (--eval)
    calib_samples: int = 200,
    labels: str | Path | None = None,
    scale: float | None = None,
    mean=None,
    std=None,
    batch: int | None = None,
    input_shape: str | None = None,
    custom_objects: str | Path | None = None,
    trust_model: bool = False,
    max_drop: float | None = None,
    min_agreement: float | None = None,
    max_latency: str | None = None,
    max_size: str | None = None,
    max_memory: str | None = None,
    latency_percentile=None,
    objective: str = "latency",
    recipes=None,
    qat=None,
    threads=None,
    devices: str | None = None,
    accept_new_host_key: bool = False,
    edgetpu: bool = False,
    time_budget: str | None = None,
    timing: TimingConfig = OPTIMIZE_TIMING,
    output: str | Path | None = None,
    force: bool = False,
    best_effort: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> OptimizeResult:
    """Convert `model` with every candidate recipe, measure each candidate artifact under
    each runtime setting on the target (this machine, or `devices` over SSH), and write the
    best one on the `objective` among those that meet every budget.

    max_latency/max_size/max_memory/time_budget are text with units ('20ms', '5MB',
    '64MiB', '10min'); max_drop is in accuracy points, min_agreement a share (0.99);
    recipes: names (default every post-training recipe; qat-int8 is added with `qat`, a
    QatSettings); threads: counts to try (default 1..the target's cores); edgetpu: the target
    has a Coral Edge TPU (the int8 artifact is compiled, needs edgetpu_compiler here, and timed
    with the Edge TPU delegate, which needs libedgetpu on the target). Returns an
    OptimizeResult; `bound_error()` is the exit-5 error when nothing meets every budget
    (then nothing is written, unless best_effort: the closest is)."""
    started, step = time.perf_counter(), on_step or (lambda message: None)
    budgets = make_budgets(max_drop=max_drop, min_agreement=min_agreement, max_latency=max_latency,
                           max_size=max_size, max_memory=max_memory, latency_percentile=latency_percentile,
                           objective=objective)
    data = DataOptions(calib, eval, calib_samples, scale, _floats(mean), _floats(std), read_labels(labels),
                       None if labels is None else f"labels file {labels}")
    limit_s = check_run(budgets, timing, time_budget, best_effort, data)
    request, notes = convert_request(Path(model), recipes, qat, budgets, data,
                                     LoadOptions(batch, input_shape, custom_objects, trust_model), edgetpu)
    path = output_path(request.model, None if output is None else Path(output))
    files = [path, path.with_suffix(".json")]
    check_outputs(files, force, inputs=[request.model])
    target = device_target(devices, threads, accept_new_host_key, step, edgetpu) if devices else \
        local_target(threads, accept_new_host_key, edgetpu)
    step(f"budgets: {'; '.join(budgets.describe()) or 'none'}; objective: {budgets.describe_objective()}; "
         f"target: {target.info.name} ({target.info.cores} cores, threads {','.join(map(str, target.info.threads))})")
    with output_lock(files), temp_folder("edgekit-optimize-") as tmp:
        result, built = search(request, budgets, target, timing, limit_s, started, Path(tmp), step)
        result = replace(result, notes=tuple(notes) + result.notes)
        chosen = result.candidate(result.pick or (result.closest_overall if best_effort else None))
        if chosen is not None:
            step(f"writing {path.name}")
            result = replace(result, written=write_pick(result, chosen.id, built[chosen.artifact], path))
    return replace(result, times=replace(result.times, total_s=round(time.perf_counter() - started, 3)))


def _floats(values) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in np.atleast_1d(values))


def check_run(budgets: Budgets, timing: TimingConfig, time_budget, best_effort: bool, data: DataOptions) -> float | None:
    """Usage errors of the run as a whole (budgets that contradict each other or the data)."""
    limit = None if time_budget is None else parse_duration(time_budget)
    one = timing.min_time + timing.warmup_time
    if limit is not None and limit < one:
        raise UsageError(f"`time_budget` {time_budget} is shorter than one measurement ({one:g} s of `min_time` "
                         "and `warmup_time`); raise the time budget or shorten the timing")
    if best_effort and not budgets.any:
        raise UsageError("`best_effort` writes the closest candidate when the budgets cannot all be met; give a "
                         "budget (`max_drop`, `min_agreement`, `max_latency`, `max_size`, `max_memory`) or drop it")
    if budgets.bound is not None and data.eval is None:
        raise UsageError("`max_drop`/`min_agreement` are measured on `eval` data (labelled, for `max_drop`): "
                         "pass `eval`")
    if budgets.objective == "accuracy" and data.eval is None and data.calib is None:
        raise UsageError("the accuracy `objective` needs data to measure accuracy on: pass `eval`")
    return limit


def convert_request(model: Path, recipes, qat, budgets: Budgets, data: DataOptions, load: LoadOptions,
                    edgetpu: bool = False) -> tuple[ConvertRequest, list[str]]:
    """One convert request for every candidate recipe (checked before TensorFlow loads)."""
    notes = []
    if recipes is None:
        names = [n for n in RECIPE_NAMES if data.calib is not None or n not in ("int8", "int16x8")]
        if data.calib is None:
            notes.append("int8 and int16x8 were not tried: they need calibration data (`calib`)")
    else:
        names = list(recipes)
        if "qat-int8" in names and qat is None:
            raise UsageError("qat-int8 needs fine-tuning data: pass `train_data`")
    chosen = resolve_recipes(names + (["qat-int8"] if qat is not None else []))
    bound = budgets.bound if any(r.name == "int8" for r in chosen) else None
    tpu = None
    if edgetpu:
        from ..edgetpu import find_compiler

        tpu = EdgeTpuOptions()
        notes.append("the Edge TPU candidate's accuracy is its int8 model's (the Edge TPU runs that model)")
    request = ConvertRequest(model, tuple(chosen), data, load, qat=qat, bound=bound, best_effort=bound is not None,
                             edgetpu=tpu)
    if edgetpu:
        find_compiler()  # the compiler must be here (exit 2 saying how to install it), before any work
    return request, notes


def search(request: ConvertRequest, budgets: Budgets, target: Target, timing: TimingConfig, limit_s,
           started: float, folder: Path, step) -> tuple[OptimizeResult, dict[str, Built]]:
    """Convert, plan, measure, choose: the result (nothing written yet) and the artifacts."""
    conversion = convert_candidates(request, folder / "artifacts", step)
    check_labels(budgets, conversion)
    plan = make_plan(conversion.built, budgets, target.info.threads, target.info.xnnpack_switchable,
                     budgets.latency_percentile, None)
    skipped = len(conversion.built) - len(plan.timed)
    step(f"{len(plan.candidates)} candidates from {len(conversion.built)} artifacts; {skipped} artifact(s) never "
         f"timed (they miss the accuracy or size budget); {len(plan.run_ids)} to time")
    remaining = None if limit_s is None else limit_s - (time.perf_counter() - started)
    plan, outcomes, measure_s = measure(plan, target, timing, request.data, folder, remaining, step)
    candidates = fill(plan, outcomes)
    choice = choose(candidates, budgets)
    backend = next((r.models[0].backend for _, r in outcomes if r.models), target.info.backend)
    warnings = tuple(dict.fromkeys(target.warnings + tuple(w for _, r in outcomes for w in r.warnings)))
    result = OptimizeResult(
        model=request.model.name, target=replace(target.info, backend=backend), budgets=budgets,
        evaluation=conversion.result.evaluation, reference_accuracy=conversion.result.reference_accuracy,
        candidates=choice.candidates, front=choice.front, pick=choice.pick, reason=choice.reason,
        closest=choice.closest, closest_overall=choice.best_effort,
        times=Times(0.0, round(conversion.seconds, 3), round(measure_s, 3)),
        notes=tuple(conversion.result.notes) + accuracy_notes(budgets, conversion), warnings=warnings,
    )
    return result, {b.key: b for b in conversion.built}


def check_labels(budgets: Budgets, conversion: Conversion) -> None:
    if budgets.max_drop is not None and not conversion.result.evaluation.has_labels:
        raise BadInputError(f"`max_drop` compares accuracy, but the `eval` data {conversion.result.evaluation.source} "
                            "has no labels; pass labelled data (an .npz with y, class folders) or use `min_agreement`")


def accuracy_notes(budgets: Budgets, conversion: Conversion) -> tuple[str, ...]:
    if budgets.objective == "accuracy" and not conversion.result.evaluation.has_labels:
        return ("the eval data has no labels: the accuracy objective ranks by top-1 agreement with the float model",)
    return ()


def measure(plan: Plan, target: Target, timing: TimingConfig, data: DataOptions, folder: Path, remaining,
            step) -> tuple[Plan, list, float]:
    """The sweep on the target: the plan as measured (its artifacts staged), [(device name,
    BenchResult)], and the seconds it took."""
    from ..devices import BenchRequest, benchmark

    if plan.sweep is None:
        return plan, [], 0.0
    if remaining is not None and remaining <= 0:
        step("the time budget was used up by the conversions: nothing was timed")
        return plan, [], 0.0
    plan = stage(plan, folder / "timed")
    sample = timing_sample(data.eval or data.calib, plan.timed[0], folder)
    sweep = replace(plan.sweep, time_limit_s=remaining)
    started = time.perf_counter()
    result = benchmark([b.path for b in plan.timed], BenchRequest(data=sample, timing=timing, sweep=sweep),
                       devices=target.devices, accept_new_host_key=target.accept_new_host_key, on_step=step)
    seconds = time.perf_counter() - started
    return plan, device_results(result, target), seconds


def stage(plan: Plan, folder: Path) -> Plan:
    """The plan with its timed artifacts copied as KEY.tflite (+ KEY.json), so that progress
    lines and results name them by candidate."""
    folder.mkdir()
    timed = []
    for b in plan.timed:
        path = folder / f"{b.key}.tflite"
        shutil.copyfile(b.path, path)
        shutil.copyfile(b.path.with_suffix(".json"), path.with_suffix(".json"))
        timed.append(replace(b, path=path))
    return replace(plan, timed=tuple(timed))


def timing_sample(spec, built: Built, folder: Path) -> str | None:
    """The first model batch of the eval (else calibration) data, model-ready, as an .npz:
    the timing input (latency on real data rather than zeros)."""
    from ..data import load_data

    if spec is None:
        return None
    manifest = built.manifest
    shape = manifest.source.inputs[0].shape if manifest.source.inputs else manifest.inputs[0].shape
    prep = manifest.preprocessing
    extra = {} if prep is None else {"scale": prep.scale, "mean": prep.mean, "std": prep.std}
    ds = load_data(spec, shape, max_samples=max(int(shape[0]), 1), role="evaluation", **extra)
    np.savez(folder / "timing.npz", x=ds.x[: shape[0]])
    return str(folder / "timing.npz")


def device_results(result, target: Target) -> list:
    """[(device name, BenchResult)] from a benchmark; a device's failure or Ctrl-C raises."""
    from ..artifact import FleetResult

    if result.interrupted:
        raise Interrupted("interrupted while measuring; nothing was written")
    if not isinstance(result, FleetResult):
        return [(target.info.devices[0] if target.info.devices else "this machine", result)]
    failed = [d for d in result.devices if d.error is not None]
    if failed:
        first = failed[0].error
        raise error_for_exit_code(first.exit_code)(f"{failed[0].name}: {first.message}")
    return [(d.name, d.result) for d in result.devices]
