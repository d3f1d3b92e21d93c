"""`edgekit convert` and `edgekit debug`: parse, call the library, render."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from . import help as H
from .app import app, handle_errors, quiet_native, raise_if, ui
from .output import print_json

RECIPE_FLAGS = ("float32", "dynamic", "float16", "int8", "int16x8", "weight-only-int8", "weight-only-int4",
                "blockwise-int4")
MODEL_HELP = ("Model: .keras, legacy .h5, a SavedModel folder, a float .tflite, or a PyTorch torch.export "
              "program (.pt2).")


def floats(text: Optional[str], name: str):
    """'0.485,0.456,0.406' -> (0.485, 0.456, 0.406); a UsageError naming the parameter."""
    from ..errors import UsageError

    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"`{name}` takes numbers separated by commas, e.g. 0.485,0.456,0.406; "
                         f"received {text!r}") from exc


@app.command()
@handle_errors
def convert(
    model: Path = typer.Argument(..., help=MODEL_HELP),
    float32: bool = typer.Option(False, "--float32", help="Float32 weights and activations (the baseline).", rich_help_panel=H.RECIPES),
    dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic-range: int8 weights, float activations.", rich_help_panel=H.RECIPES),
    float16: bool = typer.Option(False, "--float16", help="Float16 weights, float32 compute.", rich_help_panel=H.RECIPES),
    int8: bool = typer.Option(False, "--int8", help="Full integer: int8 weights and activations (needs --calib).", rich_help_panel=H.RECIPES),
    int16x8: bool = typer.Option(False, "--int16x8", help="int16 activations, int8 weights (needs --calib).", rich_help_panel=H.RECIPES),
    weight_only_int8: bool = typer.Option(False, "--weight-only-int8", help="int8 weights dequantized for float compute: about 4x smaller, near-float accuracy (LiteRT Quantizer).", rich_help_panel=H.RECIPES),
    weight_only_int4: bool = typer.Option(False, "--weight-only-int4", help="int4 weights (per channel) dequantized for float compute: about 8x smaller (LiteRT Quantizer).", rich_help_panel=H.RECIPES),
    blockwise_int4: bool = typer.Option(False, "--blockwise-int4", help="int4 weights in blocks of 32, dynamic-range compute; fully connected and embedding layers (LiteRT Quantizer).", rich_help_panel=H.RECIPES),
    all_recipes: bool = typer.Option(False, "--all", help="float32, dynamic, float16, int8 and int16x8 (weight-only and blockwise recipes may be added by name).", rich_help_panel=H.RECIPES),
    io: Optional[Literal["int8", "uint8", "int16", "float32"]] = typer.Option(None, "--io", help="I/O type for int8 (int8, uint8, float32) or int16x8 (int16, float32); default: the recipe's own (int8, int16).", rich_help_panel=H.RECIPES),
    calib: Optional[str] = typer.Option(None, "--calib", metavar="DATA", help="Calibration data: image folder, .npy, .npz (x[, y]) or 'digits'.", rich_help_panel=H.DATA),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Samples used for calibration; the rest is held out for verification.", rich_help_panel=H.DATA),
    eval_data: Optional[str] = typer.Option(None, "--eval", metavar="DATA", help="Evaluation data (same forms as --calib) for verification and accuracy.", rich_help_panel=H.DATA),
    scale: Optional[float] = typer.Option(None, "--scale", help="Image folders: pixel multiplier before mean/std (default 1/255).", rich_help_panel=H.PREPROCESSING),
    mean: Optional[str] = typer.Option(None, "--mean", metavar="A,B,C", help="Image folders: per-channel mean subtracted after scaling (default 0).", rich_help_panel=H.PREPROCESSING),
    std: Optional[str] = typer.Option(None, "--std", metavar="A,B,C", help="Image folders: per-channel std divided by after the mean (default 1).", rich_help_panel=H.PREPROCESSING),
    labels: Optional[Path] = typer.Option(None, "--labels", metavar="FILE", help="Text file, one class label per line, stored in the manifest.", rich_help_panel=H.DATA),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="PATH", help="Output .tflite file (one recipe) or existing folder.", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs.", rich_help_panel=H.OUTPUT),
    batch: Optional[int] = typer.Option(None, "--batch", help="Fixed batch size of the exported model (default 1).", rich_help_panel=H.MODEL),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", metavar="SHAPE", help="Static input shape, batch first, e.g. 1x32x32x3.", rich_help_panel=H.MODEL),
    custom_objects: Optional[Path] = typer.Option(None, "--custom-objects", metavar="FILE.py", help="Python file whose public classes/functions are the model's custom objects.", rich_help_panel=H.MODEL),
    trust_model: bool = typer.Option(False, "--trust-model", help="Skip the safety scan that refuses code-carrying or file-reaching models (Lambda layers, foreign modules, file paths/URLs); load a pickled PyTorch .pt/.pth.", rich_help_panel=H.MODEL),
    layout: Optional[Literal["nhwc", "nchw"]] = typer.Option(None, "--layout", help="PyTorch models: nhwc (default) feeds NCHW image inputs channels last on the device; nchw keeps the model's layout.", rich_help_panel=H.MODEL),
    qat: bool = typer.Option(False, "--qat", help="Quantization-aware training: fine-tune with fake int8 quantization, then convert (recipe qat-int8; needs --train-data).", rich_help_panel=H.QAT),
    train_data: Optional[str] = typer.Option(None, "--train-data", metavar="DATA", help="--qat: labelled training data: class-folder images, .npz (x, y) or 'digits'.", rich_help_panel=H.QAT),
    val_data: Optional[str] = typer.Option(None, "--val-data", metavar="DATA", help="--qat: labelled validation data (same forms), for early stopping on its loss.", rich_help_panel=H.QAT),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="--qat: fine-tuning epochs (default 3).", rich_help_panel=H.QAT),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="--qat: global training batch size (default 32).", rich_help_panel=H.QAT),
    learning_rate: Optional[float] = typer.Option(None, "--learning-rate", help="--qat: Adam learning rate (default 3e-5: small steps from the calibrated start).", rich_help_panel=H.QAT),
    strategy: Optional[Literal["default", "mirrored", "multiworker"]] = typer.Option(None, "--strategy", help="--qat: tf.distribute strategy: default, mirrored (local GPUs) or multiworker (TF_CONFIG).", rich_help_panel=H.QAT),
    max_drop: Optional[float] = typer.Option(None, "--max-drop", help="int8: most accuracy points to lose on labelled --eval data; keeps the worst layers in float until it holds.", rich_help_panel=H.BOUNDS),
    min_agreement: Optional[float] = typer.Option(None, "--min-agreement", help="int8: least top-1 agreement (0-1) with the float model on --eval data; keeps layers in float until it holds.", rich_help_panel=H.BOUNDS),
    best_effort: bool = typer.Option(False, "--best-effort", help="With --max-drop/--min-agreement: write the best attempt when no mix meets the bound (still exits 5).", rich_help_panel=H.BOUNDS),
    edgetpu: bool = typer.Option(False, "--edgetpu", help="Also compile the int8 artifact for the Coral Edge TPU (runs the pre-flight check; needs edgetpu_compiler).", rich_help_panel=H.EDGETPU),
    edgetpu_segments: Optional[int] = typer.Option(None, "--edgetpu-segments", help="--edgetpu: split into N segments for pipelining over N Edge TPUs (-n).", rich_help_panel=H.EDGETPU),
    edgetpu_search_delegate: bool = typer.Option(False, "--edgetpu-search-delegate", help="--edgetpu: let the compiler search for the largest mappable graph (--search_delegate).", rich_help_panel=H.EDGETPU),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout (schema edgekit.convert/1; progress stays on stderr).", rich_help_panel=H.OUTPUT),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines (and no Edge TPU pre-flight table).", rich_help_panel=H.OUTPUT),
):
    """Convert a Keras, float .tflite or PyTorch model to verified, self-describing .tflite artifacts (+ .json manifests).

    Each recipe's artifact is checked against the float model on held-out data before it is
    written; a result that breaks the model is an error, not a file.

        edgekit convert model.keras --all --calib calib/ --eval eval/ -o artifacts/
        edgekit convert model.keras --int8 --io uint8 --calib digits --edgetpu
        edgekit convert model.keras --int8 --calib calib.npz --eval eval.npz --max-drop 1
        edgekit convert model.keras --qat --train-data train/ --val-data val/
        edgekit convert face_landmark.tflite --dynamic --weight-only-int4
        edgekit convert model.pt2 --int8 --calib calib.npz --layout nchw
    """
    from ..convert import AccuracyBound, convert as run_convert
    from ..convert.request import edgetpu_options
    from ..quantize import recipes_from_flags
    from ..quantize.qat import settings_from_options
    from ..report.console import notes, render_check, render_convert

    u = ui()
    flags = {"float32": float32, "dynamic": dynamic, "float16": float16, "int8": int8, "int16x8": int16x8,
             "weight-only-int8": weight_only_int8, "weight-only-int4": weight_only_int4, "blockwise-int4": blockwise_int4}
    recipes = recipes_from_flags([name for name, on in flags.items() if on], all_recipes, qat, io)
    settings = settings_from_options(qat, train_data=train_data, val_data=val_data, epochs=epochs,
                                     batch_size=batch_size, learning_rate=learning_rate, strategy=strategy)
    on_check = None if quiet or as_json else (lambda check: u.print(*render_check(check), err=True))
    tpu = edgetpu_options(edgetpu, edgetpu_segments, edgetpu_search_delegate, on_check)
    bound = None if max_drop is None and min_agreement is None else AccuracyBound(max_drop, min_agreement)
    with quiet_native():  # converter/TF C++ logs; progress goes to the err console
        result = run_convert(
            model, recipes, calib=calib, eval=eval_data, calib_samples=calib_samples, labels=labels,
            scale=scale, mean=floats(mean, "mean"), std=floats(std, "std"), output=output, force=force,
            batch=batch, input_shape=input_shape, custom_objects=custom_objects, trust_model=trust_model,
            qat=settings, bound=bound, best_effort=best_effort, edgetpu=tpu, layout=layout, on_step=u.step(not quiet),
        )
    if as_json:
        print_json(result.to_json())
    else:
        u.print(*notes(result), err=True)
        u.print(*render_convert(result, model.name))
    raise_if(result.bound_error())


@app.command()
@handle_errors
def debug(
    model: Path = typer.Argument(..., help=MODEL_HELP),
    calib: Optional[str] = typer.Option(None, "--calib", metavar="DATA", help="Calibration data: image folder, .npy, .npz (x[, y]) or 'digits'.", rich_help_panel=H.DATA),
    eval_data: Optional[str] = typer.Option(None, "--eval", metavar="DATA", help="Evaluation data (same forms); default: held-out calibration data.", rich_help_panel=H.DATA),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Samples used for calibration; the rest is held out for evaluation.", rich_help_panel=H.DATA),
    samples: int = typer.Option(100, "--samples", help="Evaluation samples the per-layer error is measured on.", rich_help_panel=H.DATA),
    top: int = typer.Option(5, "--top", help="How many of the worst layers to re-measure end to end kept in float.", rich_help_panel=H.DATA),
    io: Optional[Literal["int8", "uint8", "float32"]] = typer.Option(None, "--io", help="I/O type of the int8 model.", rich_help_panel=H.RECIPES),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", metavar="SHAPE", help="Static input shape, batch first, e.g. 1x32x32x3.", rich_help_panel=H.MODEL),
    custom_objects: Optional[Path] = typer.Option(None, "--custom-objects", metavar="FILE.py", help="Python file whose public classes/functions are the model's custom objects.", rich_help_panel=H.MODEL),
    trust_model: bool = typer.Option(False, "--trust-model", help="Skip the safety scan that refuses code-carrying or file-reaching models.", rich_help_panel=H.MODEL),
    layout: Optional[Literal["nhwc", "nchw"]] = typer.Option(None, "--layout", help="PyTorch models: nhwc (default) or nchw, as for convert.", rich_help_panel=H.MODEL),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout (schema edgekit.debug/1; progress stays on stderr).", rich_help_panel=H.OUTPUT),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines.", rich_help_panel=H.OUTPUT),
):
    """Rank layers by how much int8 quantization hurts them; measure keeping the worst in float.

    Use it when an int8 artifact loses accuracy: the table names the layers to keep in float
    (what `convert --max-drop` does automatically).

        edgekit debug model.keras --calib calib.npz --eval eval.npz
        edgekit debug model.tflite --calib digits --top 3 --json > debug.json
    """
    from ..convert.debug import debug as run_debug
    from ..report.console import render_debug

    u = ui()
    with quiet_native():
        report = run_debug(
            model, calib=calib, eval=eval_data, calib_samples=calib_samples, samples=samples, top=top, io=io,
            input_shape=input_shape, custom_objects=custom_objects, trust_model=trust_model, layout=layout,
            on_step=u.step(not quiet),
        )
    if as_json:
        print_json(report.to_json())
    else:
        u.print(*render_debug(model.name, report))


__all__: List[str] = ["convert", "debug", "floats"]
