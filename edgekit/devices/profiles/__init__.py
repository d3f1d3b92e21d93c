"""Device profiles: defaults and checks per kind of board, one TOML file each in this folder.

    from edgekit.devices.profiles import load_profile
    profile = load_profile("raspberrypi")     # Profile(threads=4, backend="litert", ...)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources

from ...errors import BadInputError, UsageError
from .._toml import parse_toml

KEYS = ("name", "description", "machine", "threads", "backend", "check_governor", "check_throttling")
BACKENDS = ("auto", "litert", "tflite-runtime", "tf")


@dataclass(frozen=True)
class Profile:
    """What edgekit assumes about a kind of device (see raspberrypi.toml for each field)."""

    name: str
    description: str = ""
    machine: str | None = None
    threads: int | None = None
    backend: str = "auto"
    check_governor: bool = False
    check_throttling: bool = False

    def __post_init__(self):
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1):
            raise BadInputError(f"profile {self.name}: threads must be a positive whole number; received {self.threads!r}")
        if self.backend not in BACKENDS:
            raise BadInputError(f"profile {self.name}: backend {self.backend!r} is not one of {', '.join(BACKENDS)}")

    def to_dict(self) -> dict:
        return asdict(self)


def available_profiles() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> Profile:
    """The profile `name` (a file NAME.toml in this folder)."""
    names = available_profiles()
    if name not in names:
        raise UsageError(f"unknown device profile {name!r}; available profiles: {', '.join(names)}")
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = parse_toml(text, f"profile {name}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise BadInputError(f"profile {name}: unknown keys {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    return Profile(**data)
