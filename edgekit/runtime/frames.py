"""A frame pipeline for cameras and video: preprocessing of frame k+1 overlaps inference of
frame k, results come back in frame order.

    from edgekit import runtime
    model = runtime.load("detector.tflite")
    with runtime.FramePipeline(model, "detect", latest_only=True, score_threshold=0.5) as pipeline:
        for result in pipeline.run(camera_frames()):       # any iterable of RGB uint8 arrays
            show(result.index, result.value)                # a DetectionResult
        print(pipeline.stats())                             # submitted, completed, dropped

Three stages in threads, joined by bounded queues: preprocess (decode, resize, normalize:
Pillow and numpy, which release the GIL; `workers` threads, for large camera frames whose
resizing costs more than the model), inference (one thread, the only one that touches the
model: an interpreter runs one call at a time), and decode (boxes, NMS, masks). The
interpreter releases the GIL while it runs, so the stages overlap on a multi-core device.

Ordered mode (the default, for video files): `submit` blocks while `queue_size` frames wait,
so nothing is dropped. Latest-frame-only mode (`latest_only=True`, for live cameras):
`submit` never blocks; a frame still waiting when the next arrives is dropped and counted,
so the model always works on the newest frame. Results are never dropped (their queue is
unbounded, so `submit` cannot deadlock against an unread result): read them with `get()`,
`results()` or `run()`.

An error in any stage (a frame that is not an image, a model failure) stops the pipeline;
the next `get()` raises it. `close()` finishes the frames already submitted; `cancel()` (or
leaving the `with` block by an exception) discards them. Both join the threads.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import BadInputError, UsageError
from .vision import PreparedImage, check_count

_STOP = object()
_POLL_S = 0.05  # how often a blocked stage looks whether the pipeline was cancelled


@dataclass(frozen=True, eq=False)
class FrameResult:
    """The result of one frame: `index` is its number in submission order (dropped frames
    leave gaps); `value` the task's result; stage times and submit-to-result latency."""

    index: int
    value: Any
    preprocess_s: float
    inference_s: float
    decode_s: float
    latency_s: float


@dataclass(frozen=True)
class PipelineStats:
    submitted: int
    completed: int
    dropped: int  # latest_only: frames replaced by a newer one before preprocessing began

    def to_json(self) -> dict:
        return {"schema": "edgekit.pipeline-stats/1", "submitted": self.submitted,
                "completed": self.completed, "dropped": self.dropped}


class RawTask:
    """The "predict" task: frames are model-ready arrays; the value is predict()'s output."""

    name = "predict"

    def prepare(self, frame, what: str | None = None) -> PreparedImage:
        return PreparedImage(np.asarray(frame), None, "")

    def decode(self, outputs, prepared: PreparedImage):
        return outputs


class _Slot:
    """A one-frame mailbox: a new frame replaces one not yet taken (latest-frame-only mode)."""

    def __init__(self):
        self._ready = threading.Condition()
        self._item = None
        self._closed = False

    def put(self, item) -> bool:
        """Store `item`; True when it replaced a waiting one."""
        with self._ready:
            replaced = self._item is not None
            self._item = item
            self._ready.notify()
            return replaced

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def get(self, cancelled: threading.Event):
        with self._ready:
            while self._item is None and not self._closed and not cancelled.is_set():
                self._ready.wait(_POLL_S)
            if cancelled.is_set() or self._item is None:
                return _STOP
            item, self._item = self._item, None
            return item


def _make_task(model, task, options: dict):
    if task == "predict":
        if options:
            raise BadInputError(f"the predict task takes no options; received {sorted(options)}")
        return RawTask()
    if isinstance(task, str) and task in ("auto", "classify", "detect", "segment"):
        from .tasks import make_task

        return make_task(model, task, **options)
    if isinstance(task, str) or not (hasattr(task, "prepare") and hasattr(task, "decode")):
        raise BadInputError(
            f"`task` must be auto, classify, detect, segment, predict or an object with prepare() and decode(); "
            f"received {task if isinstance(task, str) else type(task).__name__!r}"
        )
    return task


