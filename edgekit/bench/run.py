"""`run_benchmark`: latency for every model, accuracy against a reference, a verdict each.

Runs on the device as well as on the host: numpy and edgekit.runtime only. Data arrives as a
`Dataset` and the reference as arrays (`ReferenceOutputs`), both prepared by the caller (the
host computes a Keras reference; a device reads a saved one), so nothing here imports a
converter. The stages: load the models (`load_models`), measure each (`measure_model`),
compare and judge them (`judge`), and put the result together (`BenchResult`).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .. import _signals
from ..artifact import (
    BenchConfig, BenchResult, Comparison, ModelResult, ReferenceInfo, Verdict, VsFirst,
)
from ..artifact.manifest import now
from ..errors import BadInputError, UsageError
from ..metrics import compare_outputs, is_classifier_output, top_k_accuracy
from ..runtime import Model, load
from ..runtime.interpreter import check_threads, delegated_nodes
from ..runtime.timing import TimingConfig, time_model
from .memory import peak_rss_mib, rss_mib
from .validity import machine_facts, validity_warnings


@dataclass(frozen=True)
class ReferenceOutputs:
    """The reference model's outputs on the benchmark data, and where they came from."""

    outputs: np.ndarray
    info: ReferenceInfo


@dataclass(frozen=True)
class Loaded:
    model: Model
    load_ms: float
    load_rss_mib: float | None
    memory_mib: float | None = None  # measured by the isolating probe (a process of its own)


@dataclass(frozen=True)
class Measured:
    """One model's measurement before the comparison: its result so far and its outputs."""

    result: ModelResult
    outputs: np.ndarray | None


def edgekit_version() -> str | None:
    try:
        return importlib.metadata.version("edgekit")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_options(paths, data, reference, threads, min_relative_accuracy) -> None:
    if not paths:
        raise UsageError("no model given; pass one or more .tflite files in `paths`")
    if not 0 < min_relative_accuracy <= 1:
        raise UsageError(f"`min_relative_accuracy` must be in (0, 1]; received {min_relative_accuracy}")
    if reference is not None and data is None:
        raise UsageError("`reference` needs `data` (the inputs to compare the models on)")
    check_threads(threads)


def load_models(paths, *, backend: str, threads: int | None, isolate: bool, step, xnnpack: bool = True,
                delegate: str | None = None, device: str | None = None) -> list[Loaded]:
    """Each model loaded (after a crash-isolating probe with `isolate`), its load time and
    the resident memory its load added. `delegate`/`device`: see edgekit.runtime.load."""
    import time

    loaded = []
    for path in paths:
        step(f"loading {Path(path).name}")
        memory = None
        if isolate and delegate is None and not _compiled_for_edgetpu(path):
            from ..runtime.probe import probe_model  # (a delegate's device cannot be opened twice at once)

            memory = probe_model(path, backend=backend, threads=threads).memory_mib
        before = rss_mib()
        started = time.perf_counter_ns()
        model = load(path, backend=backend, threads=threads, xnnpack=xnnpack, delegate=delegate, device=device)
        load_ms = (time.perf_counter_ns() - started) / 1e6
        growth = None if before is None else round(rss_mib() - before, 2)
        loaded.append(Loaded(model, load_ms, growth, memory))
    _check_same_input([item.model for item in loaded])
    return loaded


def _compiled_for_edgetpu(path) -> bool:
    """A *_edgetpu.tflite (or a file with the compiler's custom op): load() gives it the Edge
    TPU delegate; without it the interpreter cannot run it, so no CPU-only probe."""
    from ..runtime.edgetpu import is_edgetpu_model
    from ..runtime.tflite_file import read_tflite_file

    return is_edgetpu_model(path, read_tflite_file(path))


def _check_same_input(models) -> None:
    first = models[0]
    for other in models[1:]:
        a, b = first.inputs, other.inputs
        if len(a) != len(b) or any(x.shape[1:] != y.shape[1:] for x, y in zip(a, b)):
            raise BadInputError(
                f"{first.path.name} and {other.path.name} take different inputs "
                f"({[s.shape for s in a]} vs {[s.shape for s in b]}); benchmark models of one network together"
            )


