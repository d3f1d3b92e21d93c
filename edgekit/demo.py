"""`edgekit demo`: train -> quantize -> TFLite -> measure, on real handwritten digits.

The model is sized to be compute-bound (see `edgekit.models.reference.digits_cnn`), so the
table shows the trade-off quantization is for: int8 is smaller *and* faster than float32.
Calibration and verification use the built-in digits split (`digits-train` / `digits-test`,
the split the model is trained on), so the manifests name data anyone can load again, and
the benchmark is edgekit's own (`run_benchmark`: threads = this machine's physical cores).

Everything is built under a temporary sibling folder and renamed into place at the end, so
an interrupted demo leaves no half-written `edgekit-demo/`. Paths in the reports are relative
to the demo folder.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._files import check_folder
from .artifact import BenchResult, ReferenceInfo, dumps, to_json
from .bench import ReferenceOutputs, run_benchmark
from .convert import convert
from .data.builtin import SPLIT, digits_split
from .errors import BadInputError
from .models.reference import digits_cnn, train_classifier
from .quantize.recipes import RECIPE_NAMES, Recipe
from .report.markdown import comparison_rows, markdown_report
from .report.summary import summarize
from .runtime.timing import TimingConfig

SCHEMA = "edgekit.demo/2"
MODEL_NAME = "digits_cnn"
DEMO_TIMING = TimingConfig(runs=200, min_time=0.5, warmup=20, warmup_time=0.2)


@dataclass(frozen=True)
class DemoResult:
    output: Path
    rows: list[dict]
    report: dict
    bench: BenchResult

    def to_json(self) -> dict:
        return to_json({"schema": SCHEMA, "output": str(self.output), "rows": self.rows, "report": self.report})


def _prepare_output(output: Path, force: bool) -> Path:
    if output.exists() and not output.is_dir():
        raise BadInputError(f"{output} exists and is not a folder; pass another `output`")
    if output.exists() and any(output.iterdir()) and not force:
        raise BadInputError(
            f"{output} already exists and is not empty; pass `force` to replace it or "
            "another `output` to write elsewhere"
        )
    check_folder(output.parent)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    except OSError as exc:
        raise BadInputError(f"cannot create {output}: {exc.strerror or exc}; choose another `output`") from exc


def run_demo(
    output: str | Path = "edgekit-demo",
    *,
    force: bool = False,
    epochs: int = 15,
    timing: TimingConfig = DEMO_TIMING,
    threads: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Train the digits CNN, convert it with every recipe, benchmark every artifact against
    the Keras model, write the model, artifacts, manifests and reports to `output`.

    threads: interpreter threads for the benchmark (None: this machine's physical cores)."""
    step = on_step or (lambda message: None)
    output = Path(output)
    work = _prepare_output(output, force)
    try:
        report, bench = _run(work, epochs, timing, threads, step)
        step(f"writing {output}")
        if output.exists():
            shutil.rmtree(output)
        work.rename(output)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return DemoResult(output, report["rows"], report, bench)


def _run(work: Path, epochs: int, timing: TimingConfig, threads: int | None, step) -> tuple[dict, BenchResult]:
    started = time.perf_counter()
    train, test = digits_split(**SPLIT)
    model, history = _train(train, epochs, step)
    model_path = work / f"{MODEL_NAME}.keras"
    model.save(model_path)
    (work / "labels.txt").write_text("\n".join(train.class_names) + "\n")
    converted = convert(model_path, [Recipe(name) for name in RECIPE_NAMES], calib="digits-train",
                        eval="digits-test", labels=work / "labels.txt", on_step=step)
    reference = ReferenceOutputs(np.asarray(model.predict(test.x, verbose=0), np.float32),
                                 ReferenceInfo(kind="keras", path=model_path.name))
    step(f"benchmarking {len(converted.artifacts)} artifacts on {len(test)} held-out digits")
    bench = run_benchmark([a.path for a in converted.artifacts], data=test, reference=reference, timing=timing,
                          threads=threads, on_step=step)
    bench = _relative_paths(bench)
    report = _report(converted, bench, train, test, epochs, history)
    report["seconds"] = round(time.perf_counter() - started, 1)
    _write_reports(work, report, bench)
    return report, bench


def _train(train, epochs: int, step):
    step(f"training a CNN on {len(train)} handwritten digits (upsampled to 32x32 in the model; {epochs} epochs)")
    model = digits_cnn()
    history = train_classifier(
        model, train.x, train.y, epochs=epochs,
        on_epoch=lambda epoch, logs: step(
            f"epoch {epoch + 1}/{epochs}: loss {logs['loss']:.3f}, accuracy {logs['accuracy']:.3f}"
        ),
    )
    return model, history


def _relative_paths(bench: BenchResult) -> BenchResult:
    """Model paths as file names: the demo folder is renamed into place after measuring."""
    models = tuple(dataclasses.replace(m, path=Path(m.path).name) for m in bench.models)
    return dataclasses.replace(bench, models=models)


def _report(converted, bench: BenchResult, train, test, epochs: int, history) -> dict:
    summary = summarize(bench)
    rows = comparison_rows(converted)
    base = bench.models[0].latency.p50_ms
    for row, measured in zip(rows, bench.models):
        row["path"] = Path(row["path"]).name
        row["p50_ms"] = measured.latency.p50_ms
        row["p90_ms"] = measured.latency.p90_ms
        row["speedup_vs_float32"] = round(base / measured.latency.p50_ms, 3) if measured.latency.p50_ms else None
        row["verdict"] = measured.verdict.word
    return {
        "dataset": {"name": "digits (scikit-learn)", "train": len(train), "test": len(test),
                    "calibration": "digits-train", "evaluation": "digits-test"},
        "training": {"epochs": epochs, "final_loss": history["loss"][-1], "final_accuracy": history["accuracy"][-1]},
        "float_accuracy": converted.reference_accuracy,
        "threads": bench.config.threads if bench.config.threads is not None else bench.models[0].threads,
        "rows": rows,
        "summary": summary.sentence,
        "notes": list(summary.notes),
        "files": {"model": f"{MODEL_NAME}.keras", **{r["recipe"]: r["path"] for r in rows},
                  "bench": "bench.json", "markdown": "report.md", "html": "report.html"},
    }


def _write_reports(work: Path, report: dict, bench: BenchResult) -> None:
    """report.json (this summary), bench.json (the full benchmark), report.md, and report.html
    when matplotlib (edgekit[report]) is installed."""
    from .report.html import plotting_available, render_bench_html

    (work / "bench.json").write_text(dumps(bench.to_json()))
    if plotting_available():
        (work / "report.html").write_text(render_bench_html(bench), encoding="utf-8")
    else:
        del report["files"]["html"]
        report["notes"].append('no report.html: its charts need matplotlib (pip install "edgekit[report]")')
    (work / "report.json").write_text(dumps({"schema": SCHEMA, **report}))
    (work / "report.md").write_text(markdown_report(report))
