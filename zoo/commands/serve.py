"""``zoo serve MODEL``: the HTTP API and the viewer page for a checkpoint or an exported model."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        model: Path = typer.Argument(
            ..., help="A model name (`zoo models`), checkpoint (.pth), weights file (.safetensors), ONNX (.onnx) "
                      "or TorchScript (.ts) with zoo metadata."),
        host: str = typer.Option("127.0.0.1", help="Address to bind; the default answers this machine only."),
        port: int = typer.Option(8000, help="TCP port (0 picks a free one)."),
        workers: int = typer.Option(1, help="Server processes, each with its own copy of the model."),
        max_upload_mb: float = typer.Option(64.0, help="Largest accepted upload, MiB (larger: 413)."),
        max_pixels: int = typer.Option(100_000_000, help="Largest accepted image, width x height (larger: 413)."),
        timeout_s: float = typer.Option(60.0, help="Whole-request budget in seconds: upload, queue, inference."),
        max_concurrency: int = typer.Option(2, help="Images predicted at once per worker; more wait, then 503."),
        queue_wait_s: float = typer.Option(10.0, help="How long a request waits for a free slot before 503."),
        max_queue: int = typer.Option(None, help="Requests allowed to wait per worker (default 4 x max-concurrency)."),
        max_decode_mb: float = typer.Option(1024.0, help="Memory one image may take to decode, MiB, from its "
                                            "header (more: 413)."),
        header_timeout_s: float = typer.Option(10.0, help="Seconds a client has to send its request headers "
                                               "(then 408, connection closed)."),
        body_timeout_s: float = typer.Option(30.0, help="Seconds a client has to send its upload once its "
                                             "headers are in (then 408, connection closed)."),
        decode_timeout_s: float = typer.Option(20.0, help="Seconds one image may take to decode; the decoding "
                                               "is then stopped, its slot freed, and the request answered 422."),
        threads: int = typer.Option(None, help="Intra-op threads of the runtime (default: its own choice)."),
        cors_origin: list[str] = typer.Option(None, help="Origin of a browser front end hosted elsewhere that may call "
                                              "the API, e.g. http://localhost:3000 (repeat for several; '*' for any)."),
        log_level: str = typer.Option("info", help="uvicorn log level: critical, error, warning, info, debug."),
        trust: bool = typer.Option(False, "--trust", help="Open a TorchScript model, which runs code of its own while "
                                   "it loads: only for a file from a source you trust (ONNX needs no trust)."),
    ):
        """Serve a model over HTTP: POST /v1/landmarks, GET /v1/model, GET /healthz, /docs, viewer at /."""
        from zoo.serve.limits import ServeLimits
        from zoo.serve.run import serve_model

        limits = ServeLimits(max_upload_mb=max_upload_mb, max_pixels=max_pixels, timeout_s=timeout_s,
                             max_concurrency=max_concurrency, queue_wait_s=queue_wait_s, max_queue=max_queue,
                             max_decode_mb=max_decode_mb, header_timeout_s=header_timeout_s,
                             body_timeout_s=body_timeout_s, decode_timeout_s=decode_timeout_s)
        serve_model(model, host=host, port=port, workers=workers, limits=limits, threads=threads,
                    log_level=log_level, cors_origins=tuple(cors_origin or ()), echo=typer.echo, trust=trust)
