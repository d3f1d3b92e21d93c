"""Quantization recipes, quantization-aware training, per-layer error and selective int8."""

from .recipes import (
    ALL_RECIPES, QAT_RECIPES, QUANTIZER_RECIPES, RECIPE_NAMES, Recipe, recipes_from_flags, resolve_recipes,
)

__all__ = ["ALL_RECIPES", "QAT_RECIPES", "QUANTIZER_RECIPES", "RECIPE_NAMES", "Recipe", "recipes_from_flags", "resolve_recipes"]
