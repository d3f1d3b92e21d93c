"""`edgekit inspect` and `edgekit demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from . import help as H
from .app import app, handle_errors, quiet_native, ui
from .output import print_json


@app.command()
@handle_errors
def inspect(
    model: Path = typer.Argument(..., metavar="MODEL.tflite", help="A .tflite file."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON on stdout (schema edgekit.inspect/1).", rich_help_panel=H.OUTPUT),
    tensors: bool = typer.Option(False, "--tensors", help="List every tensor, not only inputs and outputs.", rich_help_panel=H.OUTPUT),
):
    """Show a .tflite file: size, op histogram, I/O quantization, integer-only, manifest.

    Reads the flatbuffer only (no TensorFlow, no interpreter): safe on files from elsewhere.

        edgekit inspect model_int8.tflite
        edgekit inspect model_int8.tflite --tensors
        edgekit inspect model_int8.tflite --json | jq .manifest.verification
    """
    from ..report.console import render_inspect
    from ..report.inspect import inspect_tflite

    result = inspect_tflite(model)
    if as_json:
        print_json(result.to_json())
    else:
        ui().print(*render_inspect(result, show_tensors=tensors))


@app.command()
@handle_errors
def demo(
    output: Path = typer.Option(Path("edgekit-demo"), "--output", "-o", help="Folder to write (must not exist unless --force).", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder.", rich_help_panel=H.OUTPUT),
    epochs: int = typer.Option(15, "--epochs", help="Training epochs for the CNN.", rich_help_panel=H.MEASURE),
    threads: Optional[int] = typer.Option(None, "--threads", help="Interpreter threads for the benchmark (default: this machine's physical cores).", rich_help_panel=H.MEASURE),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout (schema edgekit.demo/2).", rich_help_panel=H.OUTPUT),
):
    """Train a CNN on built-in handwritten digits, convert it with every recipe, benchmark each.

    Real data that ships with scikit-learn (no download); writes edgekit-demo/ with the model,
    the artifacts and their manifests, report.md, report.html (with edgekit[report]),
    report.json and bench.json, and says which artifact to ship.

        edgekit demo
        edgekit demo --output /tmp/demo --epochs 5 --force
    """
    from ..demo import run_demo
    from ..report.console import render_demo

    u = ui()
    with quiet_native():  # TF/converter C++ logs; progress goes to the err console
        result = run_demo(output, force=force, epochs=epochs, threads=threads, on_step=u.step())
    if as_json:
        print_json(result.to_json())
    else:
        u.print(*render_demo(result, u.out.width), wrap=True)
        u.print(*[f"[yellow]warning:[/yellow] {escape(w)}" for w in result.bench.warnings], err=True, wrap=True)
