"""`edgekit bench`: parse, call `edgekit.devices.benchmark`, render, exit code."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from . import help as H
from .app import app, handle_errors, quiet_native, raise_if, ui
from .output import emit


def tick_progress(status, step, terminal: bool, every_s: float = 1.0):
    """Timed-run counts: on a terminal the spinner line; in a log one line per `every_s`."""
    import time

    last = [float("-inf")]

    def on_tick(name: str, count: int):
        text = f"latency: {name}: {count} runs"
        status.update(text)
        if not terminal and time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            step(text)

    return on_tick


@app.command()
@handle_errors
def bench(
    models: List[Path] = typer.Argument(..., metavar="MODEL.tflite...", help="One or more .tflite files; the first is the baseline of the comparison."),
    data: Optional[str] = typer.Option(None, "--data", help="Evaluation data: .npz with x (and optional y), or an image folder with one subfolder per class.", rich_help_panel=H.MEASURE),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Float reference: .keras/.h5/SavedModel (needs edgekit[convert]), float .tflite, or an .npz from --save-reference.", rich_help_panel=H.MEASURE),
    save_reference: Optional[Path] = typer.Option(None, "--save-reference", help="Save the reference outputs on --data to this .npz, for devices without TensorFlow.", rich_help_panel=H.MEASURE),
    min_relative_accuracy: float = typer.Option(0.99, "--min-relative-accuracy", help="PASS when accuracy >= this x the reference accuracy.", rich_help_panel=H.MEASURE),
    strict: bool = typer.Option(False, "--strict", help="Exit 5 when any model's verdict is FAIL.", rich_help_panel=H.MEASURE),
    runs: int = typer.Option(100, "--runs", help="Timed runs per model (at least; see --min-time).", rich_help_panel=H.TIMING),
    min_time: float = typer.Option(1.0, "--min-time", help="Keep timing until this many seconds have passed (and --runs are done).", rich_help_panel=H.TIMING),
    warmup: int = typer.Option(10, "--warmup", help="Warm-up runs before timing (at least; see --warmup-time).", rich_help_panel=H.TIMING),
    warmup_time: float = typer.Option(0.5, "--warmup-time", help="Warm up for at least this many seconds.", rich_help_panel=H.TIMING),
    threads: Optional[int] = typer.Option(None, "--threads", help="Interpreter threads (default: this machine's physical cores; on a device, its profile's).", rich_help_panel=H.RUNTIME),
    backend: Literal["auto", "litert", "tflite-runtime", "tf"] = typer.Option("auto", "--backend", help="The interpreter package.", rich_help_panel=H.RUNTIME),
    delegate: Optional[Literal["edgetpu"]] = typer.Option(None, "--delegate", help="Run on a Coral Edge TPU (automatic for *_edgetpu.tflite files; on --device, the device's Coral).", rich_help_panel=H.RUNTIME),
    tpu: Optional[str] = typer.Option(None, "--tpu", metavar="usb:0|pci:0", help="Which Edge TPU: usb, usb:0, pci, pci:0 (default: the first found).", rich_help_panel=H.RUNTIME),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON on stdout (schema edgekit.bench/2, raw samples included) instead of the tables.", rich_help_panel=H.OUTPUT),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Also write the full JSON result to this file.", rich_help_panel=H.OUTPUT),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a self-contained HTML report with charts to this file (needs edgekit[report]).", rich_help_panel=H.OUTPUT),
    force: bool = typer.Option(False, "--force", help="Overwrite existing -o/--report/--save-reference files.", rich_help_panel=H.OUTPUT),
    device: Optional[str] = typer.Option(None, "--device", help="Run on devices over SSH: inventory names or groups (edgekit devices list), comma-separated, or ssh://user@host:port.", rich_help_panel=H.DEVICES),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="With --device: trust and record a host key that is not yet in known_hosts (a changed key is always refused).", rich_help_panel=H.DEVICES),
):
    """Measure latency (percentiles) and accuracy against a float reference for .tflite models.

    Each model is loaded in a crash-isolating child first, then timed here (or on a device
    over SSH); the tables say which model to ship, the JSON and HTML keep every number.

        edgekit bench m_float32.tflite m_int8.tflite --data eval.npz --reference m.keras
        edgekit bench m_int8.tflite --device rpi --data eval.npz --report bench.html
        edgekit bench m_*.tflite --threads 1 --json > bench.json
        edgekit bench m_int8_edgetpu.tflite m_int8.tflite --data eval.npz --tpu usb:0
    """
    from .._files import check_outputs
    from ..artifact import FleetResult
    from ..devices import BenchRequest, benchmark
    from ..devices.run import outcome_error
    from ..report.console import render_bench, render_fleet
    from ..report.fleet import render_fleet_html
    from ..report.html import render_bench_html
    from ..runtime.timing import TimingConfig

    u = ui()
    outputs = [p for p in (output, report, save_reference) if p is not None]
    check_outputs(outputs, force, inputs=[*models, *(Path(p) for p in (data, reference) if p)])
    if report is not None:
        from ..report.html import require_plotting

        require_plotting()  # before measuring: the page needs matplotlib (edgekit[report])
    request = BenchRequest(data, None if reference is None else str(reference),
                           None if save_reference is None else str(save_reference),
                           TimingConfig(runs, min_time, warmup, warmup_time), threads, backend, min_relative_accuracy,
                           delegate=delegate, device=tpu)
    status, step = u.err.status("starting"), u.step()

    def on_step(message: str):
        status.update(message)
        step(message)

    with status, quiet_native():  # a .keras reference runs TensorFlow on this computer
        result = benchmark(models, request, devices=device, accept_new_host_key=accept_new_host_key,
                           on_step=on_step, on_tick=tick_progress(status, step, u.err.is_terminal))
    fleet = isinstance(result, FleetResult)
    emit(result, as_json, output, report, render_fleet if fleet else render_bench,
         render_fleet_html if fleet else render_bench_html)
    raise_if(outcome_error(result, strict))
