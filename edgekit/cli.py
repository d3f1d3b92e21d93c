"""The `edgekit` command line: a thin typer layer that calls the library and prints.

Exit codes: 0 ok, 1 internal error (a bug; the traceback goes to a log file), 2 usage,
3 bad input, 4 device or connection, 5 result below a requested bound.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._native_log import capture_native_stderr
from .errors import EdgekitError, UsageError

app = typer.Typer(
    help="edgekit: a trained Keras model to an edge device, with measured latency and accuracy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_consoles: dict[str, Console] = {}


def _width(stream) -> int | None:
    """Terminals report their width; logs and pipes get 160 columns instead of rich's 80."""
    try:
        return None if stream.isatty() else int(os.environ.get("COLUMNS", 160))
    except (AttributeError, ValueError):
        return 160


def err_console() -> Console:
    """A console on a duplicate of fd 2, so it still reaches the terminal while edgekit
    captures the converter's native log output on fd 2."""
    if "err" not in _consoles:
        stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
        _consoles["err"] = Console(file=stream, stderr=True, highlight=False, width=_width(stream))
    return _consoles["err"]


def out_console() -> Console:
    if "out" not in _consoles:
        _consoles["out"] = Console(highlight=False, width=_width(sys.stdout))
    return _consoles["out"]


def _crash_log(exc: BaseException) -> Path:
    folder = Path(tempfile.gettempdir())
    path = folder / f"edgekit-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text("".join(traceback.format_exception(exc)))
    return path


