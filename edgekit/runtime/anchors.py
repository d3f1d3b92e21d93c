"""SSD anchors from an anchor specification, and raw SSD box regressors decoded against them.

`generate_anchors` follows MediaPipe's SsdAnchorsCalculator (ssd_anchors_calculator.cc)
step by step, so a model trained with MediaPipe's anchors (BlazeFace, palm detection, SSD
MobileNet graphs) decodes here with the options its graph lists. `decode_boxes` follows
TensorsToDetectionsCalculator's DecodeBoxes (the TF Object Detection box coder too).
"""

from __future__ import annotations

import math

import numpy as np

from ..artifact.records import AnchorSpec, DetectionSpec


def _scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1.0)


def _layer_shapes(spec: AnchorSpec, first: int, last: int) -> tuple[list[float], list[float]]:
    """(heights, widths) of the anchors of each cell for layers first..last-1 (same stride)."""
    ratios, scales = [], []
    count = len(spec.strides)
    for layer in range(first, last):
        scale = _scale(spec.min_scale, spec.max_scale, layer, count)
        if layer == 0 and spec.reduce_boxes_in_lowest_layer:
            ratios += [1.0, 2.0, 0.5]
            scales += [0.1, scale, scale]
            continue
        ratios += list(spec.aspect_ratios)
        scales += [scale] * len(spec.aspect_ratios)
        if spec.interpolated_scale_aspect_ratio > 0.0:
            following = 1.0 if layer == count - 1 else _scale(spec.min_scale, spec.max_scale, layer + 1, count)
            scales.append(math.sqrt(scale * following))
            ratios.append(spec.interpolated_scale_aspect_ratio)
    heights = [s / math.sqrt(r) for s, r in zip(scales, ratios)]
    widths = [s * math.sqrt(r) for s, r in zip(scales, ratios)]
    return heights, widths


def _feature_map(spec: AnchorSpec, layer: int) -> tuple[int, int]:
    if spec.feature_map_height:
        return spec.feature_map_height[layer], spec.feature_map_width[layer]
    stride = spec.strides[layer]
    return math.ceil(spec.input_size_height / stride), math.ceil(spec.input_size_width / stride)


def generate_anchors(spec: AnchorSpec) -> np.ndarray:
    """Anchors (N, 4) as x_center, y_center, width, height, normalized to the input; in
    MediaPipe's order (layer, then row, column, then anchor within the cell)."""
    parts, layer = [], 0
    while layer < len(spec.strides):
        last = layer
        while last < len(spec.strides) and spec.strides[last] == spec.strides[layer]:
            last += 1
        heights, widths = _layer_shapes(spec, layer, last)
        rows, cols = _feature_map(spec, layer)
        y = (np.arange(rows, dtype=np.float64) + spec.anchor_offset_y) / rows
        x = (np.arange(cols, dtype=np.float64) + spec.anchor_offset_x) / cols
        grid_y, grid_x, k = np.meshgrid(y, x, np.arange(len(heights)), indexing="ij")
        w = np.ones_like(grid_x) if spec.fixed_anchor_size else np.asarray(widths)[k]
        h = np.ones_like(grid_y) if spec.fixed_anchor_size else np.asarray(heights)[k]
        parts.append(np.stack([grid_x, grid_y, w, h], axis=-1).reshape(-1, 4))
        layer = last
    return np.concatenate(parts).astype(np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, spec: DetectionSpec) -> np.ndarray:
    """Box regressors (N, K >= 4) -> boxes (N, 4) as x_min, y_min, x_max, y_max in the
    anchors' units (normalized for MediaPipe-style anchors)."""
    raw = np.asarray(raw, dtype=np.float64)[:, :4]
    a, b, c, d = (raw[:, i] / spec.box_scale[i] for i in range(4))
    if spec.box_order == "yxhw":
        y, x, h, w = a, b, c, d
    else:
        x, y, w, h = a, b, c, d
    ax, ay, aw, ah = (anchors[:, i].astype(np.float64) for i in range(4))
    x_center, y_center = x * aw + ax, y * ah + ay
    if spec.exponential_size:
        with np.errstate(over="ignore"):
            w, h = np.exp(w) * aw, np.exp(h) * ah
    else:
        w, h = w * aw, h * ah
    return np.stack([x_center - w / 2, y_center - h / 2, x_center + w / 2, y_center + h / 2], axis=-1)
