"""Comparisons between a reference model's outputs and a candidate's. Pure numpy.

Used at convert time (verification), by `edgekit bench` and by the demo, so every number
that edgekit reports about fidelity comes from one place.
"""

from __future__ import annotations

import numpy as np

from .artifact import Comparison
from .errors import BadInputError


def _as_float64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def is_classifier_output(y: np.ndarray) -> bool:
    """Scores over at least two classes per sample: (n, classes)."""
    return y.ndim == 2 and y.shape[1] >= 2


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of samples whose label is among the k highest scores."""
    scores = _as_float64(scores)
    labels = np.asarray(labels)
    if len(scores) != len(labels):
        raise BadInputError(f"{len(labels)} labels for {len(scores)} outputs; they must match")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise BadInputError(
            f"labels range {labels.min()}..{labels.max()} but the model has "
            f"{scores.shape[1]} classes (0..{scores.shape[1] - 1})"
        )
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def compare_outputs(reference, candidate, labels=None) -> Comparison:
    """Fidelity of `candidate` against `reference` (same shape), plus accuracy when labelled.

    max_abs_error, rmse, snr_db (signal = reference), cosine (over all values),
    top1_agreement (classifier outputs only) and, when labels are given, top-1 accuracy of
    both (and top-5 of the candidate with at least 10 classes).
    """
    ref = _as_float64(reference)
    cand = _as_float64(candidate)
    if ref.shape != cand.shape:
        raise BadInputError(
            f"reference outputs have shape {ref.shape} but the model's have {cand.shape}; "
            "compare models with the same output"
        )
    diff = cand - ref
    noise = float(np.mean(diff**2)) if diff.size else 0.0
    signal = float(np.mean(ref**2)) if ref.size else 0.0
    if noise == 0.0:
        snr = float("inf")
    elif signal == 0.0:
        snr = float("-inf")
    else:
        snr = 10.0 * np.log10(signal / noise)
    norms = np.linalg.norm(ref) * np.linalg.norm(cand)
    agreement = accuracy = reference_accuracy = top5 = None
    if is_classifier_output(ref):
        agreement = float(np.mean(ref.argmax(1) == cand.argmax(1)))
        if labels is not None:
            accuracy = top_k_accuracy(cand, labels, 1)
            reference_accuracy = top_k_accuracy(ref, labels, 1)
            top5 = top_k_accuracy(cand, labels, 5) if ref.shape[1] >= 10 else None
    return Comparison(
        samples=int(ref.shape[0]) if ref.ndim else 1,
        max_abs_error=float(np.max(np.abs(diff))) if diff.size else 0.0,
        rmse=float(np.sqrt(noise)),
        snr_db=float(snr),
        cosine=float(np.sum(ref * cand) / norms) if norms > 0 else float(np.array_equal(ref, cand)),
        top1_agreement=agreement, accuracy=accuracy, reference_accuracy=reference_accuracy, top5_accuracy=top5,
    )
