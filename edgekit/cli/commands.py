"""Every command, registered on `app` in the order `edgekit --help` lists them."""

from . import train  # noqa: F401  (edgekit train: the pipeline's first stage, listed first)
from . import convert, inspect, bench, edgetpu, devices  # noqa: F401  (order: help listing)
from . import optimize  # noqa: F401  (edgekit optimize, after the commands it builds on)
from . import predict  # noqa: F401,E402  (edgekit predict)
