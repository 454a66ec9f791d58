"""The server's API without a browser: readings equal `predict --json` rows, runs are picked by id, every bad request
gets a one-line JSON 4xx and the server goes on serving, the page needs nothing from elsewhere."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mnistcli.inference.predict import json_row, predict_files
from mnistcli.serve.app import create_app
from mnistcli.serve.runs import Catalog

from serving import digit_png, serve_root, tiny_test_digits  # noqa: F401 - fixtures

NEWEST, SOFTMAX = "2026-01-02/10-00-00-000000_hidden128", "2026-01-02/09-00-00-000000_softmax"


@pytest.fixture(scope="module")
def catalog(serve_root) -> Catalog:
    return Catalog(root=serve_root / "outputs")


@pytest.fixture(scope="module")
def client(catalog) -> TestClient:
    return TestClient(create_app(catalog, max_body=1024 * 1024))


def png_of_size(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims width x height pixels (what a decompression bomb looks like)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def assert_one_line_error(response, status: int, says: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "\n" not in response.text and list(response.json()) == ["error"], response.text
    assert says in response.json()["error"], response.text


def test_health_and_runs(client):
    health = client.get("/api/health").json()
    assert health == {"status": "ok", "version": health["version"], "run": NEWEST, "backend": "litert"}
    runs = client.get("/api/runs")
    listing = runs.json()
    assert listing["default"] == NEWEST
    assert {r["id"] for r in listing["runs"]} == {NEWEST, SOFTMAX}
    first = next(r for r in listing["runs"] if r["id"] == NEWEST)
    assert first["model"] == "hidden128" and first["dataset"] == "mnist" and 0.5 < first["test_accuracy"] <= 1
    assert "run_dir" not in runs.text and "/tmp" not in runs.text  # ids, never the machine's folders


def test_readings_are_predict_json_rows(client, catalog, tiny_test_digits, tmp_path):
    """Forty test digits as PNGs, raw and multipart: the same answers as `mnistcli predict` on the same files."""
    images, labels = tiny_test_digits
    files = []
    for i in range(40):
        path = tmp_path / f"digit{i:02d}.png"
        path.write_bytes(digit_png(images[i]))
        files.append(str(path))
    expected = predict_files(files, catalog.default.reader.run)["results"]
    right = 0
    for i, (path, want) in enumerate(zip(files, expected)):
        data = open(path, "rb").read()
        if i % 2:
            response = client.post("/api/predict", content=data, headers={"Content-Type": "image/png"})
            name = "upload"
        else:
            response = client.post("/api/predict", files={"image": (f"photos/{i}.png", data, "image/png")})
            name = f"{i}.png"
        assert response.status_code == 200, response.text
        row = response.json()
        want = {**json_row(want), "file": name, "run": {**want["run"], "dir": catalog.default.id}}  # an id, not a path
        assert row == json.loads(json.dumps(want))
        right += row["digit"] == str(labels[i])
    assert right >= 32  # the tiny hidden128 run reads ~90% of the test set


def test_inputs_are_what_the_model_saw(client, catalog, tiny_test_digits):
    data = digit_png(tiny_test_digits[0][3])
    row = client.post("/api/predict?inputs=true", content=data, headers={"Content-Type": "image/png"}).json()
    reading = catalog.default.reader.read_bytes(data, "upload")
    seen = np.asarray(row["inputs"])
    assert seen.shape == (1, 28, 28) and seen.dtype.kind == "i" and 0 <= seen.min() and seen.max() <= 255
    assert np.abs(seen[0] / 255 - reading["pixels"]).max() <= 0.5 / 255 + 1e-6


def test_a_run_is_picked_by_its_id(client, catalog, tiny_test_digits):
    data = digit_png(tiny_test_digits[0][5])
    row = client.post(f"/api/predict?run={SOFTMAX}", content=data, headers={"Content-Type": "image/png"}).json()
    softmax = catalog.served(SOFTMAX).reader.read_bytes(data, "upload")
    assert row["probabilities"] == softmax["probabilities"]
    assert row["probabilities"] != catalog.default.reader.read_bytes(data, "upload")["probabilities"]


BAD = [  # (what, body, content type, status, words of the message)
    ("garbage", b"this is not an image at all", "image/png", 422, "not an image"),
    ("truncated PNG", None, "image/png", 422, "truncated or corrupt"),
    ("decompression bomb", png_of_size(60_000, 60_000), "image/png", 422, "image too large"),
    ("blank image", "blank", "image/png", 422, "upload:"),
    ("empty body", b"", "image/png", 400, "empty"),
    ("text", b"hello", "text/plain", 415, "Content-Type text/plain is not an image"),
    ("JSON", b'{"image": 1}', "application/json", 415, "not an image"),
    ("form fields", b"image=1", "application/x-www-form-urlencoded", 415, "not an image"),
]


@pytest.mark.parametrize("what, body, kind, status, says", BAD, ids=[b[0] for b in BAD])
def test_bad_bodies_get_one_line_json_errors(client, tiny_test_digits, what, body, kind, status, says):
    if body is None:
        body = digit_png(tiny_test_digits[0][0])[:200]
    elif body == "blank":
        body = digit_png(np.zeros((28, 28), np.uint8))
    assert_one_line_error(client.post("/api/predict", content=body, headers={"Content-Type": kind}), status, says)
    assert client.get("/api/health").status_code == 200  # still serving


def test_bad_requests_get_one_line_json_errors(client, catalog, tiny_test_digits):
    png = digit_png(tiny_test_digits[0][0])
    cases = [
        (client.post("/api/predict", files={"photo": ("a.png", png, "image/png")}), 400, "no file field 'image'"),
        (client.post("/api/predict", files=[("image", ("a.png", png, "image/png")), ("image", ("b.png", png, "image/png"))]),
         400, "Too many files"),
        (client.post("/api/predict", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}), 400, ""),
        (client.post("/api/predict?run=no-such-run", content=png), 404, "no completed run with id 'no-such-run'"),
        (client.post("/api/predict?run=../../etc/passwd", content=png), 404, "no completed run"),
        (client.post(f"/api/predict?run={catalog.root.resolve()}/{NEWEST}", content=png), 404, ""),
        (client.post("/api/predict?inputs=maybe", content=png), 422, "inputs:"),
        (client.get("/api/predict"), 405, ""),
        (client.get("/no/such/page"), 404, ""),
        (client.get("/page/../pyproject.toml"), 404, ""),
        (client.get("/page/%2e%2e%2f%2e%2e%2fpyproject.toml"), 404, ""),
        (client.get("/page/app.py"), 404, ""),
        (client.get("/docs-assets/../core.py"), 404, ""),
    ]
    for response, status, says in cases:
        assert_one_line_error(response, status, says)
    assert client.post("/api/predict", content=png).status_code == 200  # still serving, and no Content-Type is fine


def test_bodies_over_the_limit_get_413(client):
    big = b"\x89PNG" + b"\x00" * (1024 * 1024 + 10)  # the client's limit is 1 MB
    assert_one_line_error(client.post("/api/predict", content=big, headers={"Content-Type": "image/png"}), 413, "1 MB")

    def chunks():  # no Content-Length: refused when the bytes received pass the limit
        for _ in range(40):
            yield b"\x00" * 65536

    assert_one_line_error(client.post("/api/predict", content=chunks(), headers={"Content-Type": "image/png"}), 413)
    assert_one_line_error(client.post("/api/predict", files={"image": ("big.png", big, "image/png")}), 413)
    assert client.get("/api/health").status_code == 200


def test_only_loopback_host_names_are_answered(catalog):
    local = TestClient(create_app(catalog, hosts=("localhost", "127.0.0.1", "::1")), base_url="http://127.0.0.1:8000")
    assert local.get("/api/health").status_code == 200
    assert local.get("/api/health", headers={"Host": "localhost:8000"}).status_code == 200
    assert local.get("/api/health", headers={"Host": "[::1]:8000"}).status_code == 200
    assert_one_line_error(local.get("/api/health", headers={"Host": "attacker.example:8000"}), 400, "attacker.example")


def test_no_cors_by_default(client):
    asked = client.options("/api/predict", headers={"Origin": "https://elsewhere.example",
                                                    "Access-Control-Request-Method": "POST"})
    answered = client.get("/api/runs", headers={"Origin": "https://elsewhere.example"})
    for response in (asked, answered):
        assert not any(h.lower().startswith("access-control-") for h in response.headers), response.headers


def test_the_page_needs_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    for needed in ('<canvas id="pad"', 'id="clear"', 'id="undo"', 'id="result"', 'id="run"', 'type="file"'):
        assert needed in html
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links and all(link.startswith("/") and not link.startswith("//") for link in links), links
    for link in links:
        assert client.get(link).status_code == 200, link
    for name in ("app.js", "app.css"):
        text = client.get(f"/page/{name}").text
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text), name
    docs = client.get("/docs").text
    assets = re.findall(r"""['"](/docs-assets/[^'"]+)['"]""", docs)
    assert len(assets) == 3 and "cdn" not in docs.lower()
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["paths"]["/api/predict"]["post"]["requestBody"]["content"]


def test_serving_a_litert_run_never_imports_tensorflow(serve_root, tiny_test_digits, tmp_path):
    png = tmp_path / "seven.png"
    png.write_bytes(digit_png(tiny_test_digits[0][0]))
    code = f"""
