"""The page's files and Swagger UI's, served from fixed tables by name: no path from a request reaches the file system."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

#: The page (this package's page/ folder): name -> media type. Nothing else is served from there.
PAGE = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

#: Swagger UI for /docs, from the fastapi-offline package (FastAPI's own /docs would fetch it from a CDN).
DOCS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def page_file(name: str) -> tuple[bytes, str] | None:
    """One of the page's files and its media type; None for any name not in PAGE."""
    return (_read("mnistcli.serve", "page", name), PAGE[name]) if name in PAGE else None


def docs_file(name: str) -> tuple[bytes, str] | None:
    """One of Swagger UI's files and its media type; None for any name not in DOCS."""
    return (_read("fastapi_offline", "static", name), DOCS[name]) if name in DOCS else None


@cache  # only ever called with the tables' names, so the cache holds at most those files
def _read(package: str, folder: str, name: str) -> bytes:
    return files(package).joinpath(folder, name).read_bytes()
