"""FramePipeline: results in frame order and equal to one-at-a-time calls, latest-frame-only
dropping (counted), errors reaching the consumer, and shutdown that leaves no thread behind.

Tests wait for events (a stage has started a frame), never for a fixed time."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from runtime_fixtures import fixture_path
from vision_models import (
    EXPECTED_STRETCH, LABELS, rgb_preprocessing, shared_models, two_to_one_image, with_manifest,
)

from edgekit import runtime
from edgekit.errors import BadInputError, UsageError
from edgekit.runtime import FramePipeline


@pytest.fixture(scope="session")
def vision_models(tmp_path_factory):
    pytest.importorskip("keras", reason="building the test models needs edgekit[convert]")
    return shared_models(tmp_path_factory)


def _frames(n: int) -> list[np.ndarray]:
    """Model-ready frames for the float32 fixture (1, 8, 8, 3), each different."""
    rng = np.random.default_rng(0)
    return [rng.random((1, 8, 8, 3), dtype=np.float32) for _ in range(n)]


def test_results_come_in_frame_order_and_match_plain_predict():
    model = runtime.load(fixture_path("float32"))
    frames = _frames(40)
    expected = [model.predict(f).copy() for f in frames]
    with FramePipeline(model, "predict", queue_size=3) as pipeline:
        results = list(pipeline.run(frames))
    assert [r.index for r in results] == list(range(40))
    for result, want in zip(results, expected):
        np.testing.assert_array_equal(result.value, want)
    assert pipeline.stats() == runtime.PipelineStats(submitted=40, completed=40, dropped=0)
    assert all(r.latency_s >= r.inference_s >= 0 for r in results)
    assert not pipeline.running


@pytest.mark.parametrize("latest_only", [False, True])
def test_several_preprocessing_workers_keep_frame_order(latest_only):
    model = runtime.load(fixture_path("float32"))
    frames = _frames(60)
    with FramePipeline(model, "predict", workers=3, latest_only=latest_only) as pipeline:
        results = list(pipeline.run(frames))
    indices = [r.index for r in results]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    if not latest_only:
        assert indices == list(range(60))
    for result in results:
        np.testing.assert_array_equal(result.value, model.predict(frames[result.index]))
    stats = pipeline.stats()
    assert stats.completed == len(results) and stats.completed + stats.dropped == stats.submitted == 60
    assert not pipeline.running


def test_submit_and_get_by_hand_and_closing():
    model = runtime.load(fixture_path("float32"))
    pipeline = FramePipeline(model, "predict")
    frames = _frames(5)
    assert [pipeline.submit(f) for f in frames] == [0, 1, 2, 3, 4]
    pipeline.close()
    assert [r.index for r in pipeline.results()] == [0, 1, 2, 3, 4]
    assert pipeline.get() is None  # drained and closed: stays None
    with pytest.raises(UsageError, match="the frame pipeline is closed"):
        pipeline.submit(frames[0])
    assert not pipeline.running


class GatedTask:
    """A real Classifier whose prepare() waits at a gate, so the test controls when the
    preprocessing thread is busy (instrumentation around real work, not a fake)."""

    def __init__(self, task):
        self.task, self.name = task, task.name
        self.started, self.gate = threading.Event(), threading.Event()

    def prepare(self, frame, what=None):
        self.started.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return self.task.prepare(frame, what)

    def decode(self, outputs, prepared):
        return self.task.decode(outputs, prepared)


def _colour_classifier(vision_models, tmp_path):
    path = with_manifest(vision_models["mean_colour"], tmp_path / "colour.tflite", labels=("r", "g", "b"),
                         preprocessing=rgb_preprocessing())
    return runtime.load(path)


def _solid(r, g, b, size=(20, 30)):
    return np.broadcast_to(np.array([r, g, b], np.uint8), (*size, 3)).copy()


@pytest.mark.convert
def test_latest_only_drops_stale_frames_and_counts_them(vision_models, tmp_path):
    model = _colour_classifier(vision_models, tmp_path)
    task = GatedTask(runtime.Classifier(model, top_k=1))
    pipeline = FramePipeline(model, task, latest_only=True)
    pipeline.submit(_solid(255, 0, 0))
    assert task.started.wait(30)  # frame 0 is being preprocessed: the next ones must wait
    for i in range(1, 6):  # frames 1..4 are replaced by the next before they are taken
        pipeline.submit(_solid(0, 0, 51 * i))
    task.gate.set()
    pipeline.close()
    results = list(pipeline.results())
    assert [r.index for r in results] == [0, 5]
    assert [r.value.top.label for r in results] == ["r", "b"]
    assert results[1].value.top.score == pytest.approx(1.0)
    assert pipeline.stats() == runtime.PipelineStats(submitted=6, completed=2, dropped=4)


@pytest.mark.convert
def test_classify_and_detect_through_the_pipeline(vision_models, tmp_path):
    model = _colour_classifier(vision_models, tmp_path)
    colours = [(10 * i, 0, 255 - 10 * i) for i in range(20)]
    with FramePipeline(model, "classify", top_k=3) as pipeline:
        results = list(pipeline.run(_solid(*c) for c in colours))
    assert [r.index for r in results] == list(range(20))
    for result, (r, g, b) in zip(results, colours):
        assert {c.label: c.score for c in result.value.classes} == pytest.approx(
            {"r": r / 255, "g": g / 255, "b": b / 255}, abs=1e-5)  # a float32 mean of 256 pixels
    detector = runtime.load(with_manifest(vision_models["yolov8"], tmp_path / "det.tflite", labels=LABELS,
                                          preprocessing=rgb_preprocessing()))
    with FramePipeline(detector, "detect") as pipeline:
        values = [r.value for r in pipeline.run([two_to_one_image()] * 4)]
    for value in values:
        assert [(d.label, d.box) for d in value] == [(label, pytest.approx(box)) for box, label, _ in EXPECTED_STRETCH]


def test_an_error_in_a_stage_reaches_the_consumer_in_order():
    model = runtime.load(fixture_path("float32"))
    pipeline = FramePipeline(model, "predict")
    frames = _frames(3)
    for f in frames:
        pipeline.submit(f)
    pipeline.submit(np.zeros((1, 9, 9, 3), np.float32))  # the wrong shape: predict refuses it
    got = []
    with pytest.raises(BadInputError, match=r"expects shape \(n, 8, 8, 3\)"):
        while (result := pipeline.get(timeout=60)) is not None:
            got.append(result.index)
    assert got == [0, 1, 2]
    with pytest.raises(BadInputError):
        pipeline.submit(frames[0])  # the pipeline stopped; it says why
    pipeline.cancel()
    assert not pipeline.running


def test_a_failing_camera_and_an_early_stop_end_cleanly():
    model = runtime.load(fixture_path("float32"))

    def camera():
        yield from _frames(3)
        raise OSError("camera unplugged")

    pipeline = FramePipeline(model, "predict")
    seen = []
    with pytest.raises(OSError, match="camera unplugged"):
        for result in pipeline.run(camera()):
            seen.append(result.index)
    assert not pipeline.running

    pipeline = FramePipeline(model, "predict")
    for result in pipeline.run(iter(_frames(1000))):
        if result.index == 2:
            break  # the caller stops early: the pipeline is cancelled, its threads end
    assert not pipeline.running
    assert pipeline.stats().completed < 1000


def test_leaving_the_with_block_by_an_exception_cancels():
    model = runtime.load(fixture_path("float32"))
    with pytest.raises(KeyError):
        with FramePipeline(model, "predict") as pipeline:
            pipeline.submit(_frames(1)[0])
            raise KeyError("the app failed")
    assert not pipeline.running


def test_options_are_checked():
    model = runtime.load(fixture_path("float32"))
    with pytest.raises(BadInputError, match="`queue_size` must be a positive whole number"):
        FramePipeline(model, "predict", queue_size=0)
    with pytest.raises(BadInputError, match="`workers` must be a positive whole number"):
        FramePipeline(model, "predict", workers=0)
    with pytest.raises(BadInputError, match="the predict task takes no options"):
        FramePipeline(model, "predict", top_k=3)
    with pytest.raises(BadInputError, match="`task` must be auto, classify, detect, segment"):
        FramePipeline(model, "track")
