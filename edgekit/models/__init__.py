"""Loading models: .keras, legacy .h5 and SavedModel folders, with static input shapes."""

from .load import InputSpec, SourceModel, load_custom_objects, load_model, parse_shape

__all__ = ["InputSpec", "SourceModel", "load_custom_objects", "load_model", "parse_shape"]
