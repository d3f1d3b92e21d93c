"""Quantization recipes (post-training) and their names."""

from .recipes import RECIPE_NAMES, Recipe, resolve_recipes

__all__ = ["RECIPE_NAMES", "Recipe", "resolve_recipes"]
