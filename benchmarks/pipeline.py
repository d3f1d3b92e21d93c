"""Frames per second of `edgekit.runtime.FramePipeline` against a plain single-threaded loop.

    python benchmarks/pipeline.py [--frames 150] [--rounds 3] [--frame-size 1280x720] [--threads 1 2] [--workers 1 2]

The model: a detector-shaped MobileNetV2 (alpha 0.35, 224 x 224, weights=None) with a YOLOv8-style
head ([1, 4 + 80, 49]), built with Keras and converted to float32 by edgekit in a temp folder.
The frames: synthetic camera frames (uint8 RGB arrays of --frame-size), letterboxed to the input.

Both ways run `Detector.prepare` (letterbox + normalize), `Model.predict` and `Detector.decode`
(NMS, mapping to frame pixels) on the same model and frames; the loop does them one after the
other, the pipeline in threads (--workers preprocessing threads, one inference, one decode). They
alternate for --rounds rounds; the JSON has each round's frames/s, the medians and their ratio,
and the median time of each stage (the slowest bounds the pipeline when the stages have cores of
their own), per interpreter thread count. A live-camera run (latest_only=True, frames produced at
1.5x the best pipeline's rate) reports how many frames were dropped and the submit-to-result
latency. Numbers depend on the machine and its load (the JSON records the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def build_model(folder: Path) -> Path:
    import keras

    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=0.35, include_top=False,
                                              weights=None)
    head = keras.layers.Conv2D(84, 1, activation="sigmoid")(backbone.output)  # 7 x 7 cells, 4 box + 80 classes
    rows = keras.layers.Permute((2, 1))(keras.layers.Reshape((49, 84))(head))
    path = folder / "detector.keras"
    keras.Model(backbone.input, rows).save(path)
    return convert(path, [Recipe("float32")], force=True).artifacts[0].path


def load_detector(path: Path, threads: int):
    from edgekit import runtime
    from edgekit.runtime import Detector, make_preprocessing

    import dataclasses

    model = runtime.load(path, threads=threads)
    preprocessing = dataclasses.replace(make_preprocessing(3), fit="letterbox", pad_value=114)
    return model, Detector(model, layout="yolov8", preprocessing=preprocessing, score_threshold=0.3)


def plain_loop(detector, frames) -> float:
    started = time.perf_counter()
    for frame in frames:
        detector(frame)
    return len(frames) / (time.perf_counter() - started)


def pipelined(model, detector, frames, workers: int) -> tuple[float, dict]:
    """(frames/s, median ms of each stage)."""
    from edgekit.runtime import FramePipeline

    started = time.perf_counter()
    with FramePipeline(model, detector, workers=workers) as pipeline:
        results = list(pipeline.run(frames))
    fps = len(frames) / (time.perf_counter() - started)
    assert len(results) == len(frames)
    stages = {name: round(statistics.median(getattr(r, f"{name}_s") for r in results) * 1e3, 2)
              for name in ("preprocess", "inference", "decode")}
    return fps, stages


def live_camera(model, detector, frames, fps: float) -> dict:
    """Frames arrive every 1/fps s whatever the pipeline does; latest_only drops stale ones."""
    from edgekit.runtime import FramePipeline

    def camera():
        start = time.perf_counter()
        for i, frame in enumerate(frames):
            delay = start + i / fps - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            yield frame

    with FramePipeline(model, detector, latest_only=True) as pipeline:
        results = list(pipeline.run(camera()))
    stats = pipeline.stats()
    latencies = [r.latency_s * 1e3 for r in results]
    return {"camera_fps": round(fps, 1), "submitted": stats.submitted, "completed": stats.completed,
            "dropped": stats.dropped, "latency_ms_median": round(statistics.median(latencies), 2),
            "latency_ms_max": round(max(latencies), 2)}


def measure(path: Path, frames, threads: int, workers: list[int], rounds: int) -> dict:
    """The plain loop and the pipeline with each number of preprocessing workers, alternating."""
    model, detector = load_detector(path, threads)
    for frame in frames[:5]:  # warm-up
        detector(frame)
    loop, pipe, stages = [], {w: [] for w in workers}, {w: [] for w in workers}
    for _ in range(rounds):
        loop.append(plain_loop(detector, frames))
        for w in workers:
            fps, stage_ms = pipelined(model, detector, frames, w)
            pipe[w].append(fps)
            stages[w].append(stage_ms)
    result = {"threads": threads, "loop_fps": [round(v, 1) for v in loop],
              "loop_fps_median": round(statistics.median(loop), 1), "pipeline": []}
    for w in workers:
        median_stages = {k: statistics.median(s[k] for s in stages[w]) for k in stages[w][0]}
        result["pipeline"].append({
            "workers": w, "fps": [round(v, 1) for v in pipe[w]], "fps_median": round(statistics.median(pipe[w]), 1),
            "speedup": round(statistics.median(pipe[w]) / statistics.median(loop), 2),
            # in the pipeline, the slowest stage bounds frames/s (preprocess: / workers) given free cores
            "stage_ms_median": median_stages,
            "bound_fps": round(1000 / max(median_stages["preprocess"] / w, median_stages["inference"],
                                          median_stages["decode"]), 1)})
    best = max(result["pipeline"], key=lambda p: p["fps_median"])
    result["live_camera"] = live_camera(model, detector, frames, 1.5 * best["fps_median"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frame-size", default="1280x720", help="WIDTHxHEIGHT of the camera frames")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="interpreter threads to try")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="preprocessing workers to try")
    args = parser.parse_args()
    width, height = (int(v) for v in args.frame_size.lower().split("x"))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(args.frames)]
    with tempfile.TemporaryDirectory() as folder:
        path = build_model(Path(folder))
        runs = [measure(path, frames, threads, args.workers, args.rounds) for threads in args.threads]
    print(json.dumps({"schema": "edgekit.benchmark-pipeline/1", "frames": args.frames, "frame_size": [width, height],
                      "model": "MobileNetV2 0.35 224x224 + YOLOv8-style head, float32", "cpus": os.cpu_count(),
                      "machine": platform.machine(), "load_average": [round(v, 2) for v in os.getloadavg()],
                      "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
