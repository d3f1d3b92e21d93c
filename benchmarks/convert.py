"""Conversion time and peak memory per recipe for a MobileNetV2-sized model. Prints JSON.

    python benchmarks/convert.py [--input-size 224] [--calib-samples 100] [--recipes int8,float16]
                                 [--memory-only]

Each recipe runs in its own child process (this script with --one) so that its peak resident
memory (ru_maxrss) is its own. Calibration uses real images: scikit-learn's digits resized to
the model input and repeated over three channels (no download, never random data).

`memory_vs_plain_script` compares `edgekit convert --float32 --int8 --calib calib.npy` (200
samples) with a hand-written script doing the same two conversions (Keras export, then
TFLiteConverter.from_saved_model twice), each in its own process: peak resident memory and
wall time side by side. Target: edgekit within 1.5x of the script's peak.
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
        "conversion_seconds": artifact.manifest.conversion_s,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "size_bytes": artifact.manifest.size.size_bytes,
        "ratio_vs_float32": artifact.manifest.size.ratio_vs_float32,
        "top1_agreement": artifact.verification.top1_agreement,
        "max_abs_error": artifact.verification.max_abs_error,
    }


def plain_script(model_path: str, calib: str, out: str) -> dict:
    """What a user would write by hand: export once, convert float32 and int8."""
    import numpy as np
    import keras
    import tensorflow as tf

    started = time.perf_counter()
    model = keras.models.load_model(model_path)
    saved = Path(out) / "plain_saved_model"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    x = np.load(calib)
    float32 = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(len(x)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    int8 = converter.convert()
    return {"who": "plain script", "wall_seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes": [len(float32), len(int8)]}


def edgekit_two(model_path: str, calib: str, out: str) -> dict:
    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    started = time.perf_counter()
    result = convert(model_path, [Recipe("float32"), Recipe("int8")], calib=calib, output=out, force=True)
    return {"who": "edgekit convert --float32 --int8", "wall_seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes": [a.manifest.size.size_bytes for a in result.artifacts],
            "verified_on": result.evaluation.samples}


def _child(args: list[str]) -> dict:
    child = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines() or ["(no output)"]
        return {"error": lines[-1]}
    return json.loads(child.stdout.strip().splitlines()[-1])


def memory_comparison(folder: Path, model_path: Path, size: int) -> dict:
    import numpy as np

    calib = folder / "calib200.npy"
    np.save(calib, np.load(folder / "calib.npy")[:200])
    out = folder / "out"
    out.mkdir(exist_ok=True)
    plain = _child(["--plain", str(model_path), str(calib), str(out)])
    ours = _child(["--two", str(model_path), str(calib), str(out)])
    ratio = ours["peak_rss_mib"] / plain["peak_rss_mib"] if "error" not in ours and "error" not in plain else None
    return {"model": f"MobileNetV2 {size}x{size}x3, float32 + int8, 200 calibration samples",
            "plain_script": plain, "edgekit": ours,
            "peak_rss_ratio": None if ratio is None else round(ratio, 2), "target_ratio": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--calib-samples", type=int, default=100)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--memory-only", action="store_true", help="Only the comparison with a plain script.")
    parser.add_argument("--one", nargs=4, metavar=("RECIPE", "MODEL", "CALIB", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--plain", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--two", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for flag, run in (("one", lambda a: one(*a, args.calib_samples)), ("plain", lambda a: plain_script(*a)),
                      ("two", lambda a: edgekit_two(*a))):
        if getattr(args, flag):
            print(json.dumps(run(getattr(args, flag))))
            return
    with tempfile.TemporaryDirectory(prefix="edgekit-bench-convert-") as tmp:
        folder = Path(tmp)
        model_path, calib = prepare(folder, args.input_size, max(args.calib_samples + 20, 200))
        memory = memory_comparison(folder, model_path, args.input_size)
        rows = []
        for recipe in [] if args.memory_only else args.recipes.split(","):
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
        "memory_vs_plain_script": memory,
    }, indent=2))


if __name__ == "__main__":
    main()
