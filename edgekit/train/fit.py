"""The training loop: one custom loop for every `tf.distribute` strategy.

Keras 3's `Model.fit` cannot run under `MultiWorkerMirroredStrategy` (keras-team/keras#20585:
its first batch is reduced across workers as a nested structure, which the collective
all-reduce refuses), so edgekit steps the model itself: `strategy.run` of one training step
on each replica's share of the global batch, gradients all-reduced by the Keras optimizer,
loss and accuracy summed over the replicas. The same loop runs the default strategy (one
device) and `MirroredStrategy`.

Per epoch: the validation loss and accuracy (computed on every worker, on the whole
validation split), the best weights so far (lowest validation loss; without validation data,
the last epoch), early stopping after `patience` epochs without improvement, and a progress
line (loss, accuracy, val, images/s, ETA). The learning rate follows a cosine decay from the
phase's rate to 5% of it over the phase's planned epochs (Adam).

Ctrl-C (not under multiworker, where every worker must stop together) stops after the current
step: the best weights so far are restored and the run ends as interrupted; a second Ctrl-C
stops at once.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import _tf
from .record import BestEpoch, EpochRecord

PROGRESS_S = 30.0
FINAL_LR_FRACTION = 0.05


@dataclass(frozen=True)
class Phase:
    name: str  # "train" (from scratch), "head" (frozen base) or "fine-tune"
    epochs: int
    learning_rate: float


@dataclass
class Outcome:
    history: list = field(default_factory=list)
    best: BestEpoch | None = None
    stopped_early: bool = False
    interrupted: bool = False
    has_weights: bool = False  # at least one epoch completed


class StopRequest:
    """Ctrl-C handling during training (a context manager): the first SIGINT asks the loop to
    stop after its current step; a second one raises KeyboardInterrupt at once. Only in the
    main thread, and never when SIGINT is ignored (a `nohup` run); the previous handler is
    put back on exit."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt()
        self.requested = True

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.SIG_IGN:
                self._previous = previous
                signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Keeper:
    """The best weights so far: the lowest validation loss, or the last epoch without validation."""

    def __init__(self):
        self.weights = None
        self.best: BestEpoch | None = None
        self.wait = 0

    def epoch_end(self, model, record: EpochRecord) -> None:
        loss = record.val_loss
        if loss is None or self.best is None or self.best.val_loss is None or loss < self.best.val_loss:
            self.weights = [np.array(w) for w in model.get_weights()]
            self.best = BestEpoch(record.phase, record.epoch, loss)
            self.wait = 0
        else:
            self.wait += 1

    def restore(self, model) -> None:
        if self.weights is not None:
            model.set_weights(self.weights)


@dataclass
class Loop:
    """What every phase shares: the model, the strategy, the data and the callbacks."""

    model: object
    strategy: object
    train_data: object  # endless batches of the training split
    val_data: object | None
    train_count: int
    batch_size: int
    patience: int
    on_step: Callable[[str], None]
    on_epoch: Callable[[EpochRecord], None]
    stop: StopRequest
    predict: object = None

    def __post_init__(self):
        tf = _tf.tensorflow()
        model = self.model
        self.predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @property
    def steps(self) -> int:
        return max(1, math.ceil(self.train_count / self.batch_size))


def fit(loop: Loop, phases: list[Phase], before_phase: Callable[[Phase], None] | None = None) -> Outcome:
    """Run the phases in order (each from the best weights of the one before); the best
    weights over all of them end in the model."""
    keeper, outcome = Keeper(), Outcome()
    planned = [p.epochs for p in phases]
    for index, phase in enumerate(phases):
        if index:
            keeper.restore(loop.model)
        keeper.wait = 0
        if before_phase is not None:
            before_phase(phase)
        stopped = _run_phase(loop, phase, keeper, outcome, later_epochs=sum(planned[index + 1:]))
        if outcome.interrupted:
            break
        outcome.stopped_early = outcome.stopped_early or stopped
    keeper.restore(loop.model)
    outcome.best, outcome.has_weights = keeper.best, keeper.weights is not None
    return outcome


