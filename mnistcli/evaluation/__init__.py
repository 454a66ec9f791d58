"""The evaluation layer: metrics from labels, scoring a model on a test set, and the `evaluate` verb's work."""
