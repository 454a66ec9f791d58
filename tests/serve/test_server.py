"""`mnistcli serve` as a user starts it: it says its URL, answers, refuses a 30 MB body before reading it, loads no
TensorFlow for a LiteRT run, warns when open to the network, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mnistcli.cli.app import app
from serving import LiveServer, digit_png, live_server, serve_root, tiny_test_digits  # noqa: F401 - fixtures


def get(server: LiveServer, path: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_serve_answers_and_reads_five_test_digits(live_server, tiny_test_digits):
    status, health = get(live_server, "/api/health")
    assert status == 200 and health["run"].endswith("_hidden128") and health["backend"] == "litert"
    images, labels = tiny_test_digits
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    read = []
    for i in range(5):
        connection.request("POST", "/api/predict", body=digit_png(images[i]), headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        assert response.status == 200
        read.append(json.loads(response.read())["digit"])
    assert read == [str(d) for d in labels[:5]]


def test_a_30_mb_body_is_refused_before_it_is_sent(live_server):
    """The 413 comes back after the headers alone: the 30 MB are never read (nor even sent)."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 31457280\r\n\r\n\x89PNG"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer
    assert json.loads(body) == {"error": "request body over the 10 MB limit - send a smaller image"}
    assert get(live_server, "/api/health")[0] == 200  # still serving


def test_no_tensorflow_in_the_server(live_server):
    maps = Path(f"/proc/{live_server.process.pid}/maps").read_text()
    assert "litert" in maps.lower() or "tflite" in maps.lower() or "interpreter" in maps.lower()
    assert "libtensorflow" not in maps and "_pywrap_tensorflow_internal" not in maps


def test_ctrl_c_stops_it_cleanly(serve_root):
    server = LiveServer(serve_root, "--run", "best")
    status, health = get(server, "/api/health")
    assert status == 200 and health["run"].endswith("_hidden128")  # the best validation accuracy
    code, out, err = server.stop()
    assert code == 0 and "mnistcli serve: stopped (Ctrl-C)" in out, (out, err)
    assert "Traceback" not in err, err


def test_every_interface_gets_a_warning(serve_root):
    server = LiveServer(serve_root, "--host", "0.0.0.0")
    assert server.url.startswith("http://127.0.0.1:")
    assert get(server, "/api/health")[0] == 200
    code, out, err = server.stop()
    assert "warning: listening on every network interface (0.0.0.0)" in " ".join(err.split()), err


def test_a_taken_port_is_one_line(serve_root, monkeypatch):
    monkeypatch.chdir(serve_root)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    output = result.output.strip()
    assert result.exit_code == 2 and len(output.splitlines()) == 1, output
    assert output == f"error: cannot listen on 127.0.0.1:{port} (Address already in use) - choose another with --port " \
                     "(or --port 0 for any free one)"


@pytest.mark.parametrize("run, says", [("no/such/run", "run folder no/such/run does not exist"),
                                       ("best", "no completed runs trained on mnist under outputs/")])
def test_no_run_to_serve_is_one_line(tmp_path, monkeypatch, run, says):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--run", run, "--port", "0"])
    assert result.exit_code == 2 and result.output.strip().startswith(f"error: {says}"), result.output
