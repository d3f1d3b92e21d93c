"""Named quantization recipes: the same names on the CLI, in the Python API and in manifests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import UsageError

# name -> (weights, activations, allowed I/O types, default I/O type)
_TABLE = {
    "float32": ("float32", "float32", ("float32",), "float32"),
    "dynamic": ("int8", "float32 (dynamic-range)", ("float32",), "float32"),
    "float16": ("float16", "float32", ("float32",), "float32"),
    "int8": ("int8", "int8", ("int8", "uint8", "float32"), "int8"),
    "int16x8": ("int8", "int16", ("int16", "float32"), "int16"),
}

RECIPE_NAMES: tuple[str, ...] = tuple(_TABLE)
PTQ_RECIPES = RECIPE_NAMES


@dataclass(frozen=True)
class Recipe:
    """A post-training quantization recipe. `io` is the dtype of the model's inputs/outputs."""

    name: str
    io: str = ""
    weights: str = field(init=False)
    activations: str = field(init=False)

    def __post_init__(self):
        if self.name not in _TABLE:
            raise UsageError(
                f"unknown recipe {self.name!r}; allowed: {', '.join(RECIPE_NAMES)}"
            )
        weights, activations, allowed_io, default_io = _TABLE[self.name]
        io = self.io or default_io
        if io not in allowed_io:
            raise UsageError(
                f"recipe {self.name} cannot have {io} inputs/outputs; allowed for {self.name}: "
                f"{', '.join(allowed_io)}"
            )
        object.__setattr__(self, "io", io)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "activations", activations)

    @property
    def needs_calibration(self) -> bool:
        """int8 and int16x8 quantize activations, so they need representative inputs."""
        return self.name in ("int8", "int16x8")

    @property
    def io_choices(self) -> tuple[str, ...]:
        return _TABLE[self.name][2]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        unknown = set(data) - {"name", "io", "weights", "activations"}
        if unknown:
            raise UsageError(f"unknown recipe keys {sorted(unknown)}; allowed: name, io")
        return cls(name=data["name"], io=data.get("io", ""))


def resolve_recipes(names, io: str | None = None) -> list[Recipe]:
    """Recipes for the names asked for, in table order. `io` applies where a recipe allows it."""
    names = list(dict.fromkeys(names))
    if not names:
        raise UsageError(
            "no recipe chosen; pass one or more of --float32 --dynamic --float16 --int8 "
            "--int16x8, or --all"
        )
    recipes = [Recipe(name) for name in RECIPE_NAMES if name in names]
    unknown = [n for n in names if n not in _TABLE]
    if unknown:
        raise UsageError(f"unknown recipe {unknown[0]!r}; allowed: {', '.join(RECIPE_NAMES)}")
    if io is None:
        return recipes
    takers = [r for r in recipes if len(r.io_choices) > 1]
    if not takers:
        raise UsageError(
            f"--io {io} applies only to int8 (int8, uint8, float32) and int16x8 (int16, "
            f"float32); the recipes chosen ({', '.join(names)}) always have float32 I/O"
        )
    return [Recipe(r.name, io) if r in takers else r for r in recipes]