class FramePipeline:
    """Run a task over a stream of frames in three threads (see the module docstring).

    model: a loaded Model (used only by the pipeline's inference thread while it runs) or a
    .tflite path; task: "auto", "classify", "detect", "segment", "predict" (frames are
    model-ready arrays; values are predict()'s outputs), or a Classifier/Detector/Segmenter;
    latest_only: drop stale frames (live cameras); queue_size: frames that may wait (ordered
    mode); workers: preprocessing threads (results stay in frame order); options: the task's
    options (score_threshold, top_k, preprocessing, ...)."""

    def __init__(self, model, task: Any = "auto", *, latest_only: bool = False, queue_size: int = 2,
                 workers: int = 1, **options):
        if isinstance(model, (str, os.PathLike)):
            from .model import load

            model = load(model)
        self.model = model
        self.task = _make_task(model, task, options)
        self.latest_only = bool(latest_only)
        size = check_count("queue_size", queue_size)
        self.workers = check_count("workers", workers)
        self._inbox = _Slot() if self.latest_only else queue.Queue(maxsize=size)
        inner = 1 if self.latest_only else size  # latest-only: at most one frame waits per stage
        self._prepared: queue.Queue = queue.Queue(maxsize=max(inner, self.workers))
        self._inferred: queue.Queue = queue.Queue(maxsize=inner)
        self._results: queue.Queue = queue.Queue()
        self._cancelled, self._lock = threading.Event(), threading.Lock()
        self._error: BaseException | None = None
        self._submitted = self._completed = self._dropped = self._taken = 0
        self._closed = self._finished = False
        self._take_lock = threading.Lock()
        stages = (self._preprocess_stage,) * self.workers + (self._inference_stage, self._decode_stage)
        self._threads = [threading.Thread(target=self._guard, args=(stage,), name=f"edgekit-{stage.__name__[1:]}",
                                          daemon=True) for stage in stages]
        for thread in self._threads:
            thread.start()

    # -- the producer side ----------------------------------------------------------------

    def submit(self, frame) -> int:
        """Queue one frame; returns its index. Ordered mode blocks while the queue is full;
        latest-frame-only mode never blocks (a frame still waiting is dropped)."""
        self._raise_if_failed()
        with self._lock:
            if self._closed:
                raise UsageError("the frame pipeline is closed; submit frames before close() or make a new one")
            index = self._submitted
            self._submitted += 1
        item = (index, frame, time.perf_counter())
        if self.latest_only:
            if self._inbox.put(item):
                with self._lock:
                    self._dropped += 1
        elif not self._put(self._inbox, item):
            self._raise_if_failed()
            raise UsageError(f"the frame pipeline was cancelled while frame {index} waited; it was not processed")
        return index

    def close(self) -> None:
        """No more frames: the ones submitted are finished, then the threads end."""
        with self._lock:
            already, self._closed = self._closed, True
        if not already:
            if self.latest_only:
                self._inbox.close()
            else:
                self._put(self._inbox, _STOP)
        self._join()

    def cancel(self) -> None:
        """Stop now: frames not yet done are discarded; results already made stay readable."""
        with self._lock:
            self._closed = True
        self._cancelled.set()
        if self.latest_only:
            self._inbox.close()
        self._join()
        self._results.put(_STOP)

    def __enter__(self) -> "FramePipeline":
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        if exc is None:
            self.close()
        else:
            self.cancel()

    # -- the consumer side ----------------------------------------------------------------

    def get(self, timeout: float | None = None) -> FrameResult | None:
        """The next result in frame order; None once the pipeline is closed and every result
        has been returned. Raises a stage's error, or TimeoutError after `timeout` seconds."""
        if self._finished:
            self._raise_if_failed()
            return None
        try:
            item = self._results.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError(f"no frame result within {timeout} s") from exc
        if item is _STOP:  # every stage has ended or is ending: wait for them, then report
            self._finished = True
            self._join()
            self._raise_if_failed()
            return None
        return item

    def results(self) -> Iterator[FrameResult]:
        """Results in frame order until the pipeline is closed and drained."""
        while (result := self.get()) is not None:
            yield result

    def run(self, frames: Iterable) -> Iterator[FrameResult]:
        """Feed `frames` (any iterable: a camera reader, video frames, image paths) from a
        thread of its own and yield the results in frame order; the pipeline is closed when
        the frames end, and cancelled if the caller stops early."""
        feeder = threading.Thread(target=self._feed, args=(frames,), name="edgekit-feed", daemon=True)
        feeder.start()
        try:
            yield from self.results()
        finally:
            if not self._finished:
                self.cancel()
            feeder.join()

    @property
    def running(self) -> bool:
        """Whether any of the pipeline's threads is still alive."""
        return any(thread.is_alive() for thread in self._threads)

    def stats(self) -> PipelineStats:
        with self._lock:
            return PipelineStats(self._submitted, self._completed, self._dropped)

    # -- the stages -----------------------------------------------------------------------

    def _feed(self, frames: Iterable) -> None:
        try:
            for frame in frames:
                if self._cancelled.is_set():
                    return
                self.submit(frame)
        except BaseException as exc:  # noqa: BLE001 - the camera's error reaches get()
            if not self._cancelled.is_set():  # after a cancel nobody is waiting for frames
                self._fail(exc)
        finally:
            if not self._cancelled.is_set():
                self.close()

    def _preprocess_stage(self) -> None:
        while (taken := self._take_frame()) is not _STOP:
            sequence, (index, frame, submitted) = taken
            started = time.perf_counter()
            prepared = self.task.prepare(frame, f"frame {index}")
            item = (sequence, index, prepared, submitted, time.perf_counter() - started)
            if not self._put(self._prepared, item):
                return

    def _take_frame(self):
        """(sequence, frame item): frames in the order the workers take them (0, 1, 2...:
        no gaps, also when latest-only mode drops frames), or _STOP."""
        with self._take_lock:
            item = self._inbox.get(self._cancelled) if self.latest_only else self._get(self._inbox)
            if item is _STOP:
                if not self.latest_only and not self._cancelled.is_set():
                    self._inbox.put(_STOP)  # the end, for the next worker too
                return _STOP
            self._taken += 1
            return self._taken - 1, item

    def _inference_stage(self) -> None:
        """Frames in sequence order (several workers may finish them out of order)."""
        predict, pending, following, stops = self.model.predict, {}, 0, 0
        while stops < self.workers:
            item = self._get(self._prepared)
            if item is _STOP:
                if self._cancelled.is_set():
                    return
                stops += 1
                continue
            pending[item[0]] = item
            while following in pending:
                _, index, prepared, submitted, preprocess_s = pending.pop(following)
                following += 1
                started = time.perf_counter()
                outputs = predict(prepared.x)
                if not self._put(self._inferred, (index, prepared, submitted, preprocess_s,
                                                  time.perf_counter() - started, outputs)):
                    return

    def _decode_stage(self) -> None:
        while (item := self._get(self._inferred)) is not _STOP:
            index, prepared, submitted, preprocess_s, inference_s, outputs = item
            started = time.perf_counter()
            value = self.task.decode(outputs, prepared)
            done = time.perf_counter()
            self._results.put(FrameResult(index, value, preprocess_s, inference_s, done - started, done - submitted))
            with self._lock:
                self._completed += 1

    # -- plumbing -------------------------------------------------------------------------

    def _guard(self, stage) -> None:
        """Run a stage; on its end pass the stop on; on an error stop the whole pipeline."""
        try:
            stage()
        except BaseException as exc:  # noqa: BLE001 - reaches the consumer through get()
            self._fail(exc)
        finally:
            following = {self._preprocess_stage.__name__: self._prepared,
                         self._inference_stage.__name__: self._inferred}.get(stage.__name__)
            if following is not None:
                self._put(following, _STOP)
            else:
                self._results.put(_STOP)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
            self._closed = True
        self._cancelled.set()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _get(self, source: queue.Queue):
        while True:
            try:
                return source.get(timeout=_POLL_S)
            except queue.Empty:
                if self._cancelled.is_set():
                    return _STOP

    def _put(self, target: queue.Queue, item) -> bool:
        while True:
            try:
                target.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                if self._cancelled.is_set():
                    return False

    def _join(self) -> None:
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join()
