"""Start uvicorn on a model: one process, or ``workers`` processes each holding its own predictor.

With several workers uvicorn needs an import string, so the settings travel to the workers in an
environment variable and :func:`app_from_env` builds each worker's app.
"""
from __future__ import annotations

import ipaddress
import json
import os

from zoo.registry import ZooError

from .limits import ServeLimits

ENV_CONFIG = "ZOO_SERVE_CONFIG"


class ServeError(ZooError):
    """The server cannot start (missing extra, bad model, bad option)."""


def _require_extra() -> None:
    import importlib.util

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        # python-multipart parses uploads; its module was renamed from multipart to python_multipart
        if not (importlib.util.find_spec("python_multipart") or importlib.util.find_spec("multipart")):
            raise ImportError("python-multipart is not installed", name="python-multipart")
    except ImportError as exc:
        raise ServeError(f"`zoo serve` needs the serve extra ({exc.name} is missing): "
                         "pip install 'ceph-zoo[serve]'") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_from_env():
    """uvicorn factory for worker processes: the model and limits come from ``$ZOO_SERVE_CONFIG``."""
    from zoo.inference import Predictor

    from .app import create_app

    settings = json.loads(os.environ[ENV_CONFIG])
    predictor = Predictor.from_path(settings["model"], threads=settings.get("threads"),
                                    trust=settings.get("trust", False))
    return create_app(predictor, ServeLimits(**settings["limits"]), cors_origins=settings.get("cors_origins", ()))


def uvicorn_options(log_level: str = "info") -> dict:
    """The uvicorn settings of every zoo server: the header deadline of :mod:`.protocol` on top of its
    HTTP/1.1 protocol, idle keep-alive connections closed after 5 s, no server banner in answers."""
    from .protocol import HeaderTimeoutProtocol

    return {"http": HeaderTimeoutProtocol, "timeout_keep_alive": 5, "server_header": False,
            "log_level": log_level}


def serve_model(model, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
                limits: ServeLimits | None = None, threads: int | None = None, log_level: str = "info",
                cors_origins: tuple[str, ...] | list[str] = (), echo=print, trust: bool = False) -> None:
    """Load ``model`` (checkpoint, ONNX or TorchScript), check it, and serve it until interrupted. A TorchScript
    file needs ``trust`` (it runs code of its own while it loads)."""
    _require_extra()
    import uvicorn

    from zoo.inference import Predictor

    from .app import create_app

    limits = limits or ServeLimits()
    if workers < 1:
        raise ServeError(f"--workers must be at least 1, got {workers}")
    if not 0 <= port <= 65535:
        raise ServeError(f"--port must be 0..65535, got {port}")
    from zoo.model_zoo import resolve_model

    model = resolve_model(model).resolve()  # a model name becomes its verified file, which every worker opens
    predictor = Predictor.from_path(model, threads=threads, trust=trust)  # fails here, before any worker starts
    meta = predictor.describe()
    echo(f"serving {model.name} ({meta['runtime']}, {meta['landmark_set']}, {len(meta['landmarks'])} landmarks) "
         f"on http://{host}:{port}/ -- viewer at /, API docs at /docs; {workers} worker(s), "
         f"{limits.max_concurrency} image(s) at a time each")
    if not _is_loopback(host):
        echo("note: the API has no authentication; put it behind your own proxy when it is reachable from a network")
    common = {"host": host, "port": port, **uvicorn_options(log_level)}
    if workers == 1:
        uvicorn.run(create_app(predictor, limits, cors_origins), **common)
        return
    del predictor
    os.environ[ENV_CONFIG] = json.dumps({"model": str(model), "threads": threads, "trust": trust,
                                         "limits": limits.to_dict(),
                                         "cors_origins": list(cors_origins)})
    uvicorn.run("zoo.serve.run:app_from_env", factory=True, workers=workers, **common)