def handle_errors(func):
    """Turn an EdgekitError into one red line and its exit code; a bug into exit 1 + a log."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        err_console()  # bind to the real fd 2 before any native-log capture redirects it
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except EdgekitError as exc:
            err_console().print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("[yellow]interrupted[/yellow]; nothing was written at final paths")
            raise typer.Exit(130) from None
        except Terminated:
            err_console().print("[yellow]terminated[/yellow] (SIGTERM); nothing was written at final paths")
            raise typer.Exit(143) from None
        except Exception as exc:  # a bug: keep the traceback off the terminal, in a log
            log = _crash_log(exc)
            err_console().print(
                f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} (a bug in edgekit; "
                f"traceback in {log})", soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def _progress_step(enabled: bool):
    """A callback printing each library step as a dim line with elapsed seconds."""
    started = time.perf_counter()

    def step(message: str):
        if enabled:
            err_console().print(f"[dim]{time.perf_counter() - started:6.1f}s[/dim] {message}")

    return step


def _print_json(data) -> None:
    from .convert.manifest import jsonable

    sys.stdout.write(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def _comparison_table(rows: list[dict], title: str) -> Table:
    from .report.markdown import TABLE_HEADER, table_cells

    with_latency = any(row.get("p50_ms") is not None for row in rows)
    header = TABLE_HEADER if with_latency else TABLE_HEADER[:-1]
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in rows:
        table.add_row(*table_cells(row)[: len(header)])
    return table


def _floats(text: Optional[str], flag: str):
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag} takes numbers separated by commas, e.g. 0.485,0.456,0.406; received {text!r}") from None


@app.command()
@handle_errors
def convert(
    model: Path = typer.Argument(..., help="Keras model: .keras, legacy .h5, or a SavedModel folder."),
    float32: bool = typer.Option(False, "--float32", help="Float32 weights and activations (the baseline)."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic-range: int8 weights, float activations."),
    float16: bool = typer.Option(False, "--float16", help="Float16 weights, float32 compute."),
    int8: bool = typer.Option(False, "--int8", help="Full integer: int8 weights and activations (needs --calib)."),
    int16x8: bool = typer.Option(False, "--int16x8", help="int16 activations, int8 weights (needs --calib)."),
    all_recipes: bool = typer.Option(False, "--all", help="Every post-training recipe above."),
    io: Optional[str] = typer.Option(None, "--io", help="I/O type for int8 (int8, uint8, float32) or int16x8 (int16, float32)."),
    calib: Optional[str] = typer.Option(None, "--calib", help="Calibration data: image folder, .npy, .npz (x[, y]) or 'digits'."),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Samples used for calibration; the rest is held out for verification."),
    eval_data: Optional[str] = typer.Option(None, "--eval", help="Evaluation data (same forms as --calib) for verification and accuracy."),
    scale: Optional[float] = typer.Option(None, "--scale", help="Image folders: pixel multiplier before mean/std (default 1/255)."),
    mean: Optional[str] = typer.Option(None, "--mean", help="Image folders: per-channel mean subtracted after scaling (default 0)."),
    std: Optional[str] = typer.Option(None, "--std", help="Image folders: per-channel std divided by after the mean (default 1)."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Text file, one class label per line, stored in the manifest."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .tflite file (one recipe) or existing folder."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    batch: Optional[int] = typer.Option(None, "--batch", help="Fixed batch size of the exported model (default 1)."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="Static input shape, batch first, e.g. 1x32x32x3."),
    custom_objects: Optional[Path] = typer.Option(None, "--custom-objects", help="Python file whose public classes/functions are the model's custom objects."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Skip the safety scan that refuses code-carrying or file-reaching models (Lambda layers, foreign modules, file paths/URLs)."),
    qat: bool = typer.Option(False, "--qat", help="Quantization-aware training: fine-tune with fake int8 quantization, then convert (recipe qat-int8; needs --train-data)."),
    train_data: Optional[str] = typer.Option(None, "--train-data", help="--qat: labelled training data: class-folder images, .npz (x, y) or 'digits'."),
    val_data: Optional[str] = typer.Option(None, "--val-data", help="--qat: labelled validation data (same forms), for early stopping on its loss."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="--qat: fine-tuning epochs (default 3)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="--qat: global training batch size (default 32)."),
    learning_rate: Optional[float] = typer.Option(None, "--learning-rate", help="--qat: Adam learning rate (default 3e-5: small steps from the calibrated start)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="--qat: tf.distribute strategy: default, mirrored (local GPUs) or multiworker (TF_CONFIG)."),
    max_drop: Optional[float] = typer.Option(None, "--max-drop", help="int8: most accuracy points to lose on labelled --eval data; keeps the worst layers in float until it holds."),
    min_agreement: Optional[float] = typer.Option(None, "--min-agreement", help="int8: least top-1 agreement (0-1) with the float model on --eval data; keeps layers in float until it holds."),
    best_effort: bool = typer.Option(False, "--best-effort", help="With --max-drop/--min-agreement: write the best attempt when no mix meets the bound (still exits 5)."),
    edgetpu: bool = typer.Option(False, "--edgetpu", help="Also compile the int8 artifact for the Coral Edge TPU (runs the pre-flight check; needs edgetpu_compiler)."),
    edgetpu_segments: Optional[int] = typer.Option(None, "--edgetpu-segments", help="--edgetpu: split into N segments for pipelining over N Edge TPUs (-n)."),
    edgetpu_search_delegate: bool = typer.Option(False, "--edgetpu-search-delegate", help="--edgetpu: let the compiler search for the largest mappable graph (--search_delegate)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout (progress stays on stderr)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Convert a Keras model to verified, self-describing .tflite artifacts (+ .json manifests)."""
    from .convert import convert as run_convert
    from .convert.selective import AccuracyBound
    from .quantize import resolve_recipes
    from .report.markdown import comparison_rows

    chosen = {"float32": float32, "dynamic": dynamic, "float16": float16, "int8": int8, "int16x8": int16x8}
    if all_recipes and any(chosen.values()):
        raise UsageError("--all already includes every recipe; pass --all or individual recipe flags, not both")
    names = list(chosen) if all_recipes else [name for name, on in chosen.items() if on]
    recipes = resolve_recipes(names + (["qat-int8"] if qat else []), io)
    if (edgetpu_segments is not None or edgetpu_search_delegate) and not edgetpu:
        raise UsageError("--edgetpu-segments/--edgetpu-search-delegate apply with --edgetpu; add it")
    if edgetpu and not any(r.name in ("int8", "qat-int8") for r in recipes):
        raise UsageError("--edgetpu compiles the int8 artifact: add --int8 (with --calib) or --qat")
    if edgetpu and not any(r.name in ("int8", "qat-int8") and r.io in ("int8", "uint8") for r in recipes):
        raise UsageError("--edgetpu needs integer inputs/outputs: drop --io float32 (use --io int8 or uint8)")
    settings = _qat_settings(qat, train_data, val_data, epochs, batch_size, learning_rate, strategy)
    bound = None if max_drop is None and min_agreement is None else AccuracyBound(max_drop, min_agreement)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # this CLI process only
    with capture_native_stderr():  # converter/TF C++ logs; progress goes to err_console
        result = run_convert(
            model, recipes, calib=calib, eval=eval_data, calib_samples=calib_samples,
            output=output, force=force, labels=labels, batch=batch, input_shape=input_shape,
            custom_objects=custom_objects, trust_model=trust_model, scale=scale, mean=_floats(mean, "--mean"),
            std=_floats(std, "--std"), qat=settings, bound=bound, best_effort=best_effort,
            on_step=_progress_step(not quiet),
        )
    compiled = _compile_for_edgetpu(result, force, edgetpu_segments, edgetpu_search_delegate, as_json) if edgetpu else None
    if as_json:
        _print_json(result.to_dict() | ({"edgetpu": compiled.to_dict()} if compiled else {}))
        _check_bounds(result)
        return
    for note in result.notes:
        err_console().print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    ev = result.evaluation
    from .report.markdown import fmt_pct

    title = f"{model.name}: verified on {ev['samples']} samples ({ev['kind']})"
    if result.reference_accuracy is not None:
        title += f"; float Keras accuracy {fmt_pct(result.reference_accuracy)}"
    out_console().print(_comparison_table(comparison_rows(result), title))
    if ev["kind"] == "synthetic":
        out_console().print(f"[yellow]note:[/yellow] {ev['note']}")
    for line in _quantization_lines(result):
        out_console().print(line, soft_wrap=True)
    for artifact in result.artifacts:
        out_console().print(f"wrote {artifact.path} and {artifact.manifest_path.name}")
    if compiled is not None:
        from .edgetpu.render import render_compile

        _print_renderables(render_compile(compiled))
    _check_bounds(result)


