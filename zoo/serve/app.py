"""The FastAPI app around one :class:`zoo.inference.Predictor`.

The predictor does everything model-specific (letterbox and normalisation from the model's own metadata,
original-pixel coordinates), so the API answers what ``zoo predict`` writes for the same file. This module
adds the HTTP side: the form, the limits, the thread pool that keeps the event loop free while an image is
decoded and predicted, and the viewer page.

An upload is decoded here, not by the predictor from its bytes, because the decode memory and time must be
known before it starts: :func:`zoo.data.imageio.plan_decode` reads them from the header and the JPEG markers
(413 over ``max_decode_mb``, or for a JPEG whose scans would take minutes), and the image is decoded straight
to the model's 8-bit input, as ``LoadCephalogram`` reads a file, without alpha or whole-image float copies --
in a child process killed at ``decode_timeout_s`` (:mod:`.decoding`), so that no decode holds a slot longer.
"""
from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import Request  # at module level: FastAPI resolves the endpoint's annotations by name

from zoo.registry import ZooError

from .decoding import DecodeDeadline, DecoderCrash, ProcessDecoder
from .errors import ApiError, install_error_handlers, log
from .guard import BodySizeLimit
from .limits import HEADER_TIMEOUT_KEY, Gate, ServeLimits
from .schemas import ErrorResponse, Health, LandmarksResponse, ModelInfo
from .upload import FIELDS, MAX_RULER_MM, MAX_SPACING_MM, MIN_SPACING_MM, check_image, read_form

STATIC = Path(__file__).resolve().parent / "static"
#: multipart boundaries and the small fields on top of the file itself
FORM_OVERHEAD = 64 * 1024

#: an empty (or blank) form value, as an HTML form or ``curl -F ruler_mm=`` sends for a field left empty: the
#: server reads it as not given, and the document says so (a client checking against it must not expect a 422)
_BLANK = {"type": "string", "pattern": "^\\s*$"}
_OR_BLANK = "; an empty value is the same as leaving the field out"


def _optional(schema: dict, description: str, **extra) -> dict:
    return {"anyOf": [schema, _BLANK], "description": description + _OR_BLANK, **extra}


_FORM_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "the cephalogram: PNG (8 or 16 bit), JPEG, BMP, TIFF or DICOM (its header's "
                                "pixel size is used unless spacing_mm is given)"},
        "ruler_mm": _optional({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RULER_MM},
                              "known p1-p2 ruler length in mm (models that detect p1/p2)"),
        "spacing_mm": _optional({"type": "number", "minimum": MIN_SPACING_MM, "maximum": MAX_SPACING_MM},
                                "pixel size in mm (a physical one: 0.01 to 5), when known; wins over a ruler"),
        "analyze": _optional({"type": "boolean"}, "add the cephalometric measurements the landmark set allows",
                             default=True),
    },
}
assert set(_FORM_SCHEMA["properties"]) == set(FIELDS)

_ERRORS = {
    400: "empty body, empty file or malformed multipart",
    408: "the headers or the upload did not arrive within --header-timeout-s / --body-timeout-s",
    413: "upload over --max-upload-mb, image over --max-pixels, its decoding over --max-decode-mb, or a JPEG "
         "whose scans would take too long to decode (image_too_costly)",
    415: "not multipart/form-data, the file is not an image (a DICOM object without one: a report, an RT plan), "
         "or a DICOM transfer syntax no installed decoder reads (unsupported_transfer_syntax)",
    422: "missing/unknown/invalid field, an image that cannot be decoded, or one whose decoding passed "
         "--decode-timeout-s (decode_timeout)",
    500: "the model produced no valid answer (model_error), or an unexpected error the server logged",
    503: "busy: every inference slot and the queue are taken (see Retry-After)",
    504: "the image was not processed within the request timeout",
}


def _sha256(path) -> str | None:
    from zoo.model_zoo.cache import sha256_of

    try:
        return sha256_of(path)
    except (OSError, TypeError):
        return None


