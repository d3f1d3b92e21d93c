"""`edgekit demo`: train -> quantize -> TFLite -> measure, on real handwritten digits.

Everything is built under a temporary sibling folder and renamed into place at the end, so
an interrupted demo leaves no half-written `edgekit-demo/`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .convert import convert
from .convert.manifest import jsonable
from .data import digits_split
from .errors import BadInputError
from .models.reference import digits_cnn, train_classifier
from .quantize.recipes import RECIPE_NAMES, Recipe
from .report.markdown import comparison_rows, markdown_report
from .runtime import load as load_tflite
from .runtime.timing import latency_stats, time_predict


@dataclass(frozen=True)
class DemoResult:
    output: Path
    rows: list[dict]
    report: dict

    def to_dict(self) -> dict:
        return jsonable({"output": str(self.output), "rows": self.rows, "report": self.report})


def _prepare_output(output: Path, force: bool) -> Path:
    if output.exists() and not output.is_dir():
        raise BadInputError(f"{output} exists and is not a folder; pass another --output")
    if output.exists() and any(output.iterdir()) and not force:
        raise BadInputError(
            f"{output} already exists and is not empty; pass --force to replace it or "
            "--output to write elsewhere"
        )
    if not output.parent.is_dir():
        raise BadInputError(f"folder {output.parent} does not exist; create it first")
    return Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))


def run_demo(
    output: str | Path = "edgekit-demo",
    *,
    force: bool = False,
    epochs: int = 15,
    latency_runs: int = 200,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Train a digits CNN, convert it with every recipe, measure each artifact, write a report."""
    step = on_step or (lambda message: None)
    output = Path(output)
    work = _prepare_output(output, force)
    try:
        report = _run(work, epochs, latency_runs, step)
        step(f"writing {output}")
        if output.exists():
            shutil.rmtree(output)
        work.rename(output)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report["files"] = {k: str(output / Path(v).name) for k, v in report["files"].items()}
    return DemoResult(output, report["rows"], report)


def _run(work: Path, epochs: int, latency_runs: int, step) -> dict:
    started = time.perf_counter()
    train, test = digits_split(seed=0, test_fraction=0.25)
    step(f"training a small CNN on {len(train)} handwritten digits ({epochs} epochs)")
    model = digits_cnn()
    history = train_classifier(
        model, train.x, train.y, epochs=epochs,
        on_epoch=lambda epoch, logs: step(
            f"epoch {epoch + 1}/{epochs}: loss {logs['loss']:.3f}, accuracy {logs['accuracy']:.3f}"
        ),
    )
    model_path = work / "digits_cnn.keras"
    model.save(model_path)
    np.savez(work / "calib.npz", x=train.x, y=train.y)
    np.savez(work / "eval.npz", x=test.x, y=test.y)
    (work / "labels.txt").write_text("\n".join(train.class_names) + "\n")

    result = convert(
        model_path,
        [Recipe(name) for name in RECIPE_NAMES],
        calib=str(work / "calib.npz"),
        eval=str(work / "eval.npz"),
        labels=work / "labels.txt",
        on_step=step,
    )
    rows = comparison_rows(result)
    for row, artifact in zip(rows, result.artifacts):
        step(f"measuring latency: {artifact.recipe.name}")
        runtime_model = load_tflite(artifact.path, threads=1)
        stats = latency_stats(time_predict(runtime_model, test.x[:1], runs=latency_runs, warmup=20))
        row["p50_ms"] = stats["p50_ms"]
        row["p90_ms"] = stats["p90_ms"]
    report = {
        "dataset": {"name": "digits (scikit-learn)", "train": len(train), "test": len(test)},
        "training": {"epochs": epochs, "final_loss": history["loss"][-1], "final_accuracy": history["accuracy"][-1]},
        "float_accuracy": result.reference_accuracy,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
        "files": {"model": str(model_path), **{r["recipe"]: r["path"] for r in rows}},
    }
    for row in rows:
        row["path"] = Path(row["path"]).name
    (work / "report.json").write_text(json.dumps(jsonable(report), indent=2, allow_nan=False) + "\n")
    (work / "report.md").write_text(markdown_report(report))
    return report