def one_batch(model: Model, x: np.ndarray | None):
    """One model batch for timing: the first samples of the data, else zeros of the input spec."""
    spec = model.inputs[0]
    batch = spec.shape[0] if spec.shape else 1
    if x is not None and len(x) >= batch:
        return x[:batch]
    zeros = [np.zeros(s.shape, np.dtype(s.dtype)) for s in model.inputs]
    return zeros if len(zeros) > 1 else zeros[0]


def model_outputs(model: Model, x: np.ndarray) -> np.ndarray:
    """The model's (first) output on all of x, as float32; an interpreter failure on this
    data is a problem of the model or the data (BadInputError), not of edgekit."""
    try:
        out = model.predict(x)
    except (RuntimeError, ValueError) as exc:
        raise BadInputError(f"{model.path.name} failed on the data in the interpreter: {exc}") from exc
    return np.asarray(next(iter(out.values())) if isinstance(out, dict) else out, np.float32)


def measure_model(item: Loaded, x, timing: TimingConfig, step, on_tick) -> Measured:
    """Outputs on the data (if any), then latency on one batch."""
    model, name = item.model, item.model.path.name
    outputs = None
    if x is not None:
        step(f"accuracy: {name} on {len(x)} samples")
        outputs = model_outputs(model, x)
    step(f"latency: {name}")
    tick = (lambda n: on_tick(name, n)) if on_tick else None
    measured = time_model(model, one_batch(model, x), timing, on_tick=tick)
    manifest = model.manifest
    warnings = () if model.manifest_problem is None else (f"{name}: manifest ignored: {model.manifest_problem}",)
    xnnpack = None if model.delegate else _xnnpack(model)  # a named delegate replaces XNNPACK
    result = ModelResult(
        name=name, path=str(model.path), size_bytes=model.size_bytes, backend=model.backend,
        threads=model.threads, recipe=None if manifest is None else manifest.recipe.name,
        inputs=model.inputs, outputs=model.outputs, load_ms=item.load_ms, load_rss_mib=item.load_rss_mib,
        process_peak_rss_mib=round(peak_rss_mib(), 2), timing=measured, warnings=warnings,
        memory_mib=item.memory_mib, xnnpack=xnnpack, delegate=model.delegate,
        kernel_note=None if model.delegate else kernel_note(model, xnnpack),
    )
    return Measured(result, outputs)


def _xnnpack(model: Model) -> bool | None:
    """Whether a delegate (XNNPACK on the CPU) runs part of the model."""
    nodes = delegated_nodes(model.interpreter)
    return None if nodes is None else nodes > 0


def kernel_note(model: Model, xnnpack: bool | None) -> str | None:
    """Why a model runs on slow kernels, when edgekit can tell: int16 activations have no
    XNNPACK or optimized kernels in TFLite and run its reference kernels."""
    int16 = any(s.dtype == "int16" for s in model.inputs + model.outputs) or (
        model.manifest is not None and "int16" in model.manifest.recipe.activations)
    if int16 and not xnnpack:
        return "int16 activations run TFLite's reference kernels (no XNNPACK): expect it many times slower"
    if xnnpack is False:
        return "no XNNPACK delegate: TFLite's built-in kernels only"
    return None


def verdict(accuracy, reference_accuracy, min_relative: float) -> Verdict:
    """MLPerf-style: PASS when accuracy >= min_relative x reference accuracy."""
    if accuracy is None or reference_accuracy is None:
        return Verdict(None, "no verdict: needs labelled data and a reference")
    bound = min_relative * reference_accuracy
    word = "PASS" if accuracy >= bound else "FAIL"
    sign = ">=" if word == "PASS" else "<"
    return Verdict(word, f"accuracy {100 * accuracy:.2f}% {sign} {100 * min_relative:g}% of reference "
                         f"{100 * reference_accuracy:.2f}% ({100 * bound:.2f}%)")


def _comparison(outputs, labels, reference) -> Comparison | None:
    if outputs is None or reference is None:
        return None
    if reference.shape != outputs.shape:
        raise BadInputError(
            f"the reference gives outputs of shape {reference.shape[1:]} per sample but the "
            f"model gives {outputs.shape[1:]}; use the float model of this network as reference"
        )
    return compare_outputs(reference, outputs, labels if is_classifier_output(outputs) else None)


