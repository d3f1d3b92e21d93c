"""Stability of `edgekit bench`: three repeated runs of one model; spread of p50. Prints JSON.

    python benchmarks/bench_stability.py [MODEL.tflite] [--repeats 3] [--runs 500]

Each repetition is a separate `edgekit bench --json -` process (what a user runs). Default
model: the demo's digits CNN int8, made in a temp folder (needs edgekit[convert]).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def make_model(folder: Path) -> Path:
    from edgekit.convert import convert
    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier
    from edgekit.quantize import Recipe

    train, _ = digits_split()
    model = digits_cnn()
    train_classifier(model, train.x, train.y, epochs=3)
    model.save(folder / "digits_cnn.keras")
    np.save(folder / "calib.npy", train.x[:300])
    convert(folder / "digits_cnn.keras", [Recipe("int8")], calib=str(folder / "calib.npy"))
    return folder / "digits_cnn_int8.tflite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--threads", type=int, default=None,
                        help="Interpreter threads (default: the physical cores, as `edgekit bench` uses)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="edgekit-stability-") as tmp:
        model = Path(args.model) if args.model else make_model(Path(tmp))
        runs = []
        for _ in range(args.repeats):
            threads = [] if args.threads is None else ["--threads", str(args.threads)]
            out = subprocess.run(
                [sys.executable, "-m", "edgekit", "bench", str(model), "--runs", str(args.runs), *threads, "--json"],
                capture_output=True, text=True, check=True,
            )
            m = json.loads(out.stdout)["models"][0]
            lat = m["timing"]["latency"]
            runs.append({k: lat[k] for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "cv", "outliers")} | {
                "robust_spread": (lat["p75_ms"] - lat["p25_ms"]) / lat["p50_ms"], "timed_runs": lat["runs"],
                "threads_used": m["threads"]})
    p50 = [r["p50_ms"] for r in runs]
    print(json.dumps({
        "benchmark": "bench_stability",
        "model": model.name,
        "repeats": args.repeats,
        "threads_asked": args.threads,
        "runs": runs,
        "p50_median_ms": statistics.median(p50),
        "p50_spread_pct": round(100 * (max(p50) - min(p50)) / statistics.median(p50), 2),
    }, indent=2))


if __name__ == "__main__":
    main()
