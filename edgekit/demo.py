"""`edgekit demo`: a folder of images -> train -> quantize -> TFLite -> measure, on real digits.

The demo is the product's main path on data that ships with scikit-learn: it writes the 1,797
handwritten digits as a folder of PNGs (one subfolder per class, as users keep their data),
trains a CNN on it with `edgekit.train` (images resized to 32x32: about 10 million
multiply-adds a call, so the model is compute-bound and the table shows the trade-off
quantization is for; a model of a few thousand runs in microseconds, where per-call overhead
dominates and int8 can be slower than float32), exports every post-training recipe
(calibrated on the training split, verified on the test split), and benchmarks every artifact
against the Keras model on the test split with edgekit's own `run_benchmark` (threads = this
machine's physical cores).

Everything is built under a temporary sibling folder and renamed into place at the end, so
an interrupted demo leaves no half-written `edgekit-demo/`. Reports name files and data
relative to the demo folder (`digits/`), never the temporary folder.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._files import check_folder, temp_folder
from .artifact import BenchResult, dumps, to_json
from .bench import run_benchmark
from .bench.data import load_bench_data
from .data.builtin import load_digits
from .errors import BadInputError
from .models.outputs import reference_outputs
from .quantize.recipes import RECIPE_NAMES
from .report.markdown import comparison_rows, markdown_report
from .report.summary import summarize
from .runtime.timing import TimingConfig

SCHEMA = "edgekit.demo/2"
MODEL_NAME = "digits_cnn"
DATA_NAME = "digits/"  # the image folder, relative to the demo folder
INPUT_SIDE = 32
TEST_SPLIT = 0.25
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
    folder = write_digits_folder(work / DATA_NAME.rstrip("/"), step)
    trained = _train(folder, work / f"{MODEL_NAME}.keras", epochs, step)
    converted = trained.export
    test_name = f"the test split of {DATA_NAME} (seed {trained.split.seed})"
    with temp_folder("edgekit-demo-test-") as tmp:
        test_folder = link_files(folder, trained.split.test, Path(tmp))
        test = load_bench_data(test_folder, converted.artifacts[0].path, name=test_name)
    reference = reference_outputs(work / f"{MODEL_NAME}.keras", test.x)
    reference = dataclasses.replace(reference, info=dataclasses.replace(reference.info, path=f"{MODEL_NAME}.keras"))
    step(f"benchmarking {len(converted.artifacts)} artifacts on {len(test)} held-out digits")
    bench = run_benchmark([a.path for a in converted.artifacts], data=test, reference=reference, timing=timing,
                          threads=threads, on_step=step)
    bench = _relative_paths(bench)
    report = _report(converted, bench, trained)
    report["seconds"] = round(time.perf_counter() - started, 1)
    _write_reports(work, report, bench)
    return report, bench


def write_digits_folder(folder: Path, step) -> Path:
    """scikit-learn's 1,797 digits as 8-bit grayscale PNGs in one subfolder per class."""
    from PIL import Image

    digits = load_digits()
    step(f"writing the {len(digits)} handwritten digits as PNGs into {DATA_NAME} (one folder per class)")
    pixels = np.round(digits.x[..., 0] * 255).astype(np.uint8)
    for i, (image, label) in enumerate(zip(pixels, digits.y)):
        target = folder / digits.class_names[label]
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "L").save(target / f"{i:04d}.png")
    return folder


def link_files(folder: Path, names, into: Path) -> Path:
    """A class folder of links to `names` (paths relative to `folder`, class first)."""
    for name in names:
        link = into / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.abspath(folder / name), link)
    return into


def _train(folder: Path, model_path: Path, epochs: int, step):
    """`edgekit train`'s code: the cnn at 32x32, every post-training recipe exported."""
    from .train import train

    trained = train(str(folder), output=model_path, arch="cnn", input_size=INPUT_SIDE, epochs=epochs,
                    test_split=TEST_SPLIT, augment="none", export=list(RECIPE_NAMES), data_name=DATA_NAME,
                    on_step=step)
    error = trained.interrupted_error() or trained.export_error()
    if error is not None:
        raise error
    return trained


def _relative_paths(bench: BenchResult) -> BenchResult:
    """Model paths as file names: the demo folder is renamed into place after measuring."""
    models = tuple(dataclasses.replace(m, path=Path(m.path).name) for m in bench.models)
    return dataclasses.replace(bench, models=models)


def _report(converted, bench: BenchResult, trained) -> dict:
    summary = summarize(bench)
    rows = comparison_rows(converted)
    base = bench.models[0].latency.p50_ms
    for row, measured in zip(rows, bench.models):
        row["path"] = Path(row["path"]).name
        row["p50_ms"] = measured.latency.p50_ms
        row["p90_ms"] = measured.latency.p90_ms
        row["speedup_vs_float32"] = round(base / measured.latency.p50_ms, 3) if measured.latency.p50_ms else None
        row["verdict"] = measured.verdict.word
    split = trained.split
    return {
        "dataset": {"name": f"digits (scikit-learn) as PNGs in {DATA_NAME}", "train": len(split.train),
                    "validation": len(split.val), "test": len(split.test),
                    "calibration": f"the training split of {DATA_NAME}",
                    "evaluation": f"the test split of {DATA_NAME}"},
        "training": {"architecture": trained.architecture.name, "input": f"{INPUT_SIDE}x{INPUT_SIDE}",
                     "epochs_run": len(trained.history), "stopped_early": trained.stopped_early,
                     "test_accuracy": None if trained.test is None else trained.test.accuracy,
                     "seconds": trained.seconds},
        "float_accuracy": converted.reference_accuracy,
        "threads": bench.models[0].threads,
        "rows": rows,
        "summary": summary.sentence,
        "notes": list(summary.notes),
        "files": {"data": DATA_NAME, "model": f"{MODEL_NAME}.keras", "training_record": f"{MODEL_NAME}.train.json",
                  **{r["recipe"]: r["path"] for r in rows},
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
