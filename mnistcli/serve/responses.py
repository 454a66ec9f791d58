"""The server's answers to mistakes: one JSON object, {"error": "one line"}, with a 4xx (or 5xx) status."""

from __future__ import annotations

from starlette.responses import JSONResponse

from mnistcli.errors import one_line


def error_response(status: int, message: str | BaseException, headers: dict | None = None) -> JSONResponse:
    """{"error": message} on one line (JSON has no line breaks of its own; the message is folded to one line)."""
    text = one_line(message) if isinstance(message, BaseException) else " ".join(str(message).split())
    return JSONResponse({"error": text}, status_code=status, headers=headers)
