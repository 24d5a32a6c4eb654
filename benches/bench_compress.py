"""Compress against Python middleware that compresses with the Python encoders, and against
flask-compress, for zstd, brotli and gzip.

Peers: ``OneShotPython`` (here: joins the body and calls the coding's Python encoder once at
the same level: ``gzip.compress``, ``zstd.compress`` from backports.zstd / Python 3.14's
``compression.zstd``, ``brotli.compress``), ``StreamingPython`` (one ``compressobj`` per
response, fed chunk by chunk) and flask-compress in a Flask app. Every competitor's output is
checked to decode to the body with the coding's Python decoder before it is timed, and the
sizes are compared (Compress's output at most 1.02x the peer's at each level).

Run alone: ``python benches/bench_compress.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import gzip
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version

import brotli
import flask
import flask_compress
from bench_gzip import BODIES, measure_checked
from bench_rewrite import split_evenly
from peers import header
from runner import (
    FULL,
    Case,
    CaseResult,
    Ratio,
    Settings,
    WSGIApp,
    bench_main,
    call_app,
    make_environ,
    markdown_table,
    results_table,
    section,
    timing_legend,
)

import wsgi_mw
from wsgi_mw import Compress

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]

KIB = 1024
HTML = "text/html; charset=utf-8"
CODINGS = ("gzip", "zstd", "br")
GZIP_LEVEL, ZSTD_LEVEL, BROTLI_QUALITY = 6, 3, 4
ENCODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, GZIP_LEVEL, mtime=0),
    "zstd": lambda data: zstd.compress(data, level=ZSTD_LEVEL),
    "br": lambda data: brotli.compress(data, quality=BROTLI_QUALITY),
}
DECODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "zstd": zstd.decompress,
    "br": brotli.decompress,
}
PYTHON_ENCODER = {"gzip": "gzip.compress", "zstd": "zstd.compress", "br": "brotli.compress"}
# Targets of issue 15: Compress against the one-shot Python middleware, to 16 KiB.
SMALL_TARGET = {"gzip": 0.3, "zstd": 0.5, "br": 0.5}
LARGE_TARGET = {"gzip": 0.6, "zstd": None, "br": None}
SIZE_TARGET = 1.02
SMALL_SIZES = {"1 KiB": KIB, "16 KiB": 16 * KIB}
LARGE_SIZES = {"256 KiB": 256 * KIB, "4 MiB": 4096 * KIB}
STREAM_SIZE = ("256 KiB", 256 * KIB)
STREAM_CHUNKS = 64
ROUNDS_DIVISOR = 2
LARGE_ROUNDS_DIVISOR = 10

COMPRESS = "Compress"
ONE_SHOT = "OneShotPython"
STREAMING = "StreamingPython"
FLASK_COMPRESS = "Flask + flask-compress"
FLASK_OURS = "Flask + Compress(app.wsgi_app)"


def list_app(chunks: Sequence[bytes]) -> WSGIApp:
    def app(environ: dict, start_response: Callable) -> Sequence[bytes]:
        start_response("200 OK", [("Content-Type", HTML)])
        return chunks

    return app


def generator_app(chunks: Sequence[bytes]) -> WSGIApp:
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", HTML)])
        yield from chunks

    return app


class OneShotPython:
    """The least a Python compressing middleware does: join the body, encode it once."""

    def __init__(self, app: WSGIApp, coding: str) -> None:
        self.app, self.coding, self.encode = app, coding, ENCODE[coding]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        captured: list = []

        def capture(status: str, headers: list, exc_info: object = None) -> None:
            captured[:] = [status, headers]

        result = self.app(environ, capture)
        try:
            body = self.encode(b"".join(result))
        finally:
            getattr(result, "close", lambda: None)()
        status, headers = captured
        headers = [
            *headers,
            ("Content-Encoding", self.coding),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept-Encoding"),
        ]
        start_response(status, headers)
        return [body]


class StreamingPython:
    """A Python streaming compressor: one compressobj per response, fed chunk by chunk."""

    def __init__(self, app: WSGIApp, coding: str) -> None:
        self.app, self.coding = app, coding

    def _encoder(self) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
        if self.coding == "gzip":
            z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
            return z.compress, z.flush
        if self.coding == "zstd":
            c = zstd.ZstdCompressor(level=ZSTD_LEVEL)
            return c.compress, lambda: c.flush(zstd.ZstdCompressor.FLUSH_FRAME)
        b = brotli.Compressor(quality=BROTLI_QUALITY)
        return b.process, b.finish

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def wrapped(status: str, headers: list, exc_info: object = None) -> object:
            headers = [*headers, ("Content-Encoding", self.coding), ("Vary", "Accept-Encoding")]
            return start_response(status, headers, exc_info)

        result = self.app(environ, wrapped)
        compress, finish = self._encoder()
        try:
            for chunk in result:
                yield compress(chunk)
            yield finish()
        finally:
            getattr(result, "close", lambda: None)()


def flask_app(body: bytes, coding: str, *, ours: bool) -> WSGIApp:
    app = flask.Flask(f"bench_compress_{coding}_{ours}")

    @app.route("/catalog")
    def catalog() -> flask.Response:
        return flask.Response(body, content_type=HTML)

    if ours:
        app.wsgi_app = Compress(app.wsgi_app, encodings=(coding,))  # type: ignore[method-assign]
    else:
        app.config.update(
            COMPRESS_ALGORITHM=[coding],
            COMPRESS_LEVEL=GZIP_LEVEL,
            COMPRESS_BR_LEVEL=BROTLI_QUALITY,
            COMPRESS_ZSTD_LEVEL=ZSTD_LEVEL,
        )
        flask_compress.Compress(app)
    return app


def environ_for(coding: str) -> dict:
    return make_environ(path="/catalog", HTTP_ACCEPT_ENCODING=coding)


def check(case: Case, coding: str, body: bytes) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes sent and ns taken per competitor; AssertionError unless each sent the body in
    the coding (Content-Length, when given, exact)."""
    sizes, elapsed = {}, {}
    for name, app in case.competitors.items():
        started = time.perf_counter_ns()
        response = call_app(app, case.environ)
        elapsed[name] = time.perf_counter_ns() - started
        where = f"{dict(case.labels)}, {name}"
        length = header(response.headers, "content-length")
        if length is not None and int(length) != len(response.body):
            raise AssertionError(f"{where}: Content-Length {length}, sent {len(response.body)}")
        if header(response.headers, "content-encoding") != coding:
            raise AssertionError(f"{where}: not {coding}")
        if DECODE[coding](response.body) != body:
            raise AssertionError(f"{where}: does not decode to the body")
        sizes[name] = len(response.body)
    return sizes, elapsed


