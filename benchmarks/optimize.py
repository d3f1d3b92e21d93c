"""The cost of `edgekit optimize`'s search itself: the whole run's wall time against the sum of
its conversions and measurements, and how many candidates early stopping skipped. Prints JSON.

    python benchmarks/optimize.py [--model digits|planted] [--epochs 10] [--max-drop 1]
                                  [--max-latency 1ms] [--runs 100] [--min-time 0.5]

Models are trained here on scikit-learn's digits (no download): `digits` is the demo's CNN,
`planted` the selective-int8 test model of tests/quantize (one hidden unit fires at 1e4, so
plain int8 loses ~85 points and a selective mix is built). Every post-training recipe is
converted; every artifact is timed on this machine at 1..cores threads, XNNPACK on and off.

"search overhead" is what the search adds on top of the work it cannot avoid: the run's wall
time minus the conversions (`edgekit.convert.run`, TensorFlow's import included) and the
measurements (`edgekit.devices.benchmark`). Target: under 10% of the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_model(kind: str, folder: Path, epochs: int) -> tuple[Path, Path, Path]:
    import numpy as np

    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier

    train, test = digits_split(seed=0, test_fraction=0.35)
    np.savez(folder / "train.npz", x=train.x, y=train.y)
    np.savez(folder / "test.npz", x=test.x, y=test.y)
    if kind == "planted":
        sys.path.insert(0, str(REPO / "tests" / "quantize"))
        from quantize_test_models import planted_outlier_model

        model = planted_outlier_model(train, epochs=epochs)
    else:
        model = digits_cnn()
        train_classifier(model, train.x, train.y, epochs=epochs)
    path = folder / f"{kind}.keras"
    model.save(path)
    return path, folder / "train.npz", folder / "test.npz"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("digits", "planted"), default="digits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--max-latency", default=None)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args(argv)
    from edgekit.optimize import optimize
    from edgekit.runtime.timing import TimingConfig

    with tempfile.TemporaryDirectory(prefix="edgekit-bench-optimize-") as tmp:
        folder = Path(tmp)
        model, train, test = make_model(args.model, folder, args.epochs)
        (folder / "out").mkdir()
        started = time.perf_counter()
        result = optimize(model, calib=str(train), eval=str(test), max_drop=args.max_drop,
                          max_latency=args.max_latency, output=folder / "out",
                          timing=TimingConfig(runs=args.runs, min_time=args.min_time, warmup=10, warmup_time=0.2))
        wall = time.perf_counter() - started
    return report(args, result, wall)


def report(args, result, wall: float) -> dict:
    t = result.times
    overhead = max(wall - t.convert_s - t.measure_s, 0.0)
    statuses = [c.status for c in result.candidates]
    planned_timed = sum(1 for c in result.candidates if c.threads is not None)
    return {
        "benchmark": "optimize",
        "model": args.model,
        "target": {"cores": result.target.cores, "threads": list(result.target.threads),
                   "cpu": result.target.system.cpu_model if result.target.system else None},
        "wall_s": round(wall, 2),
        "convert_s": t.convert_s,
        "measure_s": t.measure_s,
        "search_overhead_s": round(overhead, 3),
        "search_overhead_fraction": round(overhead / wall, 4),
        "target_overhead_fraction": 0.10,
        "meets_target": overhead / wall < 0.10,
        "candidates": len(result.candidates),
        "artifacts": len({c.artifact for c in result.candidates}),
        "never_timed": sum(1 for c in result.candidates if c.threads is None),
        "planned_to_time": planned_timed,
        "timed": sum(1 for c in result.candidates if c.timed),
        "skipped_by_early_stopping": statuses.count("skipped"),
        "untried": statuses.count("untried"),
        "pick": result.pick,
        "reason": result.reason,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
