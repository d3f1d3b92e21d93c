"""edgekit: a trained Keras model to an edge device, with every number measured."""

__version__ = "0.1.0"

from .errors import EdgekitError  # noqa: E402

__all__ = ["EdgekitError", "__version__"]
