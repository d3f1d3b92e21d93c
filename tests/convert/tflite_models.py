"""Float .tflite models built inside the tests with the flatbuffer object API: no TensorFlow.

`digits_cnn(...)` is a real classifier of scikit-learn's digits: a 3x3 convolution and a fully
connected layer with fixed-seed weights (ReLU; random features), then a fully connected layer
fitted to the digits in closed form, and a softmax. Switches give the variants the tests need:
no signature, a dynamic batch or image size, float16 weights behind DEQUANTIZE ops with op
codes in the old schema field only (how third-party "float" files are often shipped), a custom
op, a LOG that turns zero pixels into -inf (NaN outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ai_edge_litert import schema_py_generated as schema

CONV_FILTERS = 8
HIDDEN = 128
CLASSES = 10


@dataclass
class Graph:
    """A one-subgraph model under construction."""

    old_opcodes: bool = False
    tensors: list = field(default_factory=list)
    buffers: list = field(default_factory=lambda: [schema.BufferT()])
    ops: list = field(default_factory=list)
    codes: list = field(default_factory=list)

    def tensor(self, name: str, shape, data: np.ndarray | None = None, dtype: int = schema.TensorType.FLOAT32,
               signature=None) -> int:
        t = schema.TensorT()
        t.name, t.shape, t.type = name.encode(), np.asarray(shape, np.int32), dtype
        if signature is not None:
            t.shapeSignature = np.asarray(signature, np.int32)
        if data is not None:
            self.buffers.append(schema.BufferT())
            self.buffers[-1].data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code: int, inputs, outputs, options=None, options_type: int = 0, custom: str | None = None) -> None:
        key = (code, custom)
        if key not in self.codes:
            self.codes.append(key)
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = self.codes.index(key), list(inputs), list(outputs)
        if options is not None:
            op.builtinOptionsType, op.builtinOptions = options_type, options
        if custom is not None:
            op.customOptions = []
        self.ops.append(op)

    def weight(self, name: str, values: np.ndarray, float16: bool) -> int:
        """A float32 constant, or a float16 constant behind a DEQUANTIZE op."""
        if not float16:
            return self.tensor(name, values.shape, values.astype(np.float32))
        half = self.tensor(name + "_fp16", values.shape, values.astype(np.float16), schema.TensorType.FLOAT16)
        out = self.tensor(name + "_dequantize", values.shape)
        self.op(schema.BuiltinOperator.DEQUANTIZE, [half], [out])
        return out

    def finish(self, inputs, outputs, signature: bool = True) -> bytes:
        import flatbuffers

        graph = schema.SubGraphT()
        graph.tensors, graph.operators, graph.inputs, graph.outputs = self.tensors, self.ops, inputs, outputs
        model = schema.ModelT()
        model.version, model.subgraphs, model.buffers = 3, [graph], self.buffers
        model.operatorCodes = [self._code(code, custom) for code, custom in self.codes]
        if signature:
            sig = schema.SignatureDefT()
            sig.signatureKey, sig.subgraphIndex = "serving_default", 0
            sig.inputs = [self._map(self.tensors[i].name.decode(), i) for i in inputs]
            sig.outputs = [self._map(f"output_{n}", i) for n, i in enumerate(outputs)]
            model.signatureDefs = [sig]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def _code(self, code: int, custom: str | None):
        c = schema.OperatorCodeT()
        c.version, c.customCode = 1, custom
        c.builtinCode, c.deprecatedBuiltinCode = (0, code) if self.old_opcodes else (code, min(code, 127))
        return c

    @staticmethod
    def _map(name: str, index: int):
        m = schema.TensorMapT()
        m.name, m.tensorIndex = name, index
        return m


def _conv_options():
    o = schema.Conv2DOptionsT()
    o.padding, o.strideW, o.strideH = schema.Padding.SAME, 1, 1
    o.fusedActivationFunction = schema.ActivationFunctionType.RELU
    return o


def _fc_options(relu: bool):
    o = schema.FullyConnectedOptionsT()
    o.fusedActivationFunction = schema.ActivationFunctionType.RELU if relu else 0
    return o


def conv_features(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The model's convolution + ReLU + flatten in numpy (SAME padding), to train the head on."""
    padded = np.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((len(x), 8, 8, CONV_FILTERS), np.float32)
    for i in range(3):
        for j in range(3):
            out += padded[:, i:i + 8, j:j + 8, None] * kernel[:, i, j, 0][None, None, None, :]
    return np.maximum(out + bias, 0).reshape(len(x), -1)


@dataclass(frozen=True)
class DigitsWeights:
    kernel: np.ndarray
    bias: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray


