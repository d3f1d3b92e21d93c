"""Keras 3 -> Keras 2 (tf_keras), so that tensorflow-model-optimization's QAT applies.

tfmot 0.8 quantizes tf_keras models only: it rejects a Keras 3 model ("`to_quantize` can only
either be a keras Sequential or Functional model"), and tf_keras cannot load a Keras 3 file.
The bridge walks the Keras 3 model's graph (its config), builds the same graph with tf_keras
layers made from translated layer configs, flattens nested models into one Functional graph
(tfmot cannot quantize a model inside a model) and copies every layer's weights.
`check_match` proves that the result computes what the Keras 3 model computes.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import _tf
from ..errors import BadInputError, one_line

SUPPORTED_LAYERS = (
    "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense", "BatchNormalization", "ReLU",
    "Activation", "Softmax", "LeakyReLU", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Add", "Concatenate", "Reshape", "Flatten",
    "Dropout", "ZeroPadding2D", "Rescaling",
)
MODEL_CLASSES = ("Functional", "Sequential")
ACTIVATIONS = (
    "linear", "relu", "relu6", "softmax", "sigmoid", "tanh", "swish", "silu", "gelu", "elu",
    "selu", "softplus", "hard_sigmoid", "leaky_relu",
)
MATCH_TOLERANCE = 1e-5
# Arguments every Keras 2 layer takes through **kwargs (tf_keras base Layer).
_BASE_LAYER_KEYS = {
    "name", "trainable", "dtype", "dynamic", "input_dim", "input_shape", "batch_input_shape",
    "batch_size", "weights", "activity_regularizer", "autocast", "implementation",
}
_FALLBACK = "convert it with the post-training int8 recipe instead"


def _unsupported(name: str, class_name: str) -> BadInputError:
    return BadInputError(
        f"QAT: layer {name!r} ({class_name}) is not supported by the Keras 2 bridge; supported "
        f"layers: {', '.join(SUPPORTED_LAYERS)} (and Sequential/Functional models nesting "
        f"them); {_FALLBACK}"
    )


def check_bridgeable(model) -> None:
    """Raise BadInputError naming the first model or layer the bridge cannot translate."""
    kind = type(model).__name__
    if kind not in MODEL_CLASSES:
        raise BadInputError(
            f"QAT needs a Sequential or Functional model; {model.name!r} is a subclassed model "
            f"({kind}) whose layers are wired by Python code the Keras 2 bridge cannot rebuild; "
            f"{_FALLBACK}, or rebuild it as a Functional model"
        )
    _check_layers(model.get_config()["layers"])


def _check_layers(entries) -> None:
    for entry in entries:
        class_name, config = entry["class_name"], entry["config"]
        name = config.get("name", "?")
        custom = entry.get("registered_name") not in (None, class_name) or not str(
            entry.get("module") or "keras").startswith("keras")
        if class_name in MODEL_CLASSES and not custom:
            _check_layers(config["layers"])
        elif class_name == "InputLayer":
            continue
        elif custom or class_name not in SUPPORTED_LAYERS:
            raise _unsupported(name, entry.get("registered_name") or class_name)
        else:
            _check_activation(name, class_name, config.get("activation"))


def _check_activation(name: str, class_name: str, activation) -> None:
    if activation is None:
        return
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        shown = activation if isinstance(activation, str) else "a custom function"
        raise BadInputError(
            f"QAT: layer {name!r} ({class_name}) uses activation {shown!r}, which the Keras 2 "
            f"bridge does not translate; supported: {', '.join(ACTIVATIONS)}; {_FALLBACK}"
        )


def to_tf_keras(model):
    """A tf_keras Functional model computing what the Keras 3 `model` computes (same weights).

    Nested Sequential/Functional models are inlined; their layers keep their names unless a
    name is taken, in which case the nested model's name is put in front."""
    check_bridgeable(model)
    builder = _Builder(_tf.tf_keras())
    inputs, outputs = builder.top(model)
    bridged = builder.tfk.Model(inputs, outputs, name=model.name)
    builder.copy_weights()
    return bridged


