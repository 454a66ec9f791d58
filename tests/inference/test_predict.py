"""predict: real digits re-drawn the way people deliver them read the same as their originals, fast path
and Keras path agree, and bad files are reported one by one."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mnistcli.cli.app import app
from mnistcli.inference.predict import predict_files

runner = CliRunner()


def _test_digits(tiny_mnist, n=60):
    raw = gzip.open(tiny_mnist / "t10k-images-idx3-ubyte.gz").read()[16:]
    return np.frombuffer(raw, np.uint8).reshape(-1, 28, 28)[:n]


def _redraw(digit: np.ndarray, kind: str, i: int, folder) -> str:
    """One MNIST digit as a user might hand it over: big, dark ink on paper, off-centre, odd modes."""
    big = Image.fromarray(255 - digit).resize((252, 252), Image.LANCZOS)
    canvas = Image.new("L", (400, 520), 245)
    canvas.paste(big, (20 + (i * 37) % 120, 40 + (i * 53) % 200))
    path = folder / f"{kind}_{i}.png"
    if kind == "rgba":  # dark ink on a transparent background
        ink = 255 - np.asarray(canvas)
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., 3] = ink
        Image.fromarray(rgba, "RGBA").save(path)
    elif kind == "palette":
        canvas.convert("RGB").convert("P", palette=Image.ADAPTIVE, colors=16).save(path)
    elif kind == "light_on_dark":
        Image.fromarray(255 - np.asarray(canvas)).save(path)
    elif kind == "jpeg":
        path = path.with_suffix(".jpg")
        canvas.convert("RGB").save(path, quality=85)
    else:
        canvas.save(path)
    return str(path)


@pytest.mark.parametrize("kind", ["plain", "rgba", "palette", "light_on_dark", "jpeg"])
def test_redrawn_digits_read_like_their_originals(trained_run, tiny_mnist, tmp_path, kind):
    from mnistcli.inference.classifier import load_classifier

    digits = _test_digits(tiny_mnist)
    classify, _ = load_classifier(trained_run)
    originals = classify(digits.astype(np.float32) / 255).argmax(axis=1)
    files = [_redraw(d, kind, i, tmp_path) for i, d in enumerate(digits)]
    result = predict_files(files, trained_run)
    read = [int(r["digit"]) for r in result["results"]]
    agreement = np.mean(np.array(read) == originals)
    assert agreement >= 0.95, f"{kind}: {agreement:.0%} of re-drawn digits read like the originals"


def test_litert_and_keras_give_the_same_predictions(trained_run, tiny_mnist, tmp_path):
    files = [_redraw(d, "plain", i, tmp_path) for i, d in enumerate(_test_digits(tiny_mnist, 20))]
    fast = predict_files(files, trained_run, backend="litert")
    slow = predict_files(files, trained_run, backend="keras")
    assert fast["backend"] == "litert" and slow["backend"] == "keras"
    for a, b in zip(fast["results"], slow["results"]):
        assert a["digit"] == b["digit"]
        np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-4)


def test_predict_does_not_import_tensorflow(trained_run, tiny_mnist, tmp_path):
    file = _redraw(_test_digits(tiny_mnist, 1)[0], "plain", 0, tmp_path)
    code = (
        "import sys; from mnistcli.inference.predict import predict_files; "
        f"r = predict_files([{file!r}], {str(trained_run)!r}); "
        "assert r['backend'] == 'litert', r['backend']; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_json_output_and_bad_files(trained_run, tiny_mnist, tmp_path):
    good = _redraw(_test_digits(tiny_mnist, 1)[0], "plain", 0, tmp_path)
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    png = (tmp_path / "plain_0.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    (tmp_path / "nothing").mkdir()
    result = runner.invoke(app, ["predict", str(tmp_path), str(tmp_path / "nothing"), "--run", str(trained_run), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    by_name = {r["file"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_name[good.rsplit("/", 1)[-1]]["digit"] in "0123456789"
    ok = by_name[good.rsplit("/", 1)[-1]]
    assert set(ok) >= {"file", "digit", "confidence", "probabilities"} and len(ok["probabilities"]) == 10
    for bad in ("notes.png", "empty.png", "truncated.png", "blank.png", "nothing"):
        assert "error" in by_name[bad], bad
    assert "Traceback" not in result.output


def test_rich_output_shows_top_k_and_drawing(trained_run, tiny_mnist, tmp_path):
    file = _redraw(_test_digits(tiny_mnist, 1)[0], "plain", 0, tmp_path)
    result = runner.invoke(app, ["predict", file, "--run", str(trained_run), "--top", "2", "--show"])
    assert result.exit_code == 0, result.output
    assert result.output.count("%") >= 3  # the answer and two bars
    assert "█" in result.output and len(result.output.splitlines()) > 28


@pytest.mark.parametrize(
    "args,needle",
    [
        (["predict", "x.png", "--run", "no/such/run"], "does not exist"),
        (["predict", "x.png", "--backend", "gpu"], "--backend must be"),
    ],
)
def test_predict_bad_arguments(workdir, args, needle):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def test_predict_without_any_run(workdir, tmp_path):
    Image.new("L", (10, 10)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "a.png")])
    assert result.exit_code == 2 and "no trained runs" in result.output