def measure(
    case: Case, coding: str, body: bytes, settings: Settings
) -> tuple[CaseResult, dict[str, int]]:
    sizes, elapsed = check(case, coding, body)
    return measure_checked(case, elapsed, settings), sizes


def rounds(size: int, settings: Settings) -> Settings:
    divisor = LARGE_ROUNDS_DIVISOR if size >= 4096 * KIB else ROUNDS_DIVISOR
    return Settings(max(1, settings.repetitions // divisor), settings.sample_seconds)


def one_shot_table(settings: Settings) -> tuple[str, int]:
    make_body = BODIES["HTML"][0]
    rows, misses = [], 0
    for label, size in {**SMALL_SIZES, **LARGE_SIZES}.items():
        body = make_body(size)
        app = list_app([body])
        for coding in CODINGS:
            case = Case(
                {"coding": coding, "body": label},
                {
                    COMPRESS: Compress(app, encodings=(coding,)),
                    ONE_SHOT: OneShotPython(app, coding),
                },
                environ_for(coding),
            )
            started = time.perf_counter()
            result, sizes = measure(case, coding, body, rounds(size, settings))
            print(
                f"  one-shot {coding} {label}: {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            target = (SMALL_TARGET if label in SMALL_SIZES else LARGE_TARGET)[coding]
            ratio = result.ratio(COMPRESS, ONE_SHOT)
            size_ratio = sizes[COMPRESS] / sizes[ONE_SHOT]
            missed = target is not None and ratio > target
            size_missed = size_ratio > SIZE_TARGET
            misses += missed + size_missed
            ours, theirs = result.timings[COMPRESS], result.timings[ONE_SHOT]
            rows.append(
                [
                    coding,
                    label,
                    PYTHON_ENCODER[coding],
                    f"{ours.median / 1000:.3g} / {ours.minimum / 1000:.3g}",
                    f"{theirs.median / 1000:.3g} / {theirs.minimum / 1000:.3g}",
                    f"{ratio:.2f}"
                    + ("" if target is None else f" (target ≤ {target:g})")
                    + (" MISS" if missed else ""),
                    f"{sizes[COMPRESS]} / {sizes[ONE_SHOT]}",
                    f"{size_ratio:.3f}" + (" MISS" if size_missed else ""),
                ]
            )
    table = markdown_table(
        [
            "coding",
            "body",
            "Python encoder",
            "Compress (µs)",
            "OneShotPython (µs)",
            "Compress/OneShotPython",
            "bytes sent (Compress / Python)",
            f"size ratio (target ≤ {SIZE_TARGET:g})",
        ],
        rows,
    )
    return table, misses


def stream_table(settings: Settings) -> str:
    label, size = STREAM_SIZE
    body = BODIES["HTML"][0](size)
    chunks = split_evenly(body, STREAM_CHUNKS)
    results = []
    for coding in CODINGS:
        app = generator_app(chunks)
        case = Case(
            {"coding": coding, "body": f"{label} in {STREAM_CHUNKS} chunks"},
            {COMPRESS: Compress(app, encodings=(coding,)), STREAMING: StreamingPython(app, coding)},
            environ_for(coding),
        )
        results.append(measure(case, coding, body, rounds(size, settings))[0])
        print(f"  stream {coding}: done", file=sys.stderr)
    return results_table(results, [Ratio(COMPRESS, STREAMING)])


def flask_table(settings: Settings) -> str:
    body = BODIES["HTML"][0](16 * KIB)
    results = []
    for coding in CODINGS:
        case = Case(
            {"coding": coding, "body": "16 KiB"},
            {
                FLASK_OURS: flask_app(body, coding, ours=True),
                FLASK_COMPRESS: flask_app(body, coding, ours=False),
            },
            environ_for(coding),
        )
        results.append(measure(case, coding, body, rounds(16 * KIB, settings))[0])
        print(f"  flask {coding}: done", file=sys.stderr)
    return results_table(results, [Ratio(FLASK_OURS, FLASK_COMPRESS)])


def run(settings: Settings = FULL) -> str:
    """Time Compress against the Python encoders, Python streaming and flask-compress."""
    one_shot, misses = one_shot_table(settings)
    streams = stream_table(settings)
    flask_rows = flask_table(settings)
    legend = timing_legend(
        Settings(max(1, settings.repetitions // ROUNDS_DIVISOR), settings.sample_seconds)
    )
    return section(
        "Compress: zstd, brotli and gzip",
        f"`wsgi_mw.Compress` from wsgi_mw {wsgi_mw.__version__}, one coding at a time "
        f"(`encodings=(coding,)`), at gzip level {GZIP_LEVEL}, zstd level {ZSTD_LEVEL} and "
        f"brotli quality {BROTLI_QUALITY}, against Python middleware using brotli "
        f"{version('brotli')}, backports.zstd / compression.zstd and the standard library's "
        f"gzip and zlib, and flask-compress {version('flask-compress')}. The body is the "
        "HTML page of bench_gzip.py, sent as a list of one chunk (whole: Compress compresses "
        "it in one shot, gzip by libdeflate) or by a generator in 64 chunks (a stream). "
        "Every response is checked to decode to the body first. "
        "Reproduce: `python benches/bench_compress.py`.",
        "### One shot, single-chunk bodies\n\n`OneShotPython` joins the body and calls the "
        "Python encoder once, at the same level: the least a Python middleware does. "
        "Times are µs per request, `median / min`.\n\n" + one_shot,
        "### Streams\n\n`StreamingPython`: a compressobj per response, fed each chunk.\n\n"
        + streams,
        "### In a Flask app\n\nflask-compress configured for the one coding, at the same "
        "level, against `Compress(app.wsgi_app)`.\n\n" + flask_rows,
        legend,
        f"Ratios marked MISS in this section: {misses}.",
    )


if __name__ == "__main__":
    bench_main(run)
