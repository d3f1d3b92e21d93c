"""Is the demo's int8 artifact faster than its float32 one on this machine? (issue 12)

    python benchmarks/demo.py [--rounds 9] [--epochs 15]

Runs `edgekit demo` once into a temp folder (the whole job, timed), then times every artifact
again, interleaved in rounds (float32, dynamic, ..., float32, ...) so that drift hits them
all, at 1 thread and at this machine's physical cores; each round is a `quick_latency` p50 on
one fixed random input of the model's shape.
Prints JSON: the demo's wall time, per recipe and thread count the median p50 over rounds and
the speed-up against float32 (>1: faster). Target: int8 faster than float32 at both settings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_artifacts(folder: Path, recipes: list[str], threads: int, rounds: int, x) -> dict:
    from edgekit.runtime import load
    from edgekit.runtime.timing import quick_latency

    models = {r: load(folder / f"digits_cnn_{r}.tflite", threads=threads) for r in recipes}
    p50 = {r: [] for r in recipes}
    for _ in range(rounds):
        for recipe, model in models.items():
            p50[recipe].append(quick_latency(model, x, runs=200, warmup=20).p50_ms)
    medians = {r: statistics.median(v) for r, v in p50.items()}
    return {r: {"p50_ms": round(m, 4), "speedup_vs_float32": round(medians["float32"] / m, 3)}
            for r, m in medians.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import numpy as np

    from edgekit.demo import run_demo
    from edgekit.runtime.cpu import physical_cores

    with tempfile.TemporaryDirectory(prefix="edgekit-bench-demo-") as tmp:
        started = time.perf_counter()
        result = run_demo(Path(tmp) / "demo", epochs=args.epochs)
        wall = time.perf_counter() - started
        recipes = [row["recipe"] for row in result.rows]
        shape = result.bench.models[0].inputs[0].shape  # (1, 32, 32, 1): latency does not depend on the pixels
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        timings = {str(t): time_artifacts(result.output, recipes, t, args.rounds, x)
                   for t in sorted({1, physical_cores()})}
    int8_faster = all(t["int8"]["speedup_vs_float32"] > 1 for t in timings.values())
    print(json.dumps({
        "benchmark": "demo", "demo_wall_s": round(wall, 1), "demo_report_s": result.report["seconds"],
        "rounds": args.rounds, "float_accuracy": result.report["float_accuracy"],
        "by_threads": timings, "int8_faster_than_float32": int8_faster,
        "ship": result.report["summary"],
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
