"""The FastAPI app: the drawing page at /, the reading API under /api, OpenAPI docs at /docs (all served offline)."""

from __future__ import annotations

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from mnistcli import __version__
from mnistcli.errors import MnistcliError
from mnistcli.serve.assets import docs_file, page_file
from mnistcli.serve.body import image_from_request
from mnistcli.serve.guards import MAX_BODY, BodyLimit, BodyTooLarge, HostCheck
from mnistcli.serve.responses import error_response
from mnistcli.serve.rows import api_row
from mnistcli.serve.runs import Catalog, UnknownRun

#: The page loads nothing from elsewhere, runs no inline code and cannot be framed by another site.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

IMAGE_BODY = {  # the request body /api/predict takes, for the OpenAPI docs (the route reads it itself)
    "required": True,
    "content": {
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}}, "required": ["image"]}
        },
    },
}

EXAMPLE_ROW = {"file": "upload", "digit": "7", "confidence": 0.998, "probabilities": [0.0] * 7 + [0.998, 0.001, 0.001],
               "low_confidence": False}


def create_app(catalog: Catalog, *, max_body: int = MAX_BODY, hosts: tuple[str, ...] | None = None) -> FastAPI:
    """The app reading with `catalog`'s runs. `hosts`: the Host names answered (None: any, for a public --host)."""
    app = FastAPI(
        title="mnistcli",
        version=__version__,
        description="Read handwritten digits and numbers with a trained mnistcli run. The page at / draws them.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, limit=max_body)
    if hosts is not None:
        app.add_middleware(HostCheck, names=hosts)  # added last: runs first
    _errors(app)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return _file(page_file("index.html"), PAGE_HEADERS)

    @app.get("/page/{name}", include_in_schema=False)
    def page_asset(name: str) -> Response:
        return _file(page_file(name), PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="mnistcli API", swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/docs-assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        return _file(docs_file(name), {"Cache-Control": "max-age=86400"})

    @app.get("/api/health", summary="Is the server up, and which run reads by default")
    def health() -> dict:
        default = catalog.default
        return {"status": "ok", "version": __version__, "run": default.id, "backend": default.reader.backend}

    @app.get("/api/runs", summary="The runs a request may choose (completed, trained on MNIST), best first")
    def runs() -> dict:
        return {"default": catalog.default.id, "runs": catalog.rows()}

    @app.post(
        "/api/predict",
        summary="Read the digit or number in an image",
        description=(
            "The image is the raw body (any image/* type) or the multipart field `image`; bodies over "
            f"{max_body // (1024 * 1024)} MB get 413. The answer has the keys of a `mnistcli predict --json` row. "
            "`run` picks a run by its id from /api/runs; `inputs=true` adds each digit's 28x28 model input "
            "(rows of 0-255); `invert` forces the ink colour (false: light ink on a dark background)."
        ),
        openapi_extra={"requestBody": IMAGE_BODY},
        responses={
            200: {"content": {"application/json": {"example": EXAMPLE_ROW}}},
            **{code: {"description": what, "content": {"application/json": {"example": {"error": "..."}}}}
               for code, what in [(400, "no image in the request"), (404, "no run with that id"),
                                  (413, "body over the limit"), (415, "not an image type"),
                                  (422, "not a readable image (not decodable, blank, a decompression bomb)")]},
        },
    )
    async def predict(
        request: Request,
        run: str | None = Query(None, description="A run id from /api/runs (default: the server's run)."),
        inputs: bool = Query(False, description="Add the inputs the model saw, for drawing them."),
        invert: bool | None = Query(None, description="true: dark ink on light paper; false: light ink (default: detect)."),
    ) -> JSONResponse:
        served = await run_in_threadpool(_served, catalog, run)
        data, name = await image_from_request(request)
        try:
            reading = await served.read_async(data, name, invert)
        except MnistcliError as exc:
            return error_response(422, exc)
        return JSONResponse(api_row(reading, name, served.id, inputs))

    return app


def _served(catalog: Catalog, run_id: str | None):
    try:
        return catalog.served(run_id)
    except UnknownRun as exc:
        raise HTTPException(404, str(exc)) from None
    except MnistcliError as exc:  # listed, but its model cannot be loaded (damaged, deleted meanwhile)
        raise HTTPException(500, f"run {run_id!r} cannot be loaded: {exc}") from None


def _file(found: tuple[bytes, str] | None, headers: dict) -> Response:
    if found is None:
        raise HTTPException(404, "no such file")
    content, media_type = found
    return Response(content, media_type=media_type, headers=headers)


def _errors(app: FastAPI) -> None:
    """Every failure answers {"error": "one line"}; the server goes on serving."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
        return error_response(422, f"{where}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error_response(413, str(exc), {"Connection": "close"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error: {type(exc).__name__}: {exc}")
