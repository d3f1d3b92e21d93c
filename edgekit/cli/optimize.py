"""`edgekit optimize`: parse, call `edgekit.optimize.optimize`, render, exit code."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from . import help as H
from .app import app, handle_errors, quiet_native, raise_if, ui
from .convert import MODEL_HELP, floats
from .output import print_json

_TIMING = dict(runs=100, min_time=0.5, warmup=10, warmup_time=0.2)  # edgekit.optimize.OPTIMIZE_TIMING


def _names(text: Optional[str], name: str) -> Optional[tuple]:
    from ..errors import UsageError

    if text is None:
        return None
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise UsageError(f"`{name}` takes names separated by single commas; received {text!r}")
    return items


def _counts(text: Optional[str]) -> Optional[tuple]:
    from ..errors import UsageError

    items = _names(text, "threads")
    if items is None:
        return None
    try:
        return tuple(int(item) for item in items)
    except ValueError as exc:
        raise UsageError(f"`threads` takes whole numbers separated by commas, e.g. 1,2,4; received {text!r}") from exc


@app.command()
@handle_errors
def optimize(
    model: Path = typer.Argument(..., help=MODEL_HELP),
    calib: Optional[str] = typer.Option(None, "--calib", metavar="DATA", help="Calibration data: image folder, .npy, .npz (x[, y]) or 'digits' (int8/int16x8 need it).", rich_help_panel=H.DATA),
    eval_data: Optional[str] = typer.Option(None, "--eval", metavar="DATA", help="Evaluation data (same forms) every candidate's accuracy and agreement are measured on.", rich_help_panel=H.DATA),
    max_drop: Optional[float] = typer.Option(None, "--max-drop", help="Budget: most accuracy points lost against the float model (labelled --eval).", rich_help_panel=H.BUDGETS),
    min_agreement: Optional[float] = typer.Option(None, "--min-agreement", help="Budget: least top-1 agreement (0-1) with the float model on --eval.", rich_help_panel=H.BUDGETS),
    max_latency: Optional[str] = typer.Option(None, "--max-latency", metavar="TIME", help="Budget: latency at --latency-percentile, with a unit: 20ms, 1.5s, 800us.", rich_help_panel=H.BUDGETS),
    max_size: Optional[str] = typer.Option(None, "--max-size", metavar="SIZE", help="Budget: model size with a unit: 5MB, 512KiB, 300kB.", rich_help_panel=H.BUDGETS),
    max_memory: Optional[str] = typer.Option(None, "--max-memory", metavar="SIZE", help="Budget: peak memory attributable to the model, with a unit: 64MiB.", rich_help_panel=H.BUDGETS),
    latency_percentile: Optional[str] = typer.Option(None, "--latency-percentile", metavar="pNN", help="The latency percentile budgets and the objective use (default p90; p50 is always reported).", rich_help_panel=H.BUDGETS),
    objective: Literal["latency", "size", "accuracy"] = typer.Option("latency", "--objective", help="Pick among candidates that meet every budget: latency (lowest), size (smallest) or accuracy (highest).", rich_help_panel=H.BUDGETS),
    recipes: Optional[str] = typer.Option(None, "--recipes", metavar="A,B,...", help="Recipes to try, comma-separated (default: every post-training recipe; int8/int16x8 need --calib).", rich_help_panel=H.SEARCH),
    threads: Optional[str] = typer.Option(None, "--threads", metavar="N,N,...", help="Thread counts to try, comma-separated (default: 1 to the target's cores).", rich_help_panel=H.SEARCH),
    device: Optional[str] = typer.Option(None, "--device", metavar="NAMES", help="Measure on devices over SSH: an inventory name or group, or ssh://user@host:port (default: this machine).", rich_help_panel=H.DEVICES),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="With --device: trust and record a host key not yet in known_hosts.", rich_help_panel=H.DEVICES),
    edgetpu: bool = typer.Option(False, "--edgetpu", help="The target has a Coral Edge TPU: also compile the int8 artifact (edgetpu_compiler, here) and time it with the Edge TPU delegate (libedgetpu, on the target).", rich_help_panel=H.SEARCH),
    time_budget: Optional[str] = typer.Option(None, "--time-budget", metavar="TIME", help="Cap on the whole run, with a unit: 10min, 90s; what was left untried is listed.", rich_help_panel=H.SEARCH),
    runs: int = typer.Option(_TIMING["runs"], "--runs", help="Timed runs per candidate (at least; see --min-time).", rich_help_panel=H.TIMING),
    min_time: float = typer.Option(_TIMING["min_time"], "--min-time", help="Time each candidate for at least this many seconds.", rich_help_panel=H.TIMING),
    warmup: int = typer.Option(_TIMING["warmup"], "--warmup", help="Warm-up runs per candidate before timing.", rich_help_panel=H.TIMING),
    warmup_time: float = typer.Option(_TIMING["warmup_time"], "--warmup-time", help="Warm up each candidate for at least this many seconds.", rich_help_panel=H.TIMING),
    train_data: Optional[str] = typer.Option(None, "--train-data", metavar="DATA", help="Also try qat-int8, fine-tuned on this labelled data (class folders, .npz with x and y, or 'digits').", rich_help_panel=H.QAT),
    val_data: Optional[str] = typer.Option(None, "--val-data", metavar="DATA", help="qat-int8: labelled validation data, for early stopping.", rich_help_panel=H.QAT),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="qat-int8: fine-tuning epochs (default 3).", rich_help_panel=H.QAT),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Samples used for calibration; the rest is held out when there is no --eval.", rich_help_panel=H.DATA),
    labels: Optional[Path] = typer.Option(None, "--labels", metavar="FILE", help="Text file, one class label per line, stored in the manifest.", rich_help_panel=H.DATA),
    scale: Optional[float] = typer.Option(None, "--scale", help="Image folders: pixel multiplier before mean/std (default 1/255).", rich_help_panel=H.PREPROCESSING),
    mean: Optional[str] = typer.Option(None, "--mean", metavar="A,B,C", help="Image folders: per-channel mean subtracted after scaling (default 0).", rich_help_panel=H.PREPROCESSING),
    std: Optional[str] = typer.Option(None, "--std", metavar="A,B,C", help="Image folders: per-channel std divided by after the mean (default 1).", rich_help_panel=H.PREPROCESSING),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", metavar="SHAPE", help="Static input shape, batch first, e.g. 1x32x32x3.", rich_help_panel=H.MODEL),
    custom_objects: Optional[Path] = typer.Option(None, "--custom-objects", metavar="FILE.py", help="Python file whose public classes/functions are the model's custom objects.", rich_help_panel=H.MODEL),
    trust_model: bool = typer.Option(False, "--trust-model", help="Skip the safety scan that refuses code-carrying or file-reaching models.", rich_help_panel=H.MODEL),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="PATH", help="Where the pick goes: a .tflite file or an existing folder (NAME_optimized.tflite; default beside the model).", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs.", rich_help_panel=H.OUTPUT),
    best_effort: bool = typer.Option(False, "--best-effort", help="When no candidate meets every budget, write the closest one (still exits 5).", rich_help_panel=H.OUTPUT),
    report: Optional[Path] = typer.Option(None, "--report", metavar="FILE.html", help="Write a self-contained HTML page: accuracy-vs-latency chart, the front, every candidate.", rich_help_panel=H.OUTPUT),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout (schema edgekit.optimize/1; progress stays on stderr).", rich_help_panel=H.OUTPUT),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines.", rich_help_panel=H.OUTPUT),
):
    """Find the best artifact for a board under your budgets, measured on the board.

    Every candidate recipe is converted once and verified on --eval; each artifact is timed at
    every thread count with XNNPACK on and off, on this machine or on --device over SSH; the
    best on --objective among the candidates that meet every budget is written with its
    manifest. No candidate meets them: exit 5, nothing written, the closest per budget named.

        edgekit optimize model.keras --calib calib/ --eval eval.npz --max-drop 1 --max-latency 20ms
        edgekit optimize model.h5 --calib x.npy --eval eval.npz --min-agreement 0.99 --device rpi
        edgekit optimize model.keras --calib calib/ --eval eval.npz --objective size --max-drop 0.5 -o out/
    """
    from .._files import atomic_write_text, check_outputs
    from ..optimize import optimize as run_optimize
    from ..quantize.qat import settings_from_options
    from ..report.optimize_console import render_optimize
    from ..runtime.timing import TimingConfig

    u = ui()
    if report is not None:
        check_outputs([report], force, inputs=[model])
    qat = settings_from_options(train_data is not None, train_data=train_data, val_data=val_data, epochs=epochs)
    with quiet_native():
        result = run_optimize(
            model, calib=calib, eval=eval_data, calib_samples=calib_samples, labels=labels, scale=scale,
            mean=floats(mean, "mean"), std=floats(std, "std"), input_shape=input_shape,
            custom_objects=custom_objects, trust_model=trust_model, max_drop=max_drop, min_agreement=min_agreement,
            max_latency=max_latency, max_size=max_size, max_memory=max_memory,
            latency_percentile=latency_percentile, objective=objective, recipes=_names(recipes, "recipes"),
            qat=qat, threads=_counts(threads), devices=device, accept_new_host_key=accept_new_host_key, edgetpu=edgetpu,
            time_budget=time_budget, timing=TimingConfig(runs, min_time, warmup, warmup_time), output=output,
            force=force, best_effort=best_effort, on_step=u.step(not quiet),
        )
    page = _page(result) if report is not None else None
    if as_json:
        print_json(result.to_json())
    else:
        u.print(*render_optimize(result))
    if page is not None:
        atomic_write_text(report, page)
        u.err.print(f"wrote {report}", soft_wrap=True, markup=False)
    raise_if(result.bound_error())


def _page(result) -> str:
    from ..report.optimize_html import render_optimize_html

    return render_optimize_html(result)


__all__: List[str] = ["optimize"]
