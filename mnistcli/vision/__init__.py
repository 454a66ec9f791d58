"""The vision layer: a picture of handwriting in, MNIST-like 28x28 digits out (numpy and Pillow only, no TensorFlow)."""
