"""The inference layer: a run's classifier behind one callable (LiteRT or Keras), its export, and reading images."""