def _landmark_names(meta: dict, symbols: list[str]) -> list[str]:
    try:
        from zoo.data.landmark_sets import get_landmark_set

        known = get_landmark_set(meta["landmark_set"])
        names = dict(zip(known.symbols, known.names))
    except (ZooError, KeyError, OSError, ValueError):  # a set this install does not ship: symbols still hold
        names = {}
    return [names.get(s, s) for s in symbols]


def _finite(obj):
    """JSON has no NaN/inf: a non-finite float becomes null instead of a 500 while serialising."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def model_info(predictor, limits: ServeLimits) -> dict:
    """What ``GET /v1/model`` answers, and (its summary) what every prediction is stamped with."""
    from zoo.clinical import MEASUREMENTS

    described = predictor.describe()
    source = described.get("source")
    symbols = list(described["landmarks"])
    info = dict(described)
    info.update(
        name=Path(source).stem if source else str(described.get("model_type") or "model"),
        source=Path(source).name if source else None,  # never the server's directory layout
        version=described.get("zoo_version"),
        input_size=list(described["preprocess"]["input_size"]),
        sha256=_sha256(source) if source else None,
        landmark_names=_landmark_names(predictor.meta, symbols),
        measurements=[m.key for m in MEASUREMENTS if set(m.needs) <= set(symbols)],
        limits=limits.to_dict(),
    )
    return info


def _summary(info: dict) -> dict:
    keys = ("name", "version", "sha256", "runtime", "model_type", "landmark_set", "source")
    return {k: info.get(k) for k in keys}


def create_app(predictor, limits: ServeLimits | None = None, cors_origins: tuple[str, ...] | list[str] = ()):
    """A FastAPI app serving ``predictor`` under ``limits``; every request goes through the same predictor.

    ``cors_origins``: origins of browser front ends served from elsewhere that may call the API
    (``["*"]`` for any); none by default, so only the built-in viewer (same origin) can.
    """
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    import zoo

    limits = limits or ServeLimits()
    info = model_info(predictor, limits)
    summary = _summary(info)
    gate = Gate(limits.max_concurrency, limits.queue)
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency, thread_name_prefix="zoo-infer")
    decoder = ProcessDecoder(limits.max_concurrency)

    @asynccontextmanager
    async def lifespan(app):
        await asyncio.to_thread(decoder.start)  # a decoding process per slot, ready before the first request
        yield {HEADER_TIMEOUT_KEY: limits.header_timeout_s}  # read by each connection's HeaderTimeoutProtocol
        executor.shutdown(wait=False, cancel_futures=True)
        decoder.close()

    kwargs = dict(
        title="ceph-zoo landmark API",
        version=zoo.__version__,
        description=(
            f"Cephalometric landmark detection with model **{info['name']}** ({info['landmark_set']}, "
            f"{len(info['landmarks'])} landmarks, {info['runtime']}). Coordinates are original image pixels "
            "(integer values are pixel centres). Errors are `{\"error\": code, \"message\": text}`. "
            "The viewer page is at `/`."),
        lifespan=lifespan,
    )
    try:  # Swagger UI and ReDoc from a local package instead of a CDN: /docs works offline
        from fastapi_offline import FastAPIOffline as App
    except ImportError:  # pragma: no cover - the serve extra installs it
        App = FastAPI
    app = App(**kwargs)
    app.state.predictor, app.state.limits, app.state.gate, app.state.info = predictor, limits, gate, info
    app.state.decoder = decoder
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_upload_bytes + FORM_OVERHEAD,
                       max_upload_mb=limits.max_upload_mb)
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["*"], max_age=600)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    supports_analysis = bool(info["measurements"])

    @app.get("/", include_in_schema=False)
    async def viewer():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/healthz", response_model=Health, tags=["service"], summary="Liveness and load")
    async def healthz():
        return {"status": "ok", "model": info["name"], "running": gate.running, "waiting": gate.waiting,
                "max_concurrency": gate.slots}

    @app.get("/v1/model", response_model=ModelInfo, tags=["landmarks"],
             summary="The served model: landmark set, input size, preprocessing, version, limits")
    async def get_model():
        return JSONResponse(_finite(info))

    @app.post(
        "/v1/landmarks", tags=["landmarks"], summary="Detect the landmarks on one cephalogram",
        response_model=LandmarksResponse,
        responses={status: {"model": ErrorResponse, "description": text} for status, text in _ERRORS.items()},
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}}}},
    )
    async def landmarks(request: Request):
        """Landmarks by symbol in original pixels with confidences; mm per pixel and mm coordinates when a
        ruler (p1/p2 and ``ruler_mm`` or the model's ruler length) or ``spacing_mm`` gives the pixel size.
        The answer is a predictions file with one entry."""
        deadline = time.monotonic() + limits.timeout_s
        form = await _read_upload(request, limits)
        plan = check_image(form.data, form.filename, limits.max_pixels, limits.max_decode_bytes, predictor.channels)
        if plan.header is not None:  # a DICOM upload named after its patient is answered under its SOP UID
            form.filename = plan.header.label(form.filename)
        gate.enter()  # only now: a client still sending its body holds no queue place
        try:
            job = partial(_predict, predictor, form, plan, supports_analysis, decoder,
                          limits.decode_timeout_s, deadline)
            entry = await gate.run(executor, job, min(limits.queue_wait_s, deadline - time.monotonic()),
                                   deadline - time.monotonic())
        finally:
            gate.leave()
        return JSONResponse(_finite({"model": summary, "predictions": [entry]}))

    return app


async def _read_upload(request, limits: ServeLimits):
    """The whole form within the body timeout, else 408 (and the guard closes the connection)."""
    try:
        return await asyncio.wait_for(read_form(request, limits.max_upload_bytes), limits.upload_s)
    except TimeoutError:
        raise ApiError(408, "upload_timeout", f"the upload did not arrive within {limits.upload_s:g} s "
                       "(zoo serve --body-timeout-s)") from None


def _decode(decoder, form, plan, decode_s: float, deadline: float):
    """The upload as the model's 8-bit input: decoded in a child process (killed at whichever comes first,
    ``decode_s`` or the request's deadline), then stretched to 8 bits here."""
    from zoo.data.imageio import to_model_bits

    try:
        return to_model_bits(decoder.decode(form.data, plan, form.filename, decode_s, within=deadline), plan)
    except DecodeDeadline as exc:
        if exc.request:  # the request's own budget ran out first: the gate answers 504 for it
            raise ApiError(504, "timeout", "the image was not decoded within the request timeout; the "
                           "decoding was stopped") from None
        raise ApiError(422, "decode_timeout", f"{form.filename}: decoding {plan.describe()} did not finish "
                       f"within {decode_s:g} s (zoo serve --decode-timeout-s), so it was stopped and the "
                       "image refused; a genuine image this slow can be sent as PNG or baseline JPEG") from None
    except DecoderCrash as exc:
        raise ApiError(422, "unreadable_image", str(exc)) from None


def _predict(predictor, form, plan, supports_analysis: bool, decoder, decode_s: float,
             deadline: float) -> dict:
    """Runs in the inference thread, so a long decode never holds up the event loop: decode (as ``plan``,
    checked against the limits by ``check_image``; in a child process with a deadline), predict, analyse.
    Bad image bytes are the client's 422."""
    from zoo.data.errors import ImageReadError
    from zoo.inference import PredictionError

    try:
        img = _decode(decoder, form, plan, decode_s, deadline)
        entry = predictor.predict(img, name=form.filename, ruler_mm=form.ruler_mm, spacing_mm=form.spacing_mm,
                                  header=plan.header)
    except ImageReadError as exc:
        raise ApiError(422, "unreadable_image", str(exc)) from None
    except PredictionError as exc:  # the model's fault, not the request's
        raise ApiError(500, "model_error", str(exc)) from None
    if form.analyze and supports_analysis:
        from zoo.clinical import ClinicalError, analyze_prediction

        try:
            entry["analysis"] = analyze_prediction(entry, ruler_mm=form.ruler_mm, where=form.filename).to_dict()
        except (ClinicalError, ArithmeticError, ValueError) as exc:  # e.g. coinciding landmarks
            # the landmarks stand on their own; the measurements say why they are missing
            log.warning("analysis failed on %s: %s: %s", form.filename, type(exc).__name__, exc)
            entry["analysis"] = {"error": f"measurements unavailable ({type(exc).__name__}: {exc})"}
    return entry
