"""quantize / dequantize arithmetic against hand-computed values."""

from __future__ import annotations

import numpy as np

from edgekit.runtime import TensorSpec, dequantize, quantize
from edgekit.runtime.model import _dequantizer


def test_quantize_hand_values():
    # scale 0.5, zero point -3: q = round(x / 0.5) - 3
    q = quantize(np.array([1.0, 0.0, -1.0, 2.6]), 0.5, -3, np.int8)
    assert q.dtype == np.int8
    assert q.tolist() == [-1, -3, -5, 2]


def test_quantize_clips_to_dtype_range():
    assert quantize(np.array([1e6, -1e6]), 0.5, -3, np.int8).tolist() == [127, -128]
    assert quantize(np.array([1e6, -1e6]), 0.1, 10, np.uint8).tolist() == [255, 0]
    assert quantize(np.array([1e9, -1e9]), 1.0, 0, np.int16).tolist() == [32767, -32768]


def test_dequantize_hand_values():
    out = dequantize(np.array([-1, -3, 127, -128], np.int8), 0.5, -3)
    assert out.dtype == np.float32
    assert out.tolist() == [1.0, 0.0, 65.0, -62.5]


def test_dequantize_int16_extremes_without_overflow():
    q = np.array([-32768, 32767], np.int16)
    # in int16 arithmetic 32767 - (-32768) would wrap around; int64 does not
    assert dequantize(q, 1.0, -32768).tolist() == [0.0, 65535.0]
    assert dequantize(q, 0.5, 32767).tolist() == [-32767.5, 0.0]


def test_dequantize_int32_extremes_without_overflow():
    q = np.array([-(2**31), 2**31 - 1], np.int32)
    out = dequantize(q, 1.0, -(2**31))
    assert out[0] == 0.0
    assert out[1] == np.float32(2**32 - 1)


def test_output_table_matches_formula_for_every_code():
    for dtype, zero_point in (("int8", -3), ("uint8", 128), ("int16", 5)):
        spec = TensorSpec("out", 0, (1, 4), dtype, 0.037, zero_point)
        info = np.iinfo(dtype)
        codes = np.arange(info.min, info.max + 1).astype(dtype)
        np.testing.assert_array_equal(
            _dequantizer(spec)(codes), dequantize(codes, 0.037, zero_point)
        )


def test_round_trip_within_half_a_step():
    x = np.linspace(-3, 3, 101)
    q = quantize(x, 0.05, 2, np.int8)
    assert np.abs(dequantize(q, 0.05, 2) - x).max() <= 0.025 + 1e-6