def _run_phase(loop: Loop, phase: Phase, keeper: Keeper, outcome: Outcome, later_epochs: int) -> bool:
    """One phase's epochs; True when it stopped early."""
    keras = _tf.keras()
    with loop.strategy.scope():
        schedule = keras.optimizers.schedules.CosineDecay(phase.learning_rate, loop.steps * phase.epochs,
                                                          alpha=FINAL_LR_FRACTION)
        optimizer = keras.optimizers.Adam(schedule)
    step = train_step(loop.model, loop.strategy, optimizer, loop.batch_size)
    iterator = iter(loop.strategy.experimental_distribute_dataset(loop.train_data))
    seconds: list[float] = []
    for epoch in range(1, phase.epochs + 1):
        started = time.monotonic()
        totals = _epoch(loop, phase, epoch, step, iterator)
        if totals is None:
            outcome.interrupted = True
            return False
        train_s = time.monotonic() - started
        val_loss, val_acc = evaluate(loop, loop.val_data) if loop.val_data is not None else (None, None)
        seconds.append(time.monotonic() - started)
        remaining = phase.epochs - epoch + later_epochs
        record = EpochRecord(
            phase=phase.name, epoch=epoch, epochs=phase.epochs, loss=float(totals[0] / totals[2]),
            accuracy=float(totals[1] / totals[2]), val_loss=val_loss, val_accuracy=val_acc,
            learning_rate=float(schedule(optimizer.iterations)), seconds=round(seconds[-1], 3),
            images_per_s=round(float(totals[2]) / max(train_s, 1e-9), 1),
            eta_s=round(float(np.mean(seconds)) * remaining, 1))
        keeper.epoch_end(loop.model, record)
        outcome.history.append(record)
        loop.on_epoch(record)
        loop.on_step(epoch_line(record))
        if val_loss is not None and keeper.wait >= loop.patience:
            loop.on_step(f"early stop: no lower validation loss for {loop.patience} epoch(s); best: "
                         f"{keeper.best.phase} epoch {keeper.best.epoch}")
            return True
    return False


def _epoch(loop: Loop, phase: Phase, epoch: int, step, iterator):
    """[loss sum, correct, samples] over one epoch's steps; None when Ctrl-C stopped it."""
    totals = np.zeros(3)
    started = last = time.monotonic()
    for index in range(loop.steps):
        totals += np.asarray(step(iterator), dtype=np.float64)
        if loop.stop.requested:
            loop.on_step(f"Ctrl-C: stopped after step {index + 1}/{loop.steps} of {phase.name} epoch {epoch}")
            return None
        now = time.monotonic()
        if now - last >= PROGRESS_S:
            last = now
            loop.on_step(f"{_label(phase.name)}epoch {epoch}/{phase.epochs}: step {index + 1}/{loop.steps}, "
                         f"loss {totals[0] / totals[2]:.4f}, {totals[2] / (now - started):.0f} images/s")
    return totals


def train_step(model, strategy, optimizer, global_batch: int):
    """A tf.function: one step on each replica; returns [loss sum, correct, samples] summed
    over the replicas (and workers)."""
    tf = _tf.tensorflow()
    keras = _tf.keras()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def one(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            per_sample = loss_fn(y, probs)
            loss = tf.nn.compute_average_loss(per_sample, global_batch_size=global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(probs, 1, output_type=y.dtype), y), tf.float32))
        return tf.stack([tf.reduce_sum(per_sample), hits, tf.cast(tf.size(y), tf.float32)])

    @tf.function
    def step(iterator):
        return strategy.reduce("SUM", strategy.run(one, args=next(iterator)), axis=None)

    return step


def predict(loop: Loop, data) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, labels) over a finite dataset of batches."""
    probs, labels = [], []
    for x, y in data:
        probs.append(np.asarray(loop.predict(x)))
        labels.append(np.asarray(y))
    if not probs:
        return np.zeros((0, 0), np.float32), np.zeros((0,), np.int64)
    return np.concatenate(probs), np.concatenate(labels)


def evaluate(loop: Loop, data) -> tuple[float | None, float | None]:
    probs, labels = predict(loop, data)
    if not len(labels):
        return None, None
    return cross_entropy(probs, labels), float(np.mean(probs.argmax(1) == labels))


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    picked = probs[np.arange(len(labels)), labels].astype(np.float64)
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def _label(phase: str) -> str:
    return "" if phase == "train" else f"{phase} "


def epoch_line(r: EpochRecord) -> str:
    parts = [f"loss {r.loss:.4f}", f"accuracy {r.accuracy:.2%}"]
    if r.val_loss is not None:
        parts += [f"val_loss {r.val_loss:.4f}", f"val_accuracy {r.val_accuracy:.2%}"]
    parts.append(f"{r.images_per_s:.0f} images/s")
    if r.eta_s:
        parts.append(f"ETA {_duration(r.eta_s)}")
    return f"{_label(r.phase)}epoch {r.epoch}/{r.epochs}: {', '.join(parts)}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds < 3600 else f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def unfreeze_top(base, count: int) -> int:
    """Make the top `count` layers of `base` that hold weights trainable, batch normalization
    not counted (it stays frozen and in inference mode); returns how many were unfrozen."""
    keras = _tf.keras()
    base.trainable = True
    candidates = [layer for layer in base.layers
                  if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]
    top = {id(layer) for layer in candidates[-count:]} if count else set()
    for layer in base.layers:
        layer.trainable = id(layer) in top
    return len(top)
