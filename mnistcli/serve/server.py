"""`mnistcli serve`: the run loaded, the socket bound (so a taken port is one line), then Uvicorn serving the app."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from mnistcli.errors import MnistcliError
from mnistcli.serve.guards import LOOPBACK_NAMES, MAX_BODY
from mnistcli.runs.rundir import shown
from mnistcli.serve.runs import Catalog, describe

#: At most this many requests are handled at once; more get 503 at once instead of queueing unbounded bodies.
MAX_CONCURRENT = 64


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port); MnistcliError in one line if it cannot be had.

    It listens at once, so connections made as soon as the URL is printed wait in its backlog until Uvicorn runs.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise MnistcliError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = " - choose another with --port (or --port 0 for any free one)" if exc.errno == 98 else ""
        raise MnistcliError(f"cannot listen on {host}:{port} ({exc.strerror}){hint}") from None
    return sock


class Server:
    """A run loaded and a socket bound; `run()` serves until Ctrl-C or SIGTERM."""

    def __init__(
        self, run: str | Path | None = None, host: str = "127.0.0.1", port: int = 8000, max_body: int = MAX_BODY,
        any_dataset: bool = False,
    ):
        from mnistcli.serve.app import create_app

        self.socket = bind(host, port)  # first: a taken port is said at once, not after loading the model
        try:
            self.catalog = Catalog(run, any_dataset=any_dataset)
        except BaseException:
            self.socket.close()
            raise
        self.host = host
        self.port = self.socket.getsockname()[1]
        local = is_loopback(host)
        self.app = create_app(self.catalog, max_body=max_body, hosts=tuple({*LOOPBACK_NAMES, host}) if local else None)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
        self.url = f"http://{shown_host}:{self.port}/"

    @property
    def info(self) -> dict:
        """What the terminal shows: where to point a browser, the run reading, and whether others can reach it."""
        return {
            "url": self.url,
            "docs": self.url + "docs",
            "host": self.host,
            "port": self.port,
            "every_interface": self.host in ("0.0.0.0", "::"),
            "public": not is_loopback(self.host),
            "run": describe(self.catalog.default),
            "run_dir": shown(self.catalog.default.reader.run),
        }

    def run(self) -> str:
        """Serve until stopped; returns how it stopped."""
        import uvicorn

        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", limit_concurrency=MAX_CONCURRENT,
            server_header=False,
        )
        try:
            uvicorn.Server(config).run(sockets=[self.socket])
        except KeyboardInterrupt:  # Uvicorn shuts down gracefully, then raises the signal it caught again
            return "stopped (Ctrl-C)"
        finally:
            self.socket.close()
        return "stopped"
