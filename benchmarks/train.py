"""`edgekit train` on image folders of two sizes: images/s and peak memory. Prints JSON.

    python benchmarks/train.py [--sizes 2500,5000] [--side 96] [--epochs 1]

Each folder holds scikit-learn's handwritten digits upscaled to SIDE x SIDE RGB PNGs (the
1,797 digits repeated with a one-pixel shift per repetition, so no two files are equal),
one subfolder per digit. Each run is a separate `edgekit train ... --json` process (what a
user runs: the small CNN, default augmentation, default split), measured with wait4: peak
resident memory (ru_maxrss) of the whole process, the decode rate (images read and resized
per second, from the progress lines) and the training rate (images/s of the last epoch).
Every run trains on the same number of images (the smaller folder for more epochs): TensorFlow's
memory grows over the first ~200 training steps whatever the data, so runs of unequal length
would compare that warm-up, not the folder.

Memory does not grow with the folder when both folders are larger than the shuffle buffer
(32 MiB of decoded images: 1,213 images at 96x96x3; both training splits here are larger): the
decoded pixels stay in the cache file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def make_folder(root: Path, count: int, side: int) -> Path:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i in range(count):
        image, target = digits.images[i % len(digits.images)], int(digits.target[i % len(digits.images)])
        shift = i // len(digits.images)
        pixels = np.roll((image * 255 / 16).astype(np.uint8), shift, axis=1)
        big = np.asarray(Image.fromarray(pixels, "L").resize((side, side), Image.NEAREST).convert("RGB"))
        folder = root / str(target)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(big).save(folder / f"{i:05d}.png")
    return root


def run_train(data: Path, output: Path, epochs: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "edgekit", "train", str(data), "-o", str(output), "--epochs", str(epochs),
               "--arch", "cnn", "--json", "--force"]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"edgekit train failed ({process.returncode}):\n{stderr[-3000:]}")
    record = json.loads(stdout)
    return {"record": record, "stderr": stderr, "seconds": seconds, "peak_rss_kib": usage.ru_maxrss}


def decode_rate(stderr: str, count: int) -> float | None:
    """Images decoded per second: from the 'decoding' line to the 'split:' line."""
    times = {}
    for line in stderr.splitlines():
        match = re.match(r"\s*([\d.]+)s (decoding|split:)", line)
        if match:
            times[match.group(2)] = float(match.group(1))
    if len(times) < 2 or times["split:"] <= times["decoding"]:
        return None
    return round(count / (times["split:"] - times["decoding"]), 1)


def measure(root: Path, count: int, side: int, epochs: int) -> dict:
    data = make_folder(root / f"digits{count}", count, side)
    run = run_train(data, root / f"m{count}.keras", epochs)
    record, last = run["record"], run["record"]["history"][-1]
    return {
        "images": count, "input": "x".join(map(str, record["data"]["sample_shape"])),
        "decoded_cache_mib": round(count * side * side * 3 / 2**20, 1),
        "peak_rss_mib": round(run["peak_rss_kib"] / 1024, 1),
        "decode_images_per_s": decode_rate(run["stderr"], count),
        "train_images_per_s": last["images_per_s"], "epochs": len(record["history"]),
        "images_trained": len(record["history"]) * sum(record["data"]["counts"]["train"]),
        "test_accuracy": record["test"]["accuracy"], "seconds": round(run["seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,5000")
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the largest folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-train-") as tmp:
        # the same number of training steps for every folder (the smaller one runs more epochs):
        # the allocator's working set grows over the first ~200 steps whatever the data
        runs = [measure(Path(tmp), count, args.side, max(1, round(args.epochs * max(sizes) / count)))
                for count in sizes]
    growth = runs[-1]["peak_rss_mib"] - runs[0]["peak_rss_mib"]
    cache_growth = runs[-1]["decoded_cache_mib"] - runs[0]["decoded_cache_mib"]
    print(json.dumps({
        "benchmark": "train", "machine": platform.machine(), "cpus": os.cpu_count(), "runs": runs,
        "peak_rss_growth_mib": round(growth, 1), "decoded_pixels_growth_mib": round(cache_growth, 1),
        "note": ("peak RSS is the whole process (TensorFlow ~0.5-1 GiB); the decoded pixels (and the float32 "
                 "batches made from them) grow with the folder, the process's memory should not"),
    }, indent=2))


if __name__ == "__main__":
    main()
