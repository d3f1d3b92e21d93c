"""Test-split metrics of a classifier: accuracy, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

import numpy as np

from .record import ClassMetrics, TestMetrics


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[true class, predicted class]."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else round(float(num) / float(den), 6)


def metrics_on_test(probs: np.ndarray, labels: np.ndarray, class_names, loss: float) -> TestMetrics:
    """Metrics of predicted probabilities against labels. Precision is None for a class never
    predicted, recall None for a class absent from the test split."""
    classes = len(class_names)
    matrix = confusion_matrix(labels, probs.argmax(1), classes)
    per_class = []
    for i, name in enumerate(class_names):
        hits, predicted, actual = matrix[i, i], matrix[:, i].sum(), matrix[i, :].sum()
        precision, recall = _ratio(hits, predicted), _ratio(hits, actual)
        f1 = None if not precision or not recall else round(2 * precision * recall / (precision + recall), 6)
        per_class.append(ClassMetrics(name, precision, recall, f1, int(actual)))
    return TestMetrics(
        samples=int(len(labels)), accuracy=round(float(np.trace(matrix)) / max(1, len(labels)), 6),
        loss=round(loss, 6), per_class=tuple(per_class),
        confusion=tuple(tuple(int(v) for v in row) for row in matrix))
