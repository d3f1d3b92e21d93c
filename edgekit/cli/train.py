"""`edgekit train`: parse, call `edgekit.train.train`, render, exit code."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from . import help as H
from .app import app, handle_errors, quiet_native, raise_if, ui
from .output import print_json


MODEL_PANEL = "Model"
TRAINING = "Training"
EXPORT = "Export (convert the result)"
ARCHS = Literal["cnn", "mobilenetv2", "mobilenetv3small", "mobilenetv3large", "efficientnet-lite"]


@app.command()
@handle_errors
def train(
    data: str = typer.Argument(..., metavar="DATA", help="Labelled data: a folder with one subfolder per class (jpg, png, bmp, gif, tiff, webp), an .npz with x (NHWC), y and class_names, or 'digits'."),
    val_split: Optional[float] = typer.Option(None, "--val-split", metavar="F", help="Share of each class held out for validation and early stopping (default 0.1).", rich_help_panel=H.DATA),
    test_split: Optional[float] = typer.Option(None, "--test-split", metavar="F", help="Share of each class held out for the test metrics and the export's verification (default 0.1).", rich_help_panel=H.DATA),
    val_data: Optional[str] = typer.Option(None, "--val-data", metavar="DATA", help="Separate validation data (same forms and classes as DATA) instead of --val-split.", rich_help_panel=H.DATA),
    test_data: Optional[str] = typer.Option(None, "--test-data", metavar="DATA", help="Separate test data (same forms and classes as DATA) instead of --test-split.", rich_help_panel=H.DATA),
    channels: Optional[int] = typer.Option(None, "--channels", metavar="1|3", help="Image folders: 1 (grayscale) or 3 (RGB); default 1 when every image is grayscale, else 3.", rich_help_panel=H.DATA),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Train without images that cannot be read (listed in the record) instead of stopping.", rich_help_panel=H.DATA),
    arch: Optional[ARCHS] = typer.Option(None, "--arch", help="Architecture (default: chosen from the input and data size).", rich_help_panel=MODEL_PANEL),
    input_size: Optional[str] = typer.Option(None, "--input", metavar="96|HxW", help="Image folders: the model input in pixels (default: the median image side, at most 96).", rich_help_panel=MODEL_PANEL),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Width multiplier of the MobileNets and EfficientNet-Lite (default 1.0).", rich_help_panel=MODEL_PANEL),
    weights: str = typer.Option("none", "--weights", metavar="imagenet|none|FILE", help="imagenet (Keras' pretrained weights, downloaded once), none (from scratch), or a .weights.h5/.keras file for transfer learning.", rich_help_panel=MODEL_PANEL),
    epochs: int = typer.Option(20, "--epochs", help="Most epochs (of the head, with pretrained weights); early stopping may end sooner.", rich_help_panel=TRAINING),
    batch_size: int = typer.Option(32, "--batch-size", help="Global batch size (split over replicas and workers).", rich_help_panel=TRAINING),
    learning_rate: float = typer.Option(1e-3, "--learning-rate", help="Adam's starting rate; cosine decay to 5% of it over the epochs.", rich_help_panel=TRAINING),
    fine_tune: int = typer.Option(0, "--fine-tune", metavar="N", help="With pretrained weights: after the head, train the top N layers of the base at a tenth of the rate.", rich_help_panel=TRAINING),
    fine_tune_epochs: Optional[int] = typer.Option(None, "--fine-tune-epochs", help="Most fine-tuning epochs (default: --epochs).", rich_help_panel=TRAINING),
    patience: int = typer.Option(3, "--patience", help="Stop after this many epochs without a lower validation loss (the best weights are kept).", rich_help_panel=TRAINING),
    augment: Optional[str] = typer.Option(None, "--augment", metavar="flip,rotation,zoom,contrast|none", help="Augmentations (default: all four for image folders, none for arrays; leave flip out for text and digits).", rich_help_panel=TRAINING),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the initial weights, the shuffling and the augmentation.", rich_help_panel=TRAINING),
    strategy: Literal["default", "mirrored", "multiworker"] = typer.Option("default", "--strategy", help="tf.distribute: one device, the local GPUs, or several machines (TF_CONFIG on every worker; the chief writes).", rich_help_panel=TRAINING),
    export: Optional[List[str]] = typer.Option(None, "--export", metavar="RECIPE", help="Convert the result: int8, float16, dynamic, float32, int16x8 or all (repeat or comma-separate); calibrated on the training split, verified on the test split.", rich_help_panel=EXPORT),
    io: Optional[Literal["int8", "uint8", "float32"]] = typer.Option(None, "--io", help="I/O type of the exported int8 models (default int8).", rich_help_panel=EXPORT),
    qat: bool = typer.Option(False, "--qat", help="Also export qat-int8 (quantization-aware fine-tuning on the training split).", rich_help_panel=EXPORT),
    calib_samples: int = typer.Option(200, "--calib-samples", help="Training-split samples used to calibrate int8 exports.", rich_help_panel=EXPORT),
    edgetpu: bool = typer.Option(False, "--edgetpu", help="Also compile the int8 artifact for the Coral Edge TPU (prints the pre-flight check; exports int8 if not asked).", rich_help_panel=H.EDGETPU),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="MODEL.keras", help="The model file or an existing folder (default DATA_NAME.keras here); NAME.train.json and NAME.train.html go beside it.", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs.", rich_help_panel=H.OUTPUT),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout (schema edgekit.train/1; progress stays on stderr).", rich_help_panel=H.OUTPUT),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines (and no Edge TPU pre-flight table).", rich_help_panel=H.OUTPUT),
):
    """Train a device-ready classifier on labelled images (or an .npz), and export it.

    The data is split per class (train, validation, test; the file names are recorded), the
    model trained with early stopping and written with its training record and report;
    --export runs convert on it, calibrated on the training split and verified on the test split.

        edgekit train photos/ -o flowers.keras
        edgekit train photos/ --arch mobilenetv2 --input 96 --weights imagenet --fine-tune 30
        edgekit train data.npz --arch cnn -o digits.keras --export int8 --edgetpu
        edgekit train photos/ --strategy multiworker -o flowers.keras   # TF_CONFIG on every worker
    """
    from ..report.console import render_check
    from ..report.training import notes, render_train
    from ..train import train as run_train

    u = ui()
    on_check = None if quiet or as_json else (lambda check: u.print(*render_check(check), err=True))
    with quiet_native():  # TensorFlow's C++ log lines; progress goes to the err console
        result = run_train(
            data, output=output, arch=arch, input_size=input_size, alpha=alpha, weights=weights, channels=channels,
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, fine_tune=fine_tune,
            fine_tune_epochs=fine_tune_epochs, patience=patience, val_split=val_split, test_split=test_split,
            val_data=val_data, test_data=test_data, augment=augment, seed=seed, strategy=strategy,
            skip_bad=skip_bad, export=export or (), io=io, qat=qat, edgetpu=edgetpu, calib_samples=calib_samples,
            force=force, on_step=u.step(not quiet), on_check=on_check,
        )
    if as_json:
        print_json(result.to_json())
    else:
        u.print(*notes(result), err=True)
        u.print(*render_train(result))
    raise_if(result.interrupted_error())
    raise_if(result.export_error())


__all__: List[str] = ["train"]
