"""`edgekit edgetpu check|compile`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import help as H
from .app import app, handle_errors, raise_if, ui
from .output import print_json

edgetpu_app = typer.Typer(
    help="Coral Edge TPU: predict what maps to the TPU (check) and compile with edgetpu_compiler.",
    no_args_is_help=True,
)
app.add_typer(edgetpu_app, name="edgetpu")


@edgetpu_app.command("check")
@handle_errors
def edgetpu_check(
    model: Path = typer.Argument(..., metavar="MODEL_int8.tflite", help="An int8 .tflite file (e.g. NAME_int8.tflite from edgekit convert)."),
    as_json: bool = typer.Option(False, "--json", help="Print the prediction as JSON on stdout (schema edgekit.edgetpu-check/1).", rich_help_panel=H.OUTPUT),
    min_mapped: Optional[float] = typer.Option(None, "--min-mapped", help="Exit 5 when the predicted fraction of ops on the Edge TPU is below this (0..1), e.g. 1.0 in CI.", rich_help_panel=H.COMPILER),
    multiple_subgraphs: bool = typer.Option(False, "--multiple-subgraphs", help="Predict for the compiler's -a (several Edge TPU subgraphs).", rich_help_panel=H.COMPILER),
):
    """Predict per op whether edgetpu_compiler maps it to the Edge TPU, with reasons and fixes.

    From the flatbuffer alone (no compiler, no TensorFlow). Exits 3 when the compile is predicted
    to fail (the reason and the fix are printed), 5 below --min-mapped.

        edgekit edgetpu check model_int8.tflite
        edgekit edgetpu check model_int8.tflite --min-mapped 1.0
    """
    from ..edgetpu import check_edgetpu
    from ..edgetpu.check import check_min_mapped, mapped_error
    from ..report.console import render_check

    check_min_mapped(min_mapped)
    check = check_edgetpu(model, multiple_subgraphs=multiple_subgraphs)
    if as_json:
        print_json(check.to_json())
    else:
        ui().print(*render_check(check))
    raise_if(mapped_error(check, min_mapped))


@edgetpu_app.command("compile")
@handle_errors
def edgetpu_compile(
    model: Path = typer.Argument(..., metavar="MODEL_int8.tflite", help="An int8 .tflite file (e.g. NAME_int8.tflite from edgekit convert)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .tflite file, or a folder (made if missing; default: beside the model).", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs.", rich_help_panel=H.OUTPUT),
    segments: int = typer.Option(1, "--segments", help="Compile into N segments for pipelining over N Edge TPUs (the compiler's -n).", rich_help_panel=H.COMPILER),
    search_delegate: bool = typer.Option(False, "--search-delegate", help="The compiler's --search_delegate (-d): on failure, retry stopping earlier in the graph.", rich_help_panel=H.COMPILER),
    multiple_subgraphs: bool = typer.Option(False, "--multiple-subgraphs", help="The compiler's -a: map supported ops after an unsupported one too (several subgraphs).", rich_help_panel=H.COMPILER),
    min_runtime_version: Optional[int] = typer.Option(None, "--min-runtime-version", help="The compiler's -m: the oldest Edge TPU runtime the model must run on (e.g. 13).", rich_help_panel=H.COMPILER),
    timeout: float = typer.Option(300.0, "--timeout", help="Stop the compiler after this many seconds.", rich_help_panel=H.COMPILER),
    as_json: bool = typer.Option(False, "--json", help="Print the check and the compiler's parsed results as JSON on stdout (schema edgekit.edgetpu-compile/1).", rich_help_panel=H.OUTPUT),
):
    """Compile an int8 .tflite with Coral's edgetpu_compiler; writes NAME_edgetpu.tflite + .json.

    The pre-flight check is printed first; the compiler (x86-64 Linux, Coral's apt repository)
    runs with a timeout in a temporary folder; a failed compile writes nothing.

        edgekit edgetpu compile model_int8.tflite
        edgekit edgetpu compile model_int8.tflite --segments 2 -o compiled/
    """
    from ..edgetpu import CompileError, CompilerNotFoundError, compile_edgetpu
    from ..report.console import render_check, render_compile

    u = ui()
    try:
        result = compile_edgetpu(
            model, output=output, force=force, segments=segments, search_delegate=search_delegate,
            multiple_subgraphs=multiple_subgraphs, min_runtime_version=min_runtime_version, timeout=timeout,
            on_check=None if as_json else (lambda check: u.print(*render_check(check))),
        )
    except (CompileError, CompilerNotFoundError) as exc:
        if as_json and exc.check is not None:
            print_json({"schema": "edgekit.edgetpu-compile/1", "check": exc.check.to_json(), "compiled": None,
                        "error": exc.message})
        raise
    if as_json:
        print_json(result.to_json())
    else:
        u.print(*render_compile(result))
