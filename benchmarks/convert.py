"""Conversion time and peak memory per recipe for a MobileNetV2-sized model. Prints JSON.

    python benchmarks/convert.py [--input-size 224] [--calib-samples 100] [--recipes int8,float16]

Each recipe runs in its own child process (this script with --one) so that its peak resident
memory (ru_maxrss) is its own. Calibration uses real images: scikit-learn's digits resized to
the model input and repeated over three channels (no download, never random data).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ["float32", "dynamic", "float16", "int8", "int16x8"]


def prepare(folder: Path, size: int, samples: int) -> tuple[Path, Path]:
    import keras
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    model = keras.applications.MobileNetV2(weights=None, input_shape=(size, size, 3))
    model_path = folder / "mobilenetv2.keras"
    model.save(model_path)
    digits = load_digits().images[:samples]
    images = [np.asarray(Image.fromarray((d * 16).astype(np.uint8)).resize((size, size), Image.BILINEAR))
              for d in digits]
    x = (np.repeat(np.stack(images)[..., None], 3, axis=-1).astype(np.float32) / 127.5) - 1.0
    calib = folder / "calib.npy"
    np.save(calib, x)
    return model_path, calib


def one(recipe: str, model_path: str, calib: str, out: str, samples: int) -> dict:
    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    started = time.perf_counter()
    result = convert(model_path, [Recipe(recipe)], calib=calib, calib_samples=samples, output=out, force=True)
    artifact = result.artifacts[0]
    return {
        "recipe": recipe,
        "wall_seconds": round(time.perf_counter() - started, 2),
        "conversion_seconds": artifact.manifest["conversion_seconds"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bytes": artifact.manifest["size"]["bytes"],
        "ratio_vs_float32": artifact.manifest["size"]["ratio_vs_float32"],
        "top1_agreement": artifact.verification["top1_agreement"],
        "max_abs_error": artifact.verification["max_abs_error"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--calib-samples", type=int, default=100)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--one", nargs=4, metavar=("RECIPE", "MODEL", "CALIB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.one:
        print(json.dumps(one(*args.one, args.calib_samples)))
        return
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-convert-") as tmp:
        folder = Path(tmp)
        model_path, calib = prepare(folder, args.input_size, args.calib_samples + 20)
        rows = []
        for recipe in args.recipes.split(","):
            child = subprocess.run(
                [sys.executable, __file__, "--calib-samples", str(args.calib_samples),
                 "--one", recipe, str(model_path), str(calib), str(folder)],
                capture_output=True, text=True,
            )
            if child.returncode == 0:
                rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            else:
                lines = child.stderr.strip().splitlines() or ["(no output)"]
                rows.append({"recipe": recipe, "error": lines[-1]})
    print(json.dumps({
        "benchmark": "convert",
        "model": f"MobileNetV2(weights=None, input {args.input_size}x{args.input_size}x3)",
        "calibration_samples": args.calib_samples,
        "cpu_count": os.cpu_count(),
        "note": "conversion_seconds includes only the TFLite converter; wall_seconds includes "
                "loading, export, a float32 baseline conversion and verification",
        "results": rows,
    }, indent=2))


if __name__ == "__main__":
    main()
