"""The model layer: the family registry, one module per family, and safe loading of saved models."""