def judge(measured: list[Measured], reference: ReferenceOutputs | None, labels,
          min_relative: float) -> tuple[tuple[ModelResult, ...], ReferenceInfo | None]:
    """Accuracy and fidelity blocks, verdicts, and each model against the first. Without a
    reference, the first model is the reference (its verdict is REF)."""
    if not measured:
        return (), None if reference is None else reference.info
    ref_out, info = (reference.outputs, reference.info) if reference is not None else (measured[0].outputs, None)
    if info is None and ref_out is not None:
        info = ReferenceInfo(kind="first-model", path=measured[0].result.path)
    if info is not None and ref_out is not None and labels is not None and is_classifier_output(ref_out):
        info = replace(info, accuracy=top_k_accuracy(ref_out, labels, 1))
    results = []
    first = None
    for i, item in enumerate(measured):
        comparison = _comparison(item.outputs, labels, ref_out)
        accuracy = None if comparison is None else comparison.accuracy
        is_ref = info is not None and info.kind == "first-model" and i == 0
        word = Verdict("REF", "the reference") if is_ref else verdict(
            accuracy, None if info is None else info.accuracy, min_relative)
        result = replace(item.result, comparison=comparison, verdict=word)
        first = first or result
        results.append(replace(result, vs_first=_vs_first(result, first)))
    return tuple(results), info


def _vs_first(result: ModelResult, first: ModelResult) -> VsFirst:
    acc, first_acc = result.accuracy, first.accuracy
    p50 = result.latency.p50_ms
    return VsFirst(
        size_ratio=result.size_bytes / first.size_bytes if first.size_bytes else 0.0,
        speedup=first.latency.p50_ms / p50 if p50 > 0 else None,
        accuracy_delta=None if acc is None or first_acc is None else acc - first_acc,
    )


def run_benchmark(
    paths: list[str | Path],
    *,
    data=None,
    reference: ReferenceOutputs | None = None,
    timing: TimingConfig = TimingConfig(),
    threads: int | None = None,
    backend: str = "auto",
    min_relative_accuracy: float = 0.99,
    isolate: bool = False,
    on_step: Callable[[str], None] | None = None,
    on_tick: Callable[[str, int], None] | None = None,
    xnnpack: bool = True,
    delegate: str | None = None,
    device: str | None = None,
) -> BenchResult:
    """Benchmark each .tflite in `paths` on this machine.

    data: a Dataset (edgekit.data; see `load_bench_data`) or None (latency on zeros only);
    reference: the reference outputs on data.x (None: the first model is the reference).
    isolate=True probes each file in a child process before loading it here (the CLI does
    this for every file: a model that crashes the interpreter must not crash edgekit).
    xnnpack=False runs the builtin kernels (no default delegate) to measure what XNNPACK buys;
    delegate="edgetpu" runs the models on a Coral Edge TPU, `device` (usb, usb:0, pci:0) names
    which (*_edgetpu.tflite files get the delegate without asking; they are not probed first).
    Ctrl-C during the timed runs keeps what was measured (`interrupted`)."""
    step = on_step or (lambda message: None)
    check_options(paths, data, reference, threads, min_relative_accuracy)
    loaded = load_models(paths, backend=backend, threads=threads, isolate=isolate, step=step, xnnpack=xnnpack,
                         delegate=delegate, device=device)
    x = None if data is None else data.x
    measured, interrupted = [], False
    for item in loaded:
        try:
            measured.append(measure_model(item, x, timing, step, on_tick))
        except KeyboardInterrupt:
            _signals.handled()
            interrupted = True
            break
        if measured[-1].result.timing.interrupted:
            interrupted = True
            break
    models, info = judge(measured, reference, None if data is None else data.y, min_relative_accuracy)
    facts = machine_facts()
    return BenchResult(
        created=now(), edgekit_version=edgekit_version(), system=facts,
        config=BenchConfig(timing.settings(), threads, backend, min_relative_accuracy),
        data=None if data is None else data.to_summary(), reference=info, models=models,
        warnings=validity_warnings(facts, models), interrupted=interrupted,
    )
