"""ON THE DEVICE: `run_benchmark` for a host that drives it over SSH (edgekit.devices.bench).

    python -c "...; from edgekit.bench.remote import main; main([CONFIG_JSON])"

CONFIG_JSON names the run folder, the files (already uploaded into it) and the options of
`run_benchmark`. The answer is JSON lines on stdout: {"step": message}, {"tick": [model, runs]},
{"alive": seconds} every few seconds, and last {"result": {...}}, {"error": {...}} or
{"stopped": true}. Native libraries' stdout is moved to stderr so it cannot corrupt them.

stdin is the host's line back: "stop" asks for the partial results (as Ctrl-C does locally);
end of file means the host is gone, and the run folder is removed and the process exits at
once. The run folder is removed on every way out.
"""

from __future__ import annotations

import _thread
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from ..artifact import TimingSettings, from_json
from ..errors import EdgekitError
from ..runtime.timing import TimingConfig
from .data import load_bench_data
from .reference import read_saved_reference
from .run import run_benchmark
from .sweep import Sweep, run_sweep

ALIVE_EVERY_S = 5.0
EXIT_HOST_GONE = 75


class Sender:
    """Writes protocol lines to a private copy of stdout; stdout itself then goes to stderr."""

    def __init__(self):
        self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        self._lock = threading.Lock()

    def __call__(self, message: dict) -> None:
        text = json.dumps(message, allow_nan=False)
        with self._lock:
            try:
                self._out.write(text + "\n")
                self._out.flush()
            except (BrokenPipeError, OSError):
                pass  # the host is gone; the stdin watcher ends the process


def _watch_stdin(run_dir: Path) -> None:
    for line in sys.stdin:
        if line.strip() == "stop":
            _thread.interrupt_main()
    shutil.rmtree(run_dir, ignore_errors=True)
    os._exit(EXIT_HOST_GONE)


def _heartbeat(send: Sender) -> None:
    started = time.monotonic()
    while True:
        time.sleep(ALIVE_EVERY_S)
        send({"alive": round(time.monotonic() - started, 1)})


def _start_threads(send: Sender, run_dir: Path) -> None:
    for target, args in ((_watch_stdin, (run_dir,)), (_heartbeat, (send,))):
        threading.Thread(target=target, args=args, daemon=True).start()


def run_from_config(config: dict, send: Sender) -> dict:
    """The host's config (written by edgekit.devices.bench) -> the result as JSON."""
    run_dir = Path(config["run_dir"])
    models = [run_dir / name for name in config["models"]]
    data = load_bench_data(run_dir / config["data"], models[0]) if config.get("data") else None
    reference = read_saved_reference(run_dir / config["reference"], data.x) if config.get("reference") else None
    timing = TimingConfig.from_settings(from_json(TimingSettings, config["timing"], "the timing settings"))
    progress = {"on_step": lambda message: send({"step": message}),
                "on_tick": lambda name, count: send({"tick": [name, count]})}
    if config.get("sweep"):  # edgekit optimize: every runtime setting from this one upload
        sweep = from_json(Sweep, config["sweep"], "the sweep")
        return run_sweep(models, sweep, data=data, timing=timing, backend=config.get("backend", "auto"), **progress).to_json()
    result = run_benchmark(
        models, data=data, reference=reference, timing=timing, threads=config.get("threads"),
        backend=config.get("backend", "auto"), min_relative_accuracy=config["min_relative_accuracy"],
        xnnpack=config.get("xnnpack", True), delegate=config.get("delegate"), device=config.get("device"),
        **progress,
    )
    return result.to_json()


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    run_dir = Path(config["run_dir"])
    send = Sender()
    _start_threads(send, run_dir)
    try:
        send({"result": run_from_config(config, send)})
    except EdgekitError as exc:
        send({"error": {"type": type(exc).__name__, "exit_code": exc.exit_code, "message": exc.message}})
    except KeyboardInterrupt:
        send({"stopped": True})
    except Exception as exc:  # a bug: the traceback goes to stderr, which the host keeps
        import traceback

        traceback.print_exc()
        send({"error": {"type": "internal", "exit_code": 1, "message": f"{type(exc).__name__}: {exc}"}})
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0
