"""mnistcli: experiment-configurable handwritten-digit recognition from the terminal."""

__version__ = "0.1.0"
