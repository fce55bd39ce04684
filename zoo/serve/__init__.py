"""HTTP serving: one predictor behind a FastAPI app, with limits, and an offline viewer page.

``create_app(predictor, limits)`` builds the app; ``zoo serve MODEL`` runs it with uvicorn. The names
below load on first use, so ``zoo serve`` can say which extra is missing instead of failing on import.
"""
from __future__ import annotations

__all__ = ["ApiError", "ServeLimits", "create_app"]


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ApiError":
        from .errors import ApiError

        return ApiError
    if name == "ServeLimits":
        from .limits import ServeLimits

        return ServeLimits
    raise AttributeError(f"module 'zoo.serve' has no attribute {name!r}")
