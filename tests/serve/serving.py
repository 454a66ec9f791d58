"""Helpers and fixtures for the server's tests (imported by each test module: a second conftest.py would shadow the
root one's module name): an outputs/ folder with two finished runs, digits as PNG bytes, a live `mnistcli serve`."""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def digit_png(digit: np.ndarray, size: int = 112) -> bytes:
    """An MNIST digit as a person hands it over: bigger, dark ink on white paper, as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(255 - digit).resize((size, size), Image.LANCZOS).save(buffer, "PNG")
    return buffer.getvalue()


class LiveServer:
    """`mnistcli serve` in its own process, as a user starts it (its output goes to files: a full pipe would block it)."""

    def __init__(self, cwd: Path, *args: str, timeout: float = 60):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "300", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        self.out, self.err = cwd / f"serve-{os.getpid()}-{id(self)}.out", cwd / f"serve-{os.getpid()}-{id(self)}.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mnistcli", "serve", "--port", "0", *args], cwd=cwd, env=env, stdout=out, stderr=err,
            )
        deadline = time.monotonic() + timeout
        match = None
        while match is None and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            match = re.search(r"http://[\w.\[\]:]+/", self.out.read_text())
        if match is None:
            code, out, err = self.stop()
            raise AssertionError(f"mnistcli serve did not say where it listens (exit {code}): {out} {err}")
        self.url = match.group(0)
        self.port = int(self.url.rsplit(":", 1)[1].rstrip("/"))

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Stop it as a user does (Ctrl-C); returns its exit code, stdout and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        out, err = self.out.read_text(), self.err.read_text()
        self.out.unlink(missing_ok=True)
        self.err.unlink(missing_ok=True)
        return self.process.returncode, out, err


@pytest.fixture(scope="session")
def serve_root(tmp_path_factory, trained_run, finished_run) -> Path:
    """A working folder whose outputs/ holds the session's hidden128 run (the newest) and a softmax run."""
    root = tmp_path_factory.mktemp("serve")
    for when, run in (("09-00-00-000000_softmax", finished_run), ("10-00-00-000000_hidden128", trained_run)):
        copy = root / "outputs" / "2026-01-02" / when
        shutil.copytree(run, copy)
        stamp = time.mktime((2026, 1, 2, int(when[:2]), 0, 0, 0, 0, -1))
        os.utime(copy / ".hydra", (stamp, stamp))  # the newest run is the default one
    return root


@pytest.fixture(scope="session")
def tiny_test_digits(tiny_mnist) -> tuple[np.ndarray, np.ndarray]:
    """The tiny data set's 1,000 test digits (uint8, 28x28) and their labels."""
    images = gzip.open(tiny_mnist / "t10k-images-idx3-ubyte.gz").read()[16:]
    labels = gzip.open(tiny_mnist / "t10k-labels-idx1-ubyte.gz").read()[8:]
    return np.frombuffer(images, np.uint8).reshape(-1, 28, 28), np.frombuffer(labels, np.uint8)


@pytest.fixture(scope="module")
def live_server(serve_root):
    server = LiveServer(serve_root)
    yield server
    server.stop()
