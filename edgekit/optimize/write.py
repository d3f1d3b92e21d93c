"""Writing the pick: the chosen artifact, its manifest with an `optimize` section (budgets,
target facts, every candidate's numbers, why this one and how to run it), atomically."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..artifact import to_json, write_artifact
from .build import Built
from .result import SCHEMA, OptimizeResult

CANDIDATE_FIELDS = ("id", "label", "recipe", "io", "threads", "xnnpack", "delegate", "size_bytes", "accuracy", "top1_agreement",
                    "latency_ms", "p50_ms", "memory_mib", "status", "missed", "reasons", "on_front")


def output_path(model: Path, output: Path | None) -> Path:
    """-o FILE.tflite, -o DIR/NAME_optimized.tflite, or NAME_optimized.tflite beside the model."""
    from .._files import output_folder

    stem = model.name if model.is_dir() else model.stem
    folder = output_folder(output, model.parent, 1, "optimize")
    return output if folder is None else folder / f"{stem}_optimized.tflite"


def optimize_section(result: OptimizeResult, chosen_id: str) -> dict:
    """The manifest's `optimize` section (compact: no raw latency samples)."""
    chosen = result.candidate(chosen_id)
    target = to_json(result.target)
    return {
        "schema": SCHEMA,
        "budgets": to_json(result.budgets), "budgets_text": result.budgets.describe(),
        "objective": result.budgets.describe_objective(),
        "target": target,
        "pick": chosen.id, "reason": result.reason, "best_effort": result.pick is None,
        "run_with": {"threads": chosen.threads, "xnnpack": chosen.xnnpack, "delegate": chosen.delegate},
        "front": list(result.front),
        "candidates": [{k: to_json(getattr(c, k)) for k in CANDIDATE_FIELDS} for c in result.candidates],
        "reference_accuracy": result.reference_accuracy,
    }


def write_pick(result: OptimizeResult, chosen_id: str, built: Built, path: Path) -> tuple[str, ...]:
    """The chosen candidate's .tflite (manifest embedded) and its sidecar at `path`, manifest last."""
    manifest = replace(built.manifest, artifact=None, optimize=optimize_section(result, chosen_id))
    write_artifact(path, built.path.read_bytes(), manifest)
    return str(path), str(path.with_suffix(".json"))
