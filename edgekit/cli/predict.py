"""`edgekit predict`: parse, call `edgekit.runtime.tasks.predict_images`, render, --save."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from . import help as H
from .app import app, handle_errors, quiet_native, ui
from .convert import floats
from .output import print_json


@app.command()
@handle_errors
def predict(
    model: Path = typer.Argument(..., help="A .tflite file; its manifest says how images are preprocessed (else give --scale/--fit)."),
    inputs: List[Path] = typer.Argument(..., help="Image files, or folders of them (PNG, JPEG, BMP, GIF, TIFF, WebP)."),
    task: Literal["auto", "classify", "detect", "segment"] = typer.Option("auto", "--task", help="auto: from the manifest and the output shapes.", rich_help_panel=H.TASK),
    top_k: int = typer.Option(5, "--top-k", help="classify: how many classes to show per image.", rich_help_panel=H.TASK),
    score_threshold: float = typer.Option(0.25, "--score-threshold", help="detect: keep boxes scoring at least this (0..1).", rich_help_panel=H.TASK),
    iou_threshold: float = typer.Option(0.45, "--iou-threshold", help="detect: drop a box overlapping a better one of its class by more than this IoU (0..1).", rich_help_panel=H.TASK),
    max_detections: int = typer.Option(100, "--max-detections", help="detect: at most this many boxes per image.", rich_help_panel=H.TASK),
    layout: Optional[Literal["postprocess", "yolov5", "yolov8", "ssd"]] = typer.Option(None, "--layout", help="detect: the output layout (default: the manifest's, else recognised from the output shapes).", rich_help_panel=H.TASK),
    scale: Optional[float] = typer.Option(None, "--scale", help="Pixel multiplier before mean/std (default: the manifest's, else 1/255).", rich_help_panel=H.PREPROCESSING),
    mean: Optional[str] = typer.Option(None, "--mean", metavar="A,B,C", help="Per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406 (default: the manifest's, else 0).", rich_help_panel=H.PREPROCESSING),
    std: Optional[str] = typer.Option(None, "--std", metavar="A,B,C", help="Per-channel std divided by after the mean (default: the manifest's, else 1).", rich_help_panel=H.PREPROCESSING),
    fit: Optional[Literal["stretch", "letterbox"]] = typer.Option(None, "--fit", help="stretch (resize to the input) or letterbox (keep the aspect ratio, pad); default: the manifest's, else stretch.", rich_help_panel=H.PREPROCESSING),
    as_json: bool = typer.Option(False, "--json", help="Print the predictions as JSON on stdout (schema edgekit.predict/1).", rich_help_panel=H.OUTPUT),
    save: Optional[Path] = typer.Option(None, "--save", metavar="DIR", help="Write annotated copies of the images (boxes, masks, top class) into this folder; created if missing.", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files in the --save folder.", rich_help_panel=H.OUTPUT),
    delegate: Optional[Literal["edgetpu"]] = typer.Option(None, "--delegate", help="Run on a Coral Edge TPU (automatic for *_edgetpu.tflite files).", rich_help_panel=H.RUNTIME),
    device: Optional[str] = typer.Option(None, "--tpu", "--device", metavar="usb:0|pci:0", help="Which Edge TPU: usb, usb:0, pci, pci:0 (default: the first found).", rich_help_panel=H.RUNTIME),
    threads: Optional[int] = typer.Option(None, "--threads", help="Interpreter threads (default: this machine's physical cores).", rich_help_panel=H.RUNTIME),
    backend: Literal["auto", "litert", "tflite-runtime", "tf"] = typer.Option("auto", "--backend", help="The interpreter package.", rich_help_panel=H.RUNTIME),
):
    """Run a .tflite on images: top-k classes, detections (boxes in image pixels) or mask statistics.

    Runs on the base (device) install, no TensorFlow; the manifest edgekit wrote with the model
    says how to preprocess images and what the classes are called.

        edgekit predict detector_int8.tflite photos/ --score-threshold 0.5 --save annotated/
        edgekit predict classifier.tflite cat.jpg --top-k 3 --json
        edgekit predict deeplab.tflite room.jpg --task segment --save masks/
        edgekit predict detector_int8_edgetpu.tflite street.jpg --tpu usb:0
    """
    from ..report.predictions import check_save_folder, render_predictions, write_annotated
    from ..runtime.tasks import predict_images

    u = ui()
    if save is not None:
        check_save_folder(save)
    with quiet_native():
        result = predict_images(
            model, inputs, task=task, top_k=top_k, score_threshold=score_threshold, iou_threshold=iou_threshold,
            max_detections=max_detections, layout=layout, scale=scale, mean=floats(mean, "mean"),
            std=floats(std, "std"), fit=fit, backend=backend, threads=threads, delegate=delegate, device=device,
            isolate=True,
        )
    written = write_annotated(result, save, force) if save is not None else []
    if as_json:
        print_json(result.to_json() | {"saved": [str(p) for p in written]})
    else:
        u.print(*render_predictions(result))
    if written:
        u.err.print(f"wrote {len(written)} annotated image(s) to {save}", soft_wrap=True, markup=False)
