"""Every error the API answers is ``{"error": <code>, "message": <what was wrong>}`` with a 4xx/5xx status.

A client (or the viewer) can show ``message`` to a person as is, and branch on ``error``. FastAPI's and
Starlette's own errors (unknown route, wrong method) are rewritten to the same shape.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

log = logging.getLogger("zoo.serve")


class ApiError(Exception):
    """An answer other than 200: status, a short machine-readable code and a sentence for a person."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class UploadTooLarge(Exception):
    """Raised by the body-size guard while the request body is still arriving."""


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def install_error_handlers(app) -> None:
    """Map every failure to the one JSON error shape; an unexpected exception is a logged 500, never a crash."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def api_error(request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def http_error(request, exc: HTTPException):
        if exc.status_code == 404:
            message = f"no such path: {request.url.path} (the API is under /v1, documented at /docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, _code_for(exc.status_code), message, getattr(exc, "headers", None))

    async def validation_error(request, exc: RequestValidationError):
        parts = ["/".join(str(p) for p in e.get("loc", ())) + f": {e.get('msg')}" for e in exc.errors()]
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    async def internal_error(request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error",
                              f"internal error ({type(exc).__name__}); the server logged it and keeps serving")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)
