"""`run_benchmark`: latency for every model, accuracy against a reference, a verdict each.

Returns a JSON-ready dict (schema `edgekit.bench/1`). Runs on the device: numpy, Pillow
(image folders) and edgekit.runtime; only a .keras reference needs the converter stack.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
from pathlib import Path
from typing import Callable

import numpy as np

from ..data import load_data
from ..errors import BadInputError, UsageError
from ..metrics import compare_outputs, is_classifier_output, top_k_accuracy
from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD
from .measure import TimingConfig, load_timed, peak_rss_mib, rss_mib, time_model
from .reference import reference_outputs, save_reference
from .system import system_facts, validity_warnings

SCHEMA = "edgekit.bench/1"


def _version() -> str | None:
    try:
        return importlib.metadata.version("edgekit")
    except importlib.metadata.PackageNotFoundError:
        return None


def load_bench_data(spec: str, model) -> object:
    """--data for `model`'s input: .npz (x[, y]) or an image folder (preprocessed as the
    model's manifest records, else with the defaults)."""
    if spec is None:
        return None
    if len(model.inputs) != 1:
        raise BadInputError(f"--data works with single-input models; {model.path.name} has {len(model.inputs)} inputs")
    prep = (model.manifest or {}).get("preprocessing") or {}
    data = load_data(
        spec, model.inputs[0].shape, role="evaluation",
        scale=prep.get("scale", DEFAULT_SCALE), mean=prep.get("mean", DEFAULT_MEAN),
        std=prep.get("std", DEFAULT_STD),
    )
    return data


def _check_same_input(models) -> None:
    first = models[0]
    for other in models[1:]:
        a, b = first.inputs, other.inputs
        if len(a) != len(b) or any(x.shape[1:] != y.shape[1:] for x, y in zip(a, b)):
            raise BadInputError(
                f"{first.path.name} and {other.path.name} take different inputs "
                f"({[s.shape for s in a]} vs {[s.shape for s in b]}); benchmark models of one network together"
            )


def _accuracy(outputs: np.ndarray, labels, reference) -> dict:
    block = {"accuracy": None, "top5_accuracy": None, "agreement": None, "max_abs_error": None,
             "rmse": None, "snr_db": None, "cosine": None}
    if labels is not None and is_classifier_output(outputs):
        block["accuracy"] = top_k_accuracy(outputs, labels, 1)
        if outputs.shape[1] >= 10:
            block["top5_accuracy"] = top_k_accuracy(outputs, labels, 5)
    if reference is not None:
        if reference.shape != outputs.shape:
            raise BadInputError(
                f"the reference gives outputs of shape {reference.shape[1:]} per sample but the "
                f"model gives {outputs.shape[1:]}; use the float model of this network as reference"
            )
        m = compare_outputs(reference, outputs)
        block.update(agreement=m["top1_agreement"], max_abs_error=m["max_abs_error"], rmse=m["rmse"],
                     snr_db=m["snr_db"], cosine=m["cosine"])
    return block


def verdict(accuracy, reference_accuracy, min_relative: float) -> tuple[str | None, str]:
    """MLPerf-style: PASS when accuracy >= min_relative x reference accuracy."""
    if accuracy is None or reference_accuracy is None:
        return None, "no verdict: needs labelled --data and a reference"
    bound = min_relative * reference_accuracy
    word = "PASS" if accuracy >= bound else "FAIL"
    return word, f"accuracy {100 * accuracy:.2f}% {'>=' if word == 'PASS' else '<'} {100 * min_relative:g}% of reference {100 * reference_accuracy:.2f}% ({100 * bound:.2f}%)"


