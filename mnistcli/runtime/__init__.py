"""TensorFlow and Keras at run time: the quiet, lean import, and the measured workarounds for their internals."""
