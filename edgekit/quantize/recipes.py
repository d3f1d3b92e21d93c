"""Named quantization recipes: the same names on the CLI, in the Python API and in manifests.

`RECIPE_NAMES` are the post-training recipes every engine makes for every model (what `--all`
converts); `QUANTIZER_RECIPES` are the weight-only and blockwise recipes that only LiteRT
Quantizer makes (for Keras models too, from the float32 .tflite), chosen by name; `qat-int8`
is the one recipe that needs fine-tuning first (`--qat`, see `edgekit.quantize.qat`)."""

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
    # LiteRT Quantizer only: weights stored small, dequantized for float compute (weight-only),
    # or int4 in blocks of 32 values with float16 scales, computed dynamic-range (blockwise).
    "weight-only-int8": ("int8", "float32", ("float32",), "float32"),
    "weight-only-int4": ("int4", "float32", ("float32",), "float32"),
    "blockwise-int4": ("int4 (blocks of 32)", "float32 (dynamic-range)", ("float32",), "float32"),
}

QAT_RECIPES: tuple[str, ...] = ("qat-int8",)
QUANTIZER_RECIPES: tuple[str, ...] = ("weight-only-int8", "weight-only-int4", "blockwise-int4")
RECIPE_NAMES: tuple[str, ...] = tuple(name for name in _TABLE if name not in QAT_RECIPES + QUANTIZER_RECIPES)
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
    def quantizer_only(self) -> bool:
        """Made by LiteRT Quantizer only (the TFLite converter has no such recipe)."""
        return self.name in QUANTIZER_RECIPES

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


def recipes_from_flags(names, all_recipes: bool = False, qat: bool = False, io: str | None = None) -> list[Recipe]:
    """Recipes from the recipe switches of `convert`: names, or every post-training recipe
    (`all_recipes`, which weight-only and blockwise recipes may join by name), plus qat-int8
    with `qat`."""
    overlap = [n for n in names if n in RECIPE_NAMES]
    if all_recipes and overlap:
        raise UsageError(
            f"`all_recipes` already includes every post-training recipe ({', '.join(RECIPE_NAMES)}); pass it or "
            f"name recipes, not both (only {', '.join(QUANTIZER_RECIPES)} may be added to it by name)"
        )
    chosen = (list(RECIPE_NAMES) if all_recipes else []) + list(names)
    return resolve_recipes(chosen + (["qat-int8"] if qat else []), io)


def resolve_recipes(names, io: str | None = None) -> list[Recipe]:
    """Recipes for the names asked for, in table order. `io` applies where a recipe allows it."""
    names = list(dict.fromkeys(names))
    if not names:
        raise UsageError(f"no recipe chosen; choose `recipes` from {', '.join(ALL_RECIPES)}")
    unknown = [n for n in names if n not in _TABLE]
    if unknown:
        raise UsageError(f"unknown recipe {unknown[0]!r}; allowed: {', '.join(ALL_RECIPES)}")
    recipes = [Recipe(name) for name in ALL_RECIPES if name in names]
    if io is None:
        return recipes
    takers = [r for r in recipes if len(r.io_choices) > 1]
    if not takers:
        raise UsageError(
            f"`io` {io} applies only to int8 and qat-int8 (int8, uint8, float32) and int16x8 "
            f"(int16, float32); the recipes chosen ({', '.join(names)}) always have float32 I/O"
        )
    return [Recipe(r.name, io) if r in takers else r for r in recipes]
