"""Named quantization recipes: the same names on the CLI, in the Python API and in manifests.

`RECIPE_NAMES` are the post-training recipes (what `--all` converts); `qat-int8` is the one
recipe that needs fine-tuning first (`--qat`, see `edgekit.quantize.qat`)."""

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
    "qat-int8": ("int8", "int8 (ranges learned in fine-tuning)", ("int8", "uint8", "float32"), "int8"),
}

QAT_RECIPES: tuple[str, ...] = ("qat-int8",)
RECIPE_NAMES: tuple[str, ...] = tuple(name for name in _TABLE if name not in QAT_RECIPES)
PTQ_RECIPES = RECIPE_NAMES
ALL_RECIPES: tuple[str, ...] = tuple(_TABLE)


@dataclass(frozen=True)
class Recipe:
    """A quantization recipe. `io` is the dtype of the model's inputs/outputs."""

    name: str
    io: str = ""
    weights: str = field(init=False)
    activations: str = field(init=False)

    def __post_init__(self):
        if self.name not in _TABLE:
            raise UsageError(
                f"unknown recipe {self.name!r}; allowed: {', '.join(ALL_RECIPES)}"
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
    def needs_training(self) -> bool:
        """qat-int8 converts a model fine-tuned with fake quantization (needs training data)."""
        return self.name in QAT_RECIPES

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
            "--int16x8 --qat, or --all"
        )
    unknown = [n for n in names if n not in _TABLE]
    if unknown:
        raise UsageError(f"unknown recipe {unknown[0]!r}; allowed: {', '.join(ALL_RECIPES)}")
    recipes = [Recipe(name) for name in ALL_RECIPES if name in names]
    if io is None:
        return recipes
    takers = [r for r in recipes if len(r.io_choices) > 1]
    if not takers:
        raise UsageError(
            f"--io {io} applies only to int8 and qat-int8 (int8, uint8, float32) and int16x8 "
            f"(int16, float32); the recipes chosen ({', '.join(names)}) always have float32 I/O"
        )
    return [Recipe(r.name, io) if r in takers else r for r in recipes]
