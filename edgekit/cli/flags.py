"""Library messages name Python parameters (`calib_samples`); the CLI prints them as the
flags its users type (--calib-samples). This is the one table between the two.

A name in backticks in a library message is a parameter. Names in FLAGS become flags; names
in PYTHON_ONLY have no flag (they are printed without the backticks).
"""

from __future__ import annotations

import re

FLAGS: dict[str, str] = {
    # convert / debug
    "recipes": "a recipe flag (--int8, --float16, ... or --all)", "all_recipes": "--all",
    "calib": "--calib", "eval": "--eval", "calib_samples": "--calib-samples", "labels": "--labels",
    "scale": "--scale", "mean": "--mean", "std": "--std", "io": "--io",
    "output": "-o", "force": "--force", "batch": "--batch", "input_shape": "--input-shape",
    "custom_objects": "--custom-objects", "trust_model": "--trust-model",
    "qat": "--qat", "train_data": "--train-data", "val_data": "--val-data", "epochs": "--epochs",
    "batch_size": "--batch-size", "learning_rate": "--learning-rate", "strategy": "--strategy",
    "max_drop": "--max-drop", "min_agreement": "--min-agreement", "best_effort": "--best-effort",
    "edgetpu": "--edgetpu", "samples": "--samples", "top": "--top",
    # bench
    "paths": "the .tflite arguments", "data": "--data", "reference": "--reference",
    "save_reference_to": "--save-reference", "runs": "--runs", "min_time": "--min-time", "warmup": "--warmup",
    "warmup_time": "--warmup-time", "threads": "--threads", "backend": "--backend",
    "min_relative_accuracy": "--min-relative-accuracy", "strict": "--strict", "devices": "--device",
    "accept_new_host_key": "--accept-new-host-key", "json_path": "--json", "report": "--report",
    # Edge TPU
    "segments": "--segments", "search_delegate": "--search-delegate", "multiple_subgraphs": "--multiple-subgraphs",
    "min_runtime_version": "--min-runtime-version", "timeout": "--timeout", "min_mapped": "--min-mapped",
    # devices
    "wheels": "--wheels", "offline": "--offline",
    # predict
    "task": "--task", "top_k": "--top-k", "score_threshold": "--score-threshold", "iou_threshold": "--iou-threshold",
    "max_detections": "--max-detections", "layout": "--layout", "fit": "--fit", "save": "--save",
    "delegate": "--delegate", "preprocessing": "the --scale/--mean/--std/--fit options",
    # optimize
    "max_latency": "--max-latency", "max_size": "--max-size", "max_memory": "--max-memory",
    "latency_percentile": "--latency-percentile", "objective": "--objective", "time_budget": "--time-budget",
    # train
    "arch": "--arch", "input_size": "--input", "alpha": "--alpha", "weights": "--weights", "channels": "--channels",
    "fine_tune": "--fine-tune", "fine_tune_epochs": "--fine-tune-epochs", "patience": "--patience",
    "val_split": "--val-split", "test_split": "--test-split", "test_data": "--test-data", "augment": "--augment",
    "seed": "--seed", "skip_bad": "--skip-bad", "export": "--export",
}

# Flags that differ for one command: {command: {parameter: flag}}.
OVERRIDES: dict[str, dict[str, str]] = {
    "convert": {"segments": "--edgetpu-segments", "search_delegate": "--edgetpu-search-delegate"},
    "demo": {"output": "--output"},
    "optimize": {"recipes": "--recipes"},
    "bench": {"device": "--tpu"},
    "predict": {"device": "--tpu"},
}

# Parameters of the Python API only; the CLI never passes them wrongly, and when a message
# names one it is printed plainly.
PYTHON_ONLY = frozenset({
    "max_runs", "isolate", "options", "device", "pad_value", "color", "compiler", "path",
    "n_calib", "max_holdout", "max_samples", "threads_per_model", "on_check",
    # detection, anchors and the frame pipeline (Python API only)
    "anchors", "detection", "queue_size", "workers", "input_size_height", "input_size_width", "strides", "aspect_ratios",
    "min_scale", "max_scale", "num_layers", "feature_map_height", "feature_map_width", "box_scale", "box_order",
    "score_activation",
    # optimize's sweep (edgekit.bench.sweep) and XNNPACK switch (Python API only)
    "sweep", "xnnpack", "data_names", "data_name",
})

_PARAM = re.compile(r"`([a-z_][a-z0-9_]*)`")


def flag_for(name: str, command: str = "") -> str | None:
    return OVERRIDES.get(command, {}).get(name) or FLAGS.get(name)


def to_cli(message: str, command: str = "") -> str:
    """`message` with each `parameter` written as the flag of `command` (or plainly)."""
    return _PARAM.sub(lambda m: flag_for(m.group(1), command) or m.group(1), message)