def run_benchmark(
    paths: list[str | Path],
    *,
    data: str | None = None,
    reference: str | None = None,
    save_reference_to: str | None = None,
    timing: TimingConfig = TimingConfig(),
    threads: int | None = None,
    backend: str = "auto",
    min_relative_accuracy: float = 0.99,
    isolate: bool = False,
    on_step: Callable[[str], None] | None = None,
    on_tick: Callable[[str, int], None] | None = None,
) -> dict:
    """Benchmark each .tflite in `paths`; see the module docstring for what is measured.

    isolate=True probes each file in a child process before loading it here (the CLI does
    this for every file: a model that crashes the interpreter must not crash edgekit)."""
    step = on_step or (lambda message: None)
    if not paths:
        raise UsageError("no model given; pass one or more .tflite files")
    if not 0 < min_relative_accuracy <= 1:
        raise UsageError(f"--min-relative-accuracy must be in (0, 1]; received {min_relative_accuracy}")
    if save_reference_to and not reference:
        raise UsageError("--save-reference needs --reference (the float model whose outputs to save)")
    if reference and not data:
        raise UsageError("--reference needs --data (the inputs to compare the models on)")
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1; received {threads}")

    loaded = []
    for path in paths:
        step(f"loading {Path(path).name}")
        rss_before = rss_mib()
        model, load_ms = load_timed(path, backend=backend, threads=threads, isolate=isolate)
        growth = None if rss_before is None else round(rss_mib() - rss_before, 2)
        loaded.append((model, load_ms, growth))
    models = [m for m, _, _ in loaded]
    _check_same_input(models)

    dataset = load_bench_data(data, models[0]) if data else None
    x = dataset.x if dataset is not None else None
    labels = dataset.y if dataset is not None else None
    ref_out, ref_info = None, None
    if reference:
        step(f"reference outputs from {Path(reference).name}")
        ref_out, ref_info = reference_outputs(reference, x, threads=threads)
        if save_reference_to:
            save_reference(save_reference_to, ref_out, x, str(reference))
            ref_info["saved_to"] = str(save_reference_to)

    results, interrupted = [], False
    for model, load_ms, load_rss in loaded:
        name = model.path.name
        entry = {
            "name": name, "path": str(model.path), "size_bytes": model.size_bytes,
            "backend": model.backend, "threads": model.threads,
            "recipe": ((model.manifest or {}).get("recipe") or {}).get("name"),
            "inputs": [s.to_dict() for s in model.inputs], "outputs": [s.to_dict() for s in model.outputs],
            "load_ms": load_ms, "load_rss_mib": load_rss,
        }
        try:
            outputs = None
            if x is not None:
                step(f"accuracy: {name} on {len(x)} samples")
                out = model.predict(x)
                outputs = np.asarray(next(iter(out.values())) if isinstance(out, dict) else out, np.float32)
            step(f"latency: {name}")
            one = _one_batch(model, x)
            entry.update(time_model(model, one, timing, on_tick=(lambda n, _name=name: on_tick(_name, n)) if on_tick else None))
        except KeyboardInterrupt:
            interrupted = True
            break
        entry["process_peak_rss_mib"] = round(peak_rss_mib(), 2)
        entry["_outputs"] = outputs
        lat = entry["latency"]
        entry.update({k: lat[k] for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")})
        results.append(entry)
        if entry["interrupted"]:
            interrupted = True
            break

    ref_info = _compare(results, ref_out, ref_info, labels, min_relative_accuracy)
    facts = system_facts()
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "edgekit_version": _version(),
        "system": facts,
        "config": {"runs": timing.runs, "min_time_s": timing.min_time, "warmup": timing.warmup,
                   "warmup_time_s": timing.warmup_time, "max_runs": timing.max_runs,
                   "threads": threads, "backend": backend, "min_relative_accuracy": min_relative_accuracy},
        "data": None if dataset is None else dataset.to_summary(),
        "reference": ref_info,
        "models": results,
        "warnings": validity_warnings(facts, results),
        "interrupted": interrupted,
    }


def _one_batch(model, x):
    """One model batch for timing: the first samples of --data, else zeros of the input spec."""
    spec = model.inputs[0]
    batch = spec.shape[0] if spec.shape else 1
    if x is not None and len(x) >= batch:
        return x[:batch]
    return [np.zeros(s.shape, np.dtype(s.dtype)) for s in model.inputs] if len(model.inputs) > 1 else np.zeros(spec.shape, np.dtype(spec.dtype))


def _compare(results, ref_out, ref_info, labels, min_relative) -> dict | None:
    """Accuracy blocks, verdicts, and each model against the first (size, speed, accuracy).
    Returns the reference description (the first model's when no reference was given)."""
    if not results:
        return ref_info
    if ref_out is None and results[0]["_outputs"] is not None:
        ref_out = results[0]["_outputs"]
        if ref_info is None:
            ref_info = {"kind": "first-model", "path": results[0]["path"]}
    if ref_info is not None and ref_out is not None and labels is not None and is_classifier_output(ref_out):
        ref_info["accuracy"] = top_k_accuracy(ref_out, labels, 1)
    ref_acc = (ref_info or {}).get("accuracy")
    first = results[0]
    for i, entry in enumerate(results):
        outputs = entry.pop("_outputs")
        is_ref = ref_info is not None and ref_info.get("kind") == "first-model" and i == 0
        if outputs is not None:
            entry.update(_accuracy(outputs, labels, ref_out))
        else:
            entry.update(_accuracy(np.zeros((0, 0)), None, None))
        entry["verdict"], entry["verdict_reason"] = (None, "the reference") if is_ref else verdict(
            entry.get("accuracy"), ref_acc, min_relative)
        acc, first_acc = entry.get("accuracy"), first.get("accuracy")
        entry["vs_first"] = {
            "size_ratio": entry["size_bytes"] / first["size_bytes"],
            "speedup": first["p50_ms"] / entry["p50_ms"] if entry["p50_ms"] > 0 else None,
            "accuracy_delta": None if acc is None or first_acc is None else acc - first_acc,
        }
    if ref_info is not None and ref_info.get("kind") == "first-model":
        ref_info.setdefault("accuracy", first.get("accuracy"))
    return ref_info