def _compile_for_edgetpu(result, force: bool, segments, search_delegate: bool, quiet: bool):
    """Compile the int8 artifact just written; the pre-flight check is printed first (also
    when the compiler turns out to be missing, which then ends the command with its error)."""
    from .edgetpu import compile_edgetpu

    int8 = next(a for a in result.artifacts if a.recipe.name in ("int8", "qat-int8") and a.recipe.io != "float32")

    def show_check(check):
        if not quiet:
            from .edgetpu.render import render_check

            for renderable in render_check(check):
                err_console().print(renderable)

    with capture_native_stderr():
        return compile_edgetpu(int8.path, force=force, segments=segments,
                               search_delegate=search_delegate, on_check=show_check)


def _qat_settings(qat, train_data, val_data, epochs, batch_size, learning_rate, strategy):
    """QatSettings from the --qat flags (None without --qat; then the flags are an error)."""
    from .quantize.qat import QatSettings

    given = {"--train-data": train_data, "--val-data": val_data, "--epochs": epochs,
             "--batch-size": batch_size, "--learning-rate": learning_rate, "--strategy": strategy}
    if not qat:
        flags = [flag for flag, value in given.items() if value is not None]
        if flags:
            raise UsageError(f"{', '.join(flags)} apply to quantization-aware training; add --qat")
        return None
    options = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "strategy": strategy}
    return QatSettings(train_data or "", val_data, **{k: v for k, v in options.items() if v is not None})


def _quantization_lines(result) -> list[str]:
    """One line per QAT fine-tuning or selective int8 result, from the manifests."""
    lines = []
    for artifact in result.artifacts:
        training, selective = artifact.manifest.get("training"), artifact.manifest.get("selective")
        if training:
            info = training["strategy"]
            lines.append(
                f"{artifact.recipe.name}: fine-tuned {training['epochs_run']} epoch(s) in "
                f"{training['seconds']:.1f} s ({info['name']}, {info['replicas']} replica(s))"
                + (", stopped early on the validation loss" if training["stopped_early"] else ""))
        if selective:
            cost = selective.get("cost_vs_plain_int8")
            kept = escape(", ".join(selective["float_layers"])) or "none (plain int8 meets the bound)"
            extra = f" (size {cost['size_ratio']:.2f}x, p50 latency {cost['latency_ratio']:.2f}x plain int8)" if cost else ""
            verdict = "meets" if selective["bound_holds"] else "[red]misses[/red]"
            lines.append(f"{artifact.recipe.name}: layers kept in float: {kept}{extra}; {verdict} the bound")
    return lines


def _check_bounds(result) -> None:
    from .errors import BoundError

    if result.unmet_bounds:
        raise BoundError(
            f"no mix of float layers met {'; '.join(result.unmet_bounds)}; the best attempt was "
            "written (--best-effort)"
        )


