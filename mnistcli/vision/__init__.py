"""The vision layer: a picture of handwriting in, MNIST-like 28x28 digits out (numpy and Pillow; SciPy's ndimage
for finding the digits of a number, in ``segment`` and its ``pieces``, ``lattice``, ``scoring`` only; no TensorFlow)."""