def check_match(model, bridged, x: np.ndarray, tolerance: float = MATCH_TOLERANCE) -> float:
    """Max abs difference of the two models' outputs on `x`; BadInputError above `tolerance`."""
    expected = _as_list(model(x, training=False))
    got = _as_list(bridged(x, training=False))
    error = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(expected, got))
    if not error <= tolerance:
        raise BadInputError(
            f"QAT: the Keras 2 bridge of {model.name!r} differs from the Keras 3 model by "
            f"{error:.3g} (allowed {tolerance:g}); a layer did not translate faithfully; "
            f"{_FALLBACK}"
        )
    return error


def _as_list(out) -> list:
    if isinstance(out, dict):
        return list(out.values())
    return list(out) if isinstance(out, (list, tuple)) else [out]


class _Builder:
    """Rebuilds Keras 3 graphs with tf_keras layers; remembers which layer came from which."""

    def __init__(self, tfk):
        self.tfk = tfk
        self.names: set[str] = set()
        self.made: dict[int, tuple] = {}  # id(Keras 3 layer) -> (Keras 3 layer, tf_keras layer)

    def top(self, model):
        config = model.get_config()
        if type(model).__name__ == "Sequential":
            inputs = self._sequential_input(model, config)
            return inputs, self._sequential(model, config, inputs)
        layers = {entry["name"]: entry for entry in config["layers"]}
        inputs = [self._input(layers[h[0]]["config"]) for h in _histories(config["input_layers"])]
        outputs = self._functional(model, config, inputs)
        return _single(inputs), _single(outputs)

    def _input(self, config: dict):
        shape = list(config.get("batch_shape") or config.get("batch_input_shape"))
        name = self._unique(config["name"], "")
        return self.tfk.Input(batch_shape=[None, *shape[1:]], dtype=config.get("dtype") or "float32", name=name)

    def _sequential_input(self, model, config):
        first = config["layers"][0] if config["layers"] else None
        if first is not None and first["class_name"] == "InputLayer":
            return self._input(first["config"])
        return self._input({"name": f"{model.name}_input", "batch_shape": list(model.inputs[0].shape)})

    def _sequential(self, model, config, x):
        for entry in config["layers"]:
            if entry["class_name"] == "InputLayer":
                continue
            x = self._call(model, entry, x)
        return x

    def _functional(self, model, config, inputs):
        layers = {entry["name"]: entry for entry in config["layers"]}
        tensors = {}
        for history, tensor in zip(_histories(config["input_layers"]), inputs):
            tensors[(history[0], history[1])] = [tensor]

        def resolve(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                name, node, index = value["config"]["keras_history"]
                return output_of(name, node)[index]
            if isinstance(value, (list, tuple)):
                return [resolve(v) for v in value]
            return value

        def output_of(name, node):
            if (name, node) not in tensors:
                entry = layers[name]
                inbound = entry["inbound_nodes"][node]
                extra = _extra_arguments(inbound)
                if extra:
                    raise BadInputError(
                        f"QAT: layer {name!r} is called with extra arguments ({extra}); the "
                        f"Keras 2 bridge supports plain calls only; {_FALLBACK}"
                    )
                out = self._call(model, entry, resolve(inbound["args"][0]))
                tensors[(name, node)] = out if isinstance(out, list) else [out]
            return tensors[(name, node)]

        return [output_of(h[0], h[1])[h[2]] for h in _histories(config["output_layers"])]

    def _call(self, model, entry, x):
        source = model.get_layer(entry["config"]["name"])
        if entry["class_name"] in MODEL_CLASSES:
            inner = entry["config"]
            if entry["class_name"] == "Sequential":
                return self._sequential(source, inner, x)
            outs = self._functional(source, inner, x if isinstance(x, list) else [x])
            return _single(outs)
        layer = self._layer(source, entry, model.name)
        return layer(x)

    def _layer(self, source, entry, scope: str):
        """The tf_keras twin of Keras 3 layer `source` (made once: shared layers stay shared)."""
        if id(source) in self.made:
            return self.made[id(source)][1]
        class_name = entry["class_name"]
        cls = getattr(self.tfk.layers, class_name)
        config = _translate(entry["config"], cls, class_name)
        config["name"] = self._unique(config["name"], scope)
        try:
            layer = cls.from_config(config)
        except (TypeError, ValueError) as exc:
            raise BadInputError(
                f"QAT: layer {entry['config']['name']!r} ({class_name}) cannot be rebuilt in "
                f"Keras 2: {one_line(str(exc), 200)}; {_FALLBACK}"
            ) from exc
        self.made[id(source)] = (source, layer)
        return layer

    def _unique(self, name: str, scope: str) -> str:
        candidate = name
        while candidate in self.names:
            candidate = f"{scope}_{candidate}" if scope and not candidate.startswith(f"{scope}_") else f"{candidate}_"
        self.names.add(candidate)
        return candidate

    def copy_weights(self) -> None:
        for source, layer in self.made.values():
            weights = source.get_weights()
            shapes = [tuple(w.shape) for w in layer.get_weights()]
            if shapes != [tuple(w.shape) for w in weights]:
                raise BadInputError(
                    f"QAT: layer {source.name!r} has weights of shapes "
                    f"{[tuple(w.shape) for w in weights]} in Keras 3 but {shapes} in Keras 2; "
                    f"{_FALLBACK}"
                )
            layer.set_weights(weights)


def _extra_arguments(inbound: dict) -> list[str]:
    """Call arguments besides the inputs. `training` is ignored: Keras 3 records the value it
    saw while building the graph, and both Keras versions pass the call-time flag instead."""
    extra = [f"argument {i + 1}" for i in range(1, len(inbound.get("args") or ()))]
    kwargs = inbound.get("kwargs") or {}
    return extra + sorted(k for k, v in kwargs.items() if k != "training" and v is not None)


def _histories(value) -> list:
    """Keras stores one [name, node, index] or a list of them; always a list of them."""
    if value and isinstance(value[0], str):
        return [value]
    return list(value)


def _single(values):
    return values[0] if isinstance(values, list) and len(values) == 1 else values


def _translate(config: dict, cls, class_name: str) -> dict:
    """A Keras 3 layer config in the form the Keras 2 class `cls` takes.

    Keys Keras 2 lacks are dropped when they hold an inactive value (None, False, empty),
    and refused otherwise: a setting that changes the computation is never dropped silently."""
    accepted = _accepted_keys(cls)
    name = config.get("name", "?")
    out = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype_name(value, name)
        elif isinstance(value, dict) and "class_name" in value:
            value = _translate_object(value, name, key)
        if key not in accepted:
            if value is None or value is False or (isinstance(value, (list, dict)) and not value):
                continue
            raise BadInputError(
                f"QAT: layer {name!r} ({class_name}) sets {key}={value!r}, which Keras 2 has no "
                f"equivalent for; {_FALLBACK}"
            )
        out[key] = value
    return out


def _accepted_keys(cls) -> set[str]:
    keys = set(_BASE_LAYER_KEYS)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            keys |= {p for p in inspect.signature(init).parameters if p not in ("self", "args", "kwargs")}
    return keys


def _dtype_name(value, layer_name: str) -> str:
    """A Keras 3 DTypePolicy (or plain string) as the float32 dtype string Keras 2 takes."""
    if isinstance(value, dict):
        value = value.get("config", {}).get("name")
    if value not in (None, "float32"):
        raise BadInputError(
            f"QAT: layer {layer_name!r} computes in {value}; quantization-aware training needs "
            "a float32 model; set the model's dtype policy to float32 and save it again"
        )
    return "float32"


def _translate_object(value: dict, layer_name: str, key: str) -> dict:
    """An initializer/regularizer/constraint: {"class_name", "config"} with None options dropped."""
    registered = value.get("registered_name")
    if registered not in (None, value["class_name"]) or not str(value.get("module") or "keras").startswith("keras"):
        raise BadInputError(
            f"QAT: layer {layer_name!r} uses a custom {key} ({registered or value['class_name']}), "
            f"which the Keras 2 bridge does not translate; {_FALLBACK}"
        )
    config = {k: v for k, v in (value.get("config") or {}).items() if v is not None}
    return {"class_name": value["class_name"], "config": config}