def train_digits_weights(x: np.ndarray, y: np.ndarray, hidden_scale: float = 1.0) -> DigitsWeights:
    """Fixed-seed convolution and hidden layer (random features), and an output layer fitted
    to the digits in closed form (ridge regression on one-hot labels): milliseconds, no solver."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(0, 0.5, (CONV_FILTERS, 3, 3, 1)).astype(np.float32)
    bias = rng.normal(0, 0.1, CONV_FILTERS).astype(np.float32)
    features = conv_features(x, kernel, bias)
    w1 = (rng.normal(0, 1, (HIDDEN, features.shape[1])) * hidden_scale / np.sqrt(features.shape[1])).astype(np.float32)
    b1 = rng.normal(0, 0.1, HIDDEN).astype(np.float32)
    h = np.maximum(features @ w1.T + b1, 0).astype(np.float64)
    h1 = np.hstack([h, np.ones((len(h), 1))])
    target = np.eye(CLASSES)[y] * 4.0  # logits about 4 apart: confident, not saturated, softmax
    solution = np.linalg.solve(h1.T @ h1 + 10.0 * np.eye(h1.shape[1]), h1.T @ target)
    return DigitsWeights(kernel, bias, w1, b1, solution[:-1].T.astype(np.float32), solution[-1].astype(np.float32))


def with_outlier(weights: DigitsWeights, factor: float, x: np.ndarray) -> DigitsWeights:
    """The same function, but the hidden unit most active on `x` carries values `factor` times
    larger (and the output layer reads it `factor` times weaker): one outlier channel that
    stretches a per-tensor int8 range until the other hidden units round to zero."""
    hidden = np.maximum(conv_features(x, weights.kernel, weights.bias) @ weights.w1.T + weights.b1, 0)
    unit = int(np.argmax(hidden.mean(axis=0)))
    w1, b1, w2 = weights.w1.copy(), weights.b1.copy(), weights.w2.copy()
    w1[unit], b1[unit], w2[:, unit] = w1[unit] * factor, b1[unit] * factor, w2[:, unit] / factor
    return DigitsWeights(weights.kernel, weights.bias, w1, b1, w2, weights.b2)


def digits_cnn(weights: DigitsWeights, *, signature: bool = True, float16: bool = False, old_opcodes: bool = False,
               dynamic: str | None = None, custom_op: bool = False, log_input: bool = False) -> bytes:
    """The digits classifier as float .tflite bytes (see the module docstring for the switches).

    dynamic: None, "batch" (batch -1) or "image" (height and width -1 too)."""
    g = Graph(old_opcodes=old_opcodes)
    signature_shape = {None: None, "batch": [-1, 8, 8, 1], "image": [-1, -1, -1, 1]}[dynamic]
    x = g.tensor("image", [1, 8, 8, 1], signature=signature_shape)
    first = x
    if log_input:
        first = g.tensor("log", [1, 8, 8, 1])
        g.op(schema.BuiltinOperator.LOG, [x], [first])
    if custom_op:
        out = g.tensor("custom", [1, 8, 8, 1])
        g.op(schema.BuiltinOperator.CUSTOM, [first], [out], custom="MyCustomOp")
        first = out
    kernel = g.weight("conv/kernel", weights.kernel, float16)
    bias = g.weight("conv/bias", weights.bias, float16)
    conv = g.tensor("conv/Relu", [1, 8, 8, CONV_FILTERS], signature=None if dynamic is None else [-1, 8, 8, CONV_FILTERS])
    g.op(schema.BuiltinOperator.CONV_2D, [first, kernel, bias], [conv], _conv_options(), schema.BuiltinOptions.Conv2DOptions)
    shape = g.tensor("flatten/shape", [2], np.asarray([-1, 8 * 8 * CONV_FILTERS], np.int32), schema.TensorType.INT32)
    flat = g.tensor("flatten/Reshape", [1, 8 * 8 * CONV_FILTERS])
    g.op(schema.BuiltinOperator.RESHAPE, [conv, shape], [flat])
    hidden = g.tensor("dense/Relu", [1, HIDDEN])
    g.op(schema.BuiltinOperator.FULLY_CONNECTED, [flat, g.weight("dense/kernel", weights.w1, float16),
                                                  g.weight("dense/bias", weights.b1, float16)], [hidden],
         _fc_options(True), schema.BuiltinOptions.FullyConnectedOptions)
    logits = g.tensor("probs/MatMul", [1, CLASSES])
    g.op(schema.BuiltinOperator.FULLY_CONNECTED, [hidden, g.weight("probs/kernel", weights.w2, float16),
                                                  g.weight("probs/bias", weights.b2, float16)], [logits],
         _fc_options(False), schema.BuiltinOptions.FullyConnectedOptions)
    probs = g.tensor("probs/Softmax", [1, CLASSES])
    softmax = schema.SoftmaxOptionsT()
    softmax.beta = 1.0
    g.op(schema.BuiltinOperator.SOFTMAX, [logits], [probs], softmax, schema.BuiltinOptions.SoftmaxOptions)
    return g.finish([x], [probs], signature)
