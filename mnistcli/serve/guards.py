"""Checks made before any route sees a request: its Host header (no DNS rebinding) and its body's size (413 before
the body is read whole). Both are plain ASGI middleware answering with the API's one-line JSON errors."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mnistcli.serve.responses import error_response

#: The largest request body taken (a phone photo is 2-8 MB; the drawing pad sends a few kB).
MAX_BODY = 10 * 1024 * 1024

class BodyTooLarge(Exception):
    """The bytes received so far passed the limit (a body sent without Content-Length, chunk by chunk)."""

    def __init__(self, limit: int):
        super().__init__(too_large(limit))
        self.limit = limit


def too_large(limit: int) -> str:
    return f"request body over the {limit / 1024 / 1024:g} MB limit - send a smaller image"


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes gets 413 at once when its Content-Length says so (nothing of it
    is read), and otherwise as soon as the bytes received pass the limit (BodyTooLarge, which the app answers)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.limit:
            await error_response(413, too_large(self.limit), {"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)



#: The names a server bound to the loopback interface answers to (a browser sends one of them as Host).
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def host_name(host_header: str) -> str:
    """The host part of a Host header: `[::1]:8000` -> `::1`, `Localhost:80` -> `localhost`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostCheck:
    """ASGI middleware: only requests whose Host header names this machine by a loopback name are answered.

    A web page on another site can make a browser send requests to a name it controls that it then points at
    127.0.0.1 (DNS rebinding); such requests carry that name, not localhost, and get 400 here.
    """

    def __init__(self, app: ASGIApp, names: tuple[str, ...] = LOOPBACK_NAMES):
        self.app = app
        self.names = {n.lower() for n in names}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = host_name(Headers(scope=scope).get("host", ""))
            if host not in self.names:
                shown = host or "(none)"
                message = f"Host {shown} is not a name of this server (it answers to {', '.join(sorted(self.names))})"
                await error_response(400, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