import sys
from fastapi.testclient import TestClient
from mnistcli.serve.app import create_app
from mnistcli.serve.runs import Catalog
client = TestClient(create_app(Catalog(root={str(serve_root / "outputs")!r})))
assert client.get("/").status_code == 200 and client.get("/api/runs").status_code == 200
row = client.post("/api/predict", content=open({str(png)!r}, "rb").read()).json()
print(row["digit"], "tensorflow" in sys.modules, "keras" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["False", "False"], result.stdout


def test_the_page_ships_in_the_wheel():
    """Every file of the page is served (and nothing else), and pyproject ships them as package data."""
    import tomllib

    from mnistcli.serve import assets

    folder = Path(assets.__file__).parent / "page"
    assert {p.name for p in folder.iterdir()} == set(assets.PAGE)
    setuptools = tomllib.loads((Path(assets.__file__).parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "mnistcli.serve" in setuptools["packages"]
    assert setuptools["package-data"]["mnistcli.serve"] == ["page/*"]


def test_a_number_reading_keeps_its_keys_and_hides_the_run_folder():
    """A reading of several digits (issue 12's shape) keeps every JSON key; its arrays go, or become `inputs`."""
    from mnistcli.serve.rows import api_row

    digits = [{"digit": "1", "confidence": 0.9, "box": [0, 0, 5, 20]}, {"digit": "0", "confidence": 0.8, "box": [8, 0, 20, 20]}]
    reading = {"number": "10", "confidence": 0.72, "low_confidence": False, "digits": digits,
               "run": {"dir": "/home/someone/outputs/x", "model": "cnn"}, "inputs": np.zeros((2, 28, 28), np.float32),
               "thumbnail": np.zeros((5, 5)), "thumb_scale": (1.0, 1.0)}
    row = api_row(reading, "upload", "2026-01-02/x")
    assert row == {"file": "upload", "number": "10", "confidence": 0.72, "low_confidence": False, "digits": digits,
                   "run": {"dir": "2026-01-02/x", "model": "cnn"}}
    assert np.asarray(api_row(reading, "upload", "2026-01-02/x", with_inputs=True)["inputs"]).shape == (2, 28, 28)