@app.command()
@handle_errors
def debug(
    model: Path = typer.Argument(..., help="Keras model: .keras, legacy .h5, or a SavedModel folder."),
    calib: Optional[str] = typer.Option(None, "--calib", help="Calibration data: image folder, .npy, .npz (x[, y]) or 'digits'."),
    eval_data: Optional[str] = typer.Option(None, "--eval", help="Evaluation data (same forms); default: held-out calibration data."),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Samples used for calibration; the rest is held out for evaluation."),
    samples: int = typer.Option(100, "--samples", help="Evaluation samples the per-layer error is measured on."),
    top: int = typer.Option(5, "--top", help="How many of the worst layers to re-measure end to end kept in float."),
    io: Optional[str] = typer.Option(None, "--io", help="I/O type of the int8 model: int8, uint8 or float32."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="Static input shape, batch first, e.g. 1x32x32x3."),
    custom_objects: Optional[Path] = typer.Option(None, "--custom-objects", help="Python file whose public classes/functions are the model's custom objects."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Skip the safety scan that refuses code-carrying or file-reaching models."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout (progress stays on stderr)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Rank layers by how much int8 quantization hurts them; measure keeping the worst in float."""
    from .convert.debug import debug as run_debug

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # this CLI process only
    with capture_native_stderr():
        report = run_debug(
            model, calib=calib, eval=eval_data, calib_samples=calib_samples, samples=samples,
            top=top, io=io, input_shape=input_shape, custom_objects=custom_objects,
            trust_model=trust_model, on_step=_progress_step(not quiet),
        )
    if as_json:
        _print_json(report.to_dict())
        return
    for renderable in _debug_renderables(model.name, report):
        out_console().print(renderable, soft_wrap=True)


def _debug_renderables(name: str, report) -> list:
    from .report.markdown import fmt_pct

    int8, ev = report.int8, report.evaluation
    head = (f"{escape(name)}: plain int8 accuracy {fmt_pct(int8['accuracy'])} (float "
            f"{fmt_pct(int8['reference_accuracy'])}), top-1 agreement {fmt_pct(int8['top1_agreement'])} "
            f"on {ev['samples']} samples ({ev['kind']})")
    shown = "" if len(report.layers) <= 20 else f"; the 20 worst of {len(report.layers)}, all in --json"
    table = Table(title=f"layers by int8 error (relative error: 0 exact, 1 signal gone{shown})")
    for i, column in enumerate(["rank", "layer", "op", "rel. error", "activations", "weights", "scale", "float range"]):
        table.add_column(column, justify="left" if i in (1, 2) else "right")
    for rank, entry in enumerate(report.layers[:20], 1):
        weight = "-" if entry.weight_error is None else f"{entry.weight_error:.4f}"
        low, high = entry.float_range
        table.add_row(str(rank), escape(entry.name), entry.op, f"{entry.relative_error:.4f}",
                      f"{entry.activation_error:.4f}", weight, f"{entry.scale:.3g}", f"{low:.3g} .. {high:.3g}")
    effects = Table(title="int8 with one suspect kept in float (with the ops reading its output)")
    for i, column in enumerate(["suspect", "float layers", "accuracy", "agreement"]):
        effects.add_column(column, justify="left" if i < 2 else "right")
    for effect in report.effects:
        effects.add_row(escape(effect["layer"]), escape(", ".join(effect["float_layers"])), fmt_pct(effect["accuracy"]),
                        fmt_pct(effect["top1_agreement"]))
    return [head, table, effects]


@app.command()
@handle_errors
def inspect(
    model: Path = typer.Argument(..., help="A .tflite file."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON on stdout."),
    tensors: bool = typer.Option(False, "--tensors", help="List every tensor, not only inputs and outputs."),
):
    """Show a .tflite file: size, op histogram, I/O quantization, integer-only, manifest."""
    from .report.inspect import inspect_tflite

    info = inspect_tflite(model)
    if as_json:
        _print_json(info)
        return
    from .report.inspect import render_inspect

    for renderable in render_inspect(info, show_tensors=tensors):
        out_console().print(renderable)


@app.command()
@handle_errors
def demo(
    output: Path = typer.Option(Path("edgekit-demo"), "--output", "-o", help="Folder to write (must not exist unless --force)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    epochs: int = typer.Option(15, "--epochs", help="Training epochs for the small CNN."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
):
    """Train a CNN on built-in handwritten digits, convert it with every recipe, measure each."""
    from .demo import run_demo

    if epochs <= 0:
        raise UsageError(f"--epochs must be positive; received {epochs}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with capture_native_stderr():  # TF/converter C++ logs; progress goes to err_console
        result = run_demo(output, force=force, epochs=epochs, on_step=_progress_step(True))
    if as_json:
        _print_json(result.to_dict())
        return
    report = result.report
    from .report.markdown import fmt_pct

    title = f"digits CNN (float Keras accuracy {fmt_pct(report['float_accuracy'])}), {report['dataset']['test']} held-out images"
    out_console().print(_comparison_table(result.rows, title))
    out_console().print(f"files in {result.output}/: model, artifacts + manifests, report.json, report.md ({report['seconds']} s)")


def _bench_table(result: dict) -> Table:
    from .report.markdown import fmt_delta, fmt_pct

    system, device = result["system"], result.get("device")
    where = f"{device['name']}: " if device else ""
    table = Table(title=f"edgekit bench on {where}{system['machine']} ({system.get('board') or system.get('cpu_model') or '?'})")
    header = ["model", "recipe", "KiB", "p50 ms", "p90 ms", "p99 ms", "CV", "speed-up", "size", "accuracy", "agree", "delta pt", "verdict"]
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 2 else "right")
    for m in result["models"]:
        vs = m["vs_first"]
        verdict = {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]"}.get(m["verdict"], "-")
        table.add_row(
            m["name"], m["recipe"] or "-", f"{m['size_bytes'] / 1024:.1f}", f"{m['p50_ms']:.3f}",
            f"{m['p90_ms']:.3f}", f"{m['p99_ms']:.3f}", f"{100 * m['latency']['cv']:.1f}%",
            "-" if vs["speedup"] is None else f"{vs['speedup']:.2f}x", f"{vs['size_ratio']:.2f}x",
            fmt_pct(m["accuracy"]), fmt_pct(m["agreement"]), fmt_delta(vs["accuracy_delta"]), verdict,
        )
    return table


@app.command()
@handle_errors
def bench(
    models: List[Path] = typer.Argument(..., help="One or more .tflite files; the first is the baseline of the comparison."),
    data: Optional[str] = typer.Option(None, "--data", help="Evaluation data: .npz with x (and optional y), or an image folder with one subfolder per class."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Float reference: .keras/.h5/SavedModel (needs edgekit[convert]), float .tflite, or an .npz from --save-reference."),
    save_reference: Optional[Path] = typer.Option(None, "--save-reference", help="Save the reference outputs on --data to this .npz, for devices without TensorFlow."),
    runs: int = typer.Option(100, "--runs", help="Timed runs per model (at least; see --min-time)."),
    min_time: float = typer.Option(1.0, "--min-time", help="Keep timing until this many seconds have passed (and --runs are done)."),
    warmup: int = typer.Option(10, "--warmup", help="Warm-up runs before timing (at least; see --warmup-time)."),
    warmup_time: float = typer.Option(0.5, "--warmup-time", help="Warm up for at least this many seconds."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Interpreter threads (default: the interpreter's)."),
    backend: str = typer.Option("auto", "--backend", help="Interpreter: auto, litert, tflite-runtime or tf."),
    min_relative_accuracy: float = typer.Option(0.99, "--min-relative-accuracy", help="PASS when accuracy >= this x the reference accuracy."),
    strict: bool = typer.Option(False, "--strict", help="Exit 5 when any model's verdict is FAIL."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the full result (schema edgekit.bench/1, raw samples included) to this file; '-' for stdout."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a self-contained HTML report with plots to this file."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing --json/--report/--save-reference files."),
    device: Optional[str] = typer.Option(None, "--device", help="Run on devices over SSH: inventory names or groups (edgekit devices list), comma-separated, or ssh://user@host:port."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="With --device: trust and record a host key that is not yet in known_hosts (a changed key is always refused)."),
):
    """Measure latency (percentiles) and accuracy against a float reference for .tflite models."""
    from ._files import check_writable
    from .bench import TimingConfig, run_benchmark

    outputs = [p for p in (json_path, report, save_reference) if p is not None and str(p) != "-"]
    check_writable(outputs, force)
    timing = TimingConfig(runs=runs, min_time=min_time, warmup=warmup, warmup_time=warmup_time)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if device is not None:
        _bench_on_devices(
            device, models, data=data, reference=str(reference) if reference else None,
            save_reference_to=str(save_reference) if save_reference else None, timing=timing,
            threads=threads, backend=backend, min_relative_accuracy=min_relative_accuracy,
            accept_new_host_key=accept_new_host_key, json_path=json_path, report=report, strict=strict,
        )
        return
    if accept_new_host_key:
        raise UsageError("--accept-new-host-key applies to --device runs only; add --device NAME or drop it")
    status = err_console().status("starting")
    step = _progress_step(True)

    def on_tick(name: str, count: int):
        status.update(f"latency: {name}: {count} runs")

    with status, capture_native_stderr():
        result = run_benchmark(
            models, data=data, reference=str(reference) if reference else None,
            save_reference_to=str(save_reference) if save_reference else None, timing=timing,
            threads=threads, backend=backend, min_relative_accuracy=min_relative_accuracy,
            isolate=True,
            on_step=lambda message: (status.update(message), step(message)),
            on_tick=on_tick,
        )
    _write_bench_outputs(result, json_path, report, strict, min_relative_accuracy)


def _emit_result(data: dict, json_path, report, show, render_page) -> None:
    """JSON on stdout (--json -) or the human view (`show()`), then the --json and --report
    files. The page is rendered before anything is written, so a failure writes nothing."""
    from ._files import atomic_write_text
    from .convert.manifest import jsonable

    text = json.dumps(jsonable(data), indent=1, allow_nan=False) + "\n"
    to_stdout = json_path is not None and str(json_path) == "-"
    if to_stdout:
        sys.stdout.write(text)
    else:
        show()
    page = render_page(data) if report is not None else None
    if json_path is not None and not to_stdout:
        atomic_write_text(json_path, text)
        err_console().print(f"wrote {json_path}")
    if page is not None:
        atomic_write_text(report, page)
        err_console().print(f"wrote {report}")


def _write_bench_outputs(result: dict, json_path, report, strict: bool, min_relative_accuracy: float) -> None:
    """The table (or JSON on stdout), --json and --report files, and the exit code of a run."""
    from .report.html import render_bench_html

    def show():
        out_console().print(_bench_table(result))
        for warning in result["warnings"]:
            out_console().print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)

    _emit_result(result, json_path, report, show, render_bench_html)
    if result["interrupted"]:
        err_console().print("[yellow]interrupted[/yellow]: partial results above")
        raise typer.Exit(130)
    failed = [m["name"] for m in result["models"] if m["verdict"] == "FAIL"]
    if strict and failed:
        err_console().print(f"[red]FAIL[/red]: {', '.join(failed)} below {min_relative_accuracy:g} x reference accuracy")
        raise typer.Exit(5)


edgetpu_app = typer.Typer(
    help="Coral Edge TPU: predict what maps to the TPU (check) and compile with edgetpu_compiler.",
    no_args_is_help=True,
)


def _print_renderables(renderables) -> None:
    for renderable in renderables:
        out_console().print(renderable, soft_wrap=isinstance(renderable, str))


@edgetpu_app.command("check")
@handle_errors
def edgetpu_check(
    model: Path = typer.Argument(..., help="An int8 .tflite file (e.g. NAME_int8.tflite from edgekit convert)."),
    as_json: bool = typer.Option(False, "--json", help="Print the prediction as JSON on stdout."),
    min_mapped: Optional[float] = typer.Option(None, "--min-mapped", help="Exit 5 when the predicted fraction of ops on the Edge TPU is below this (0..1), e.g. 1.0 in CI."),
    multiple_subgraphs: bool = typer.Option(False, "--multiple-subgraphs", help="Predict for the compiler's -a (several Edge TPU subgraphs)."),
):
    """Predict per op whether edgetpu_compiler maps it to the Edge TPU, with reasons and fixes."""
    from .errors import BoundError
    from .edgetpu import check_edgetpu

    if min_mapped is not None and not 0.0 <= min_mapped <= 1.0:
        raise UsageError(f"--min-mapped takes a fraction between 0 and 1; received {min_mapped}")
    check = check_edgetpu(model, multiple_subgraphs=multiple_subgraphs)
    if as_json:
        _print_json(check.to_dict())
    else:
        from .edgetpu.render import render_check

        _print_renderables(render_check(check))
    if min_mapped is not None and check.mapped_fraction < min_mapped:
        raise BoundError(
            f"{check.tpu_ops} of {len(check.ops)} ops ({check.mapped_fraction:.0%}) are predicted on "
            f"the Edge TPU, below --min-mapped {min_mapped:g}; apply the fixes listed above"
        )


@edgetpu_app.command("compile")
@handle_errors
def edgetpu_compile(
    model: Path = typer.Argument(..., help="An int8 .tflite file (e.g. NAME_int8.tflite from edgekit convert)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .tflite file, or an existing folder (default: beside the model)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    segments: int = typer.Option(1, "--segments", help="Compile into N segments for pipelining over N Edge TPUs (the compiler's -n)."),
    search_delegate: bool = typer.Option(False, "--search-delegate", help="The compiler's --search_delegate (-d): on failure, retry stopping earlier in the graph."),
    multiple_subgraphs: bool = typer.Option(False, "--multiple-subgraphs", help="The compiler's -a: map supported ops after an unsupported one too (several subgraphs)."),
    min_runtime_version: Optional[int] = typer.Option(None, "--min-runtime-version", help="The compiler's -m: the oldest Edge TPU runtime the model must run on (e.g. 13)."),
    timeout: float = typer.Option(300.0, "--timeout", help="Stop the compiler after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the check and the compiler's parsed results as JSON on stdout."),
):
    """Compile an int8 .tflite with Coral's edgetpu_compiler; writes NAME_edgetpu.tflite + .json."""
    from .edgetpu import CompileError, CompilerNotFoundError, compile_edgetpu

    def show_check(check):
        if not as_json:
            from .edgetpu.render import render_check

            _print_renderables(render_check(check))

    try:
        result = compile_edgetpu(
            model, output=output, force=force, segments=segments, search_delegate=search_delegate,
            multiple_subgraphs=multiple_subgraphs, min_runtime_version=min_runtime_version,
            timeout=timeout, on_check=show_check,
        )
    except (CompileError, CompilerNotFoundError) as exc:
        if as_json and exc.check is not None:
            _print_json({"check": exc.check.to_dict(), "compiled": None, "error": exc.message})
        raise
    if as_json:
        _print_json(result.to_dict())
        return
    from .edgetpu.render import render_compile

    _print_renderables(render_compile(result))
    for path, manifest in zip(result.paths, result.manifest_paths):
        out_console().print(f"wrote {path} and {manifest.name}")


app.add_typer(edgetpu_app, name="edgetpu")


# --- devices over SSH: bench --device, devices list, device check / setup --------------------


def _bench_on_devices(spec: str, models, *, json_path, report, strict: bool, **options) -> None:
    """`bench --device`: one device renders like a local run; several, side by side."""
    from .devices import StoppedError, bench_on_devices, load_inventory, resolve_devices

    devices = resolve_devices(spec, load_inventory())
    fleet = len(devices) > 1
    status = err_console().status("connecting")
    step = _progress_step(True)

    def on_step(name: str, message: str):
        text = f"{name}: {message}" if fleet else message
        status.update(text)
        step(text)

    def on_tick(name: str, model: str, count: int):
        status.update(f"{name + ': ' if fleet else ''}latency: {model}: {count} runs")

    with status, capture_native_stderr():  # a .keras reference runs TensorFlow on this computer
        outcomes = bench_on_devices(devices, models, on_step=on_step, on_tick=on_tick, **options)
    if fleet:
        _write_fleet_outputs(outcomes, json_path, report, strict)
        return
    error = outcomes[0].error
    if isinstance(error, StoppedError):
        raise KeyboardInterrupt
    if error is not None:
        raise error
    _write_bench_outputs(outcomes[0].result, json_path, report, strict, options["min_relative_accuracy"])


def _fleet_table(rows: list[dict]) -> Table:
    from .report.markdown import fmt_delta, fmt_ms, fmt_pct

    table = Table(title="edgekit bench on a fleet: a row per device and model")
    header = ["device", "board", "model", "recipe", "p50 ms", "p90 ms", "p99 ms", "speed-up", "accuracy", "agree", "delta pt", "verdict"]
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 4 else "right")
    for r in rows:
        if r.get("error"):
            table.add_row(r["device"], r.get("board") or "-", "[red]failed[/red]", "", "", "", "", "", "", "", "", "[red]ERROR[/red]")
            continue
        verdict = {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]"}.get(r["verdict"], "-")
        table.add_row(r["device"], r.get("board") or "-", r["model"], r["recipe"] or "-", fmt_ms(r["p50_ms"]),
                      fmt_ms(r["p90_ms"]), fmt_ms(r["p99_ms"]), "-" if r["speedup"] is None else f"{r['speedup']:.2f}x",
                      fmt_pct(r["accuracy"]), fmt_pct(r["agreement"]), fmt_delta(r["accuracy_delta"]), verdict)
    return table


def _write_fleet_outputs(outcomes, json_path, report, strict: bool) -> None:
    """The side-by-side table (or JSON), files, each failure named, and the exit code."""
    from .devices import fleet_report
    from .report.fleet import fleet_rows, render_fleet_html

    fleet = fleet_report(outcomes)

    def show():
        out_console().print(_fleet_table(fleet_rows(fleet)))
        for entry in fleet["devices"]:
            for warning in (entry["result"] or {}).get("warnings") or []:
                out_console().print(f"[yellow]warning:[/yellow] {entry['name']}: {warning}", soft_wrap=True)

    _emit_result(fleet, json_path, report, show, render_fleet_html)
    failures = [o for o in outcomes if o.error is not None]
    ok = len(outcomes) - len(failures)
    for o in failures:
        err_console().print(f"[red]failed:[/red] {o.error.message}", soft_wrap=True)
    if failures:
        err_console().print(f"{ok} of {len(outcomes)} devices gave results; failed: {', '.join(o.device.name for o in failures)}")
    if fleet["interrupted"]:
        err_console().print("[yellow]interrupted[/yellow]: partial results above")
        raise typer.Exit(130)
    if failures:
        raise typer.Exit(failures[0].error.exit_code)
    failed = [f"{r['device']}: {r['model']}" for r in fleet_rows(fleet) if r.get("verdict") == "FAIL"]
    if strict and failed:
        err_console().print(f"[red]FAIL[/red]: {', '.join(failed)}")
        raise typer.Exit(5)


devices_app = typer.Typer(
    help="The device inventory: edgekit.toml here and ~/.config/edgekit/devices.toml.",
    no_args_is_help=True,
)
device_app = typer.Typer(
    help="One device over SSH: check what it is, install the edgekit runtime on it.",
    no_args_is_help=True,
)


@devices_app.command("list")
@handle_errors
def devices_list(
    as_json: bool = typer.Option(False, "--json", help="Print the inventory as JSON on stdout."),
):
    """List the devices and groups of the inventory (nothing is contacted)."""
    from .devices import load_inventory

    inventory = load_inventory()
    if as_json:
        _print_json({"files": list(inventory.files), "devices": [d.to_dict() for d in inventory.devices.values()],
                     "groups": {k: list(v) for k, v in inventory.groups.items()}})
        return
    if not inventory.devices:
        out_console().print("no devices: add [devices.NAME] tables to ./edgekit.toml or ~/.config/edgekit/devices.toml "
                            "(see the README), or use --device ssh://user@host:port", soft_wrap=True)
        return
    table = Table(title=f"devices from {', '.join(inventory.files)}")
    for name in ("name", "host", "port", "profile", "python", "workdir", "from"):
        table.add_column(name)
    for d in inventory.devices.values():
        table.add_row(d.name, d.host, str(d.port or "-"), d.profile or "-", d.python, d.workdir, d.source)
    out_console().print(table)
    for group, members in inventory.groups.items():
        out_console().print(f"group {group}: {', '.join(members)}")


def _one_device(name: str):
    from .devices import load_inventory, resolve_devices

    devices = resolve_devices(name, load_inventory())
    if len(devices) != 1:
        raise UsageError(f"{name!r} names {len(devices)} devices ({', '.join(d.name for d in devices)}); give one device")
    return devices[0]


def _size(value) -> str:
    return "-" if value is None else f"{value / 2**30:.1f} GiB"


@device_app.command("check")
@handle_errors
def device_check(
    name: str = typer.Argument(..., help="An inventory name or ssh://user@host:port."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="Trust and record a host key not yet in known_hosts (a changed key is always refused)."),
    as_json: bool = typer.Option(False, "--json", help="Print the facts as JSON on stdout."),
):
    """One round trip: architecture, OS, Python, CPU, board, governor, throttling, disk, memory, runtime."""
    from .devices import check_device

    found = check_device(_one_device(name), accept_new_host_key=accept_new_host_key)
    if as_json:
        _print_json(found)
        return
    f, rt = found["facts"], found["runtime"]
    if rt["installed"]:
        runtime = f"installed: backend {rt['backend']}, edgekit {(rt['record'].get('versions') or {}).get('edgekit')}"
    else:
        runtime = f"not installed{' (' + rt['error'] + ')' if rt['error'] else ''}; run: edgekit device setup {name}"
    table = Table(title=f"{name} ({found['device']['host']}), {found['seconds']} s", show_header=False)
    rows = [("architecture", f["machine"]), ("OS", f.get("os") or f"{f['system']} {f['release']}"),
            ("kernel", f"{f['system']} {f['release']}"), ("Python", f"{f['python']} ({f['executable']})"),
            ("C library", " ".join(v for v in f.get("libc") or [] if v) or "-"), ("CPU", f"{f.get('cpu_model') or '-'} x {f.get('cpu_count')}"),
            ("board", f.get("board") or "-"), ("governor", ", ".join(f.get("governors") or []) or "not reported"),
            ("throttled", f.get("throttled") or "not reported (no vcgencmd)"),
            ("free disk", f"{_size(f.get('disk_free_bytes'))} in {f.get('workdir')}"),
            ("memory", f"{_size(f.get('mem_available_bytes'))} free of {_size(f.get('mem_total_bytes'))}"), ("runtime", runtime)]
    for key, value in rows:
        table.add_row(key, str(value))
    out_console().print(table)


@device_app.command("setup")
@handle_errors
def device_setup(
    name: str = typer.Argument(..., help="An inventory name or ssh://user@host:port."),
    wheels: Optional[Path] = typer.Option(None, "--wheels", help="Folder of downloaded wheels (default ~/.cache/edgekit/wheels); filled from PyPI unless --offline."),
    offline: bool = typer.Option(False, "--offline", help="Use only the wheels already in --wheels; never contact PyPI."),
    force: bool = typer.Option(False, "--force", help="Reinstall even when the device has these exact wheels."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="Trust and record a host key not yet in known_hosts (a changed key is always refused)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was installed as JSON on stdout."),
):
    """Install the edgekit runtime (edgekit, numpy, ai-edge-litert) on a device with no internet."""
    from .devices import setup_device

    done = setup_device(_one_device(name), wheels=wheels, offline=offline, force=force,
                        accept_new_host_key=accept_new_host_key, on_step=_progress_step(not as_json))
    if as_json:
        _print_json(done)
        return
    versions = ", ".join(f"{k} {v}" for k, v in (done["versions"] or {}).items())
    what = "installed" if done["changed"] else "already up to date"
    out_console().print(f"{name}: runtime {what} in {done['site']} (backend {done['backend']}; {versions}) in {done['seconds']} s")


app.add_typer(devices_app, name="devices")
app.add_typer(device_app, name="device")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup (temp files, locks) runs."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main():
    signal.signal(signal.SIGTERM, _on_sigterm)
    app()


if __name__ == "__main__":
    main()
