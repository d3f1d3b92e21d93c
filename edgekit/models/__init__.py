"""Loading models: .keras/.h5/SavedModel (Keras), float .tflite files and PyTorch .pt2 programs,
each with static input shapes (see `sources` for which is which)."""

from .load import InputSpec, SourceModel, load_custom_objects, load_model, parse_shape
from .sources import check_extras, load_source_model, source_format
from .tflite_source import FloatTfliteSource, load_tflite_source
from .torch_source import TorchSource, load_torch_source

__all__ = ["FloatTfliteSource", "InputSpec", "SourceModel", "TorchSource", "check_extras", "load_custom_objects",
           "load_model", "load_source_model", "load_tflite_source", "load_torch_source", "parse_shape",
           "source_format"]
