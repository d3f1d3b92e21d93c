"""predict's fast path quantizes float inputs exactly as `quantize` does (ties and clipping)."""

import numpy as np

from edgekit.runtime import load, quantize
from edgekit_testing import FIXTURES


def test_fast_path_quantization_matches_the_reference_function():
    model = load(FIXTURES / "int8.tflite")
    spec = model.inputs[0]
    rng = np.random.default_rng(0)
    ties = ((np.arange(192, dtype=np.float32) - 96) * np.float32(spec.scale) / 2).reshape(spec.shape)
    cases = [ties, np.full(spec.shape, 1e6, np.float32), np.full(spec.shape, -1e6, np.float32)]
    cases += [(rng.normal(size=spec.shape) * 3).astype(np.float32) for _ in range(50)]
    for x in cases:
        expected = quantize(x, spec.scale, spec.zero_point, spec.dtype)
        assert np.array_equal(model.predict(x, raw=True), model.predict(expected, raw=True))
    # The fast path really is taken for float32 input (no fallback to the general path).
    assert model._fast(cases[3], True) is not None
