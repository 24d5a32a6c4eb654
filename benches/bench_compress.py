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
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version

import brotli
import flask
import flask_compress
from bench_gil import MIN_ROUNDS, THREAD_RUN_SECONDS, calibrate, run_threads, serve
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


SCALING_TARGET = 1.8
THREAD_SIZE = ("256 KiB", 256 * KIB)
THREAD_REPETITIONS_PER_ROUND = 10


def threads_table(settings: Settings) -> tuple[str, int]:
    """MB/s of body compressed by one thread and by two, per coding (bench_gil's method)."""
    label, size = THREAD_SIZE
    body = BODIES["HTML"][0](size)
    workloads = {coding: Compress(list_app([body]), encodings=(coding,)) for coding in CODINGS}
    environs = {coding: environ_for(coding) for coding in CODINGS}
    for coding, app in workloads.items():
        response = call_app(app, environs[coding])
        if DECODE[coding](response.body) != body:
            raise AssertionError(f"threads, {coding}: does not decode to the body")
    requests = {c: calibrate(app, environs[c]) for c, app in workloads.items()}
    rounds = max(MIN_ROUNDS, settings.repetitions // THREAD_REPETITIONS_PER_ROUND)
    throughput: dict[tuple[str, int], list[float]] = {
        (coding, threads): [] for coding in workloads for threads in (1, 2)
    }
    for _ in range(rounds):
        for coding, app in workloads.items():
            for threads in (1, 2):
                elapsed = run_threads(app, environs[coding], threads, requests[coding])
                throughput[coding, threads].append(
                    threads * requests[coding] * size / elapsed * 1000
                )
    print("  threads: done", file=sys.stderr)
    rows, misses = [], 0
    for coding in workloads:
        one, two = (statistics.median(throughput[coding, t]) for t in (1, 2))
        missed = two / one < SCALING_TARGET
        misses += missed
        rows.append(
            [
                f"Compress, {coding}, {label} whole",
                f"{one:.0f} / {max(throughput[coding, 1]):.0f}",
                f"{two:.0f} / {max(throughput[coding, 2]):.0f}",
                f"{two / one:.2f}" + (" MISS" if missed else ""),
            ]
        )
    table = markdown_table(
        ["workload", "1 thread", "2 threads", f"scaling (target ≥ {SCALING_TARGET:g})"], rows
    )
    legend = (
        "MB/s of body compressed (all threads together), `median / max` over "
        f"{rounds} interleaved runs of ~{THREAD_RUN_SECONDS * 1000:g} ms of work per thread; "
        "scaling is median(2 threads) / median(1 thread), 2.00 perfect on 2 cores."
    )
    return f"{table}\n\n{legend}", misses


BROWSER = "gzip, deflate, br, zstd"  # what Chrome, Edge and Firefox send
STACK_TARGET = 0.3
STACK_REQUESTS = 300


def stack_miss_table(settings: Settings) -> tuple[str, int]:
    """bench_stack's miss mix with Compress in place of Gzip, for a browser's
    Accept-Encoding: µs per request of the Rust stack (Compress answers zstd) and of the
    Python stack (DjangoStyleGzip answers gzip), interleaved, each request a miss."""
    import tempfile
    from pathlib import Path

    import bench_stack
    import stack_apps

    with tempfile.TemporaryDirectory() as directory:
        stacks = {
            "Rust stack with Compress": stack_apps.rust_stack(
                Path(directory) / "rust.log", compressor=Compress
            ),
            "Python stack": stack_apps.python_stack(
                Path(directory) / "python.log", logger_name="bench_compress.translogger"
            ),
        }
        counter = iter(range(10**9))

        def environ(path: str) -> dict:
            made = bench_stack.base_environ(path, f"v={next(counter)}")
            made["HTTP_ACCEPT_ENCODING"] = BROWSER
            return made

        codings = {}
        for name, stack in stacks.items():
            response = call_app(stack.app, environ("/about"))
            codings[name] = header(response.headers, "content-encoding")
        samples: dict[str, list[float]] = {name: [] for name in stacks}
        rounds = max(3, settings.repetitions // 10)
        try:
            for _ in range(rounds):
                for name, stack in stacks.items():
                    stack.clear_cache()
                    environs = [
                        environ(bench_stack.MIX_PATHS[i % len(bench_stack.MIX_PATHS)])
                        for i in range(STACK_REQUESTS)
                    ]
                    started = time.perf_counter_ns()
                    for request in environs:
                        serve(stack.app, request)
                    samples[name].append((time.perf_counter_ns() - started) / STACK_REQUESTS)
        finally:
            for stack in stacks.values():
                stack.close()
    print("  stack miss: done", file=sys.stderr)
    rust, python = (statistics.median(samples[name]) for name in stacks)
    ratio = rust / python
    missed = ratio > STACK_TARGET
    rows = [
        [
            "miss",
            BROWSER,
            f"{rust / 1000:.1f} ({codings['Rust stack with Compress']})",
            f"{python / 1000:.1f} ({codings['Python stack']})",
            f"{ratio:.2f} (target ≤ {STACK_TARGET:g})" + (" MISS" if missed else ""),
        ]
    ]
    table = markdown_table(
        ["mix", "Accept-Encoding", "Rust stack, Compress (µs)", "Python stack (µs)", "Rust/Python"],
        rows,
    )
    legend = (
        f"µs per request, median over {rounds} interleaved runs of {STACK_REQUESTS} misses "
        "(unique query strings, the cache emptied before each run, outside the clock); in "
        "brackets the coding each stack sent."
    )
    return f"{table}\n\n{legend}", int(missed)


def run(settings: Settings = FULL) -> str:
    """Time Compress against the Python encoders, Python streaming and flask-compress."""
    one_shot, misses = one_shot_table(settings)
    streams = stream_table(settings)
    flask_rows = flask_table(settings)
    threads, thread_misses = threads_table(settings)
    stack_row, stack_misses = stack_miss_table(settings)
    misses += thread_misses + stack_misses
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
        "### One thread and two\n\nTwo threads compressing the same whole body through "
        "one Compress, started together (`threading.Thread`, a barrier): the compression "
        "runs with the GIL released.\n\n" + threads,
        "### The whole stack, miss, with Compress\n\nbench_stack's miss mix and stacks "
        "(`Logger(Cache(Compress(Rewrite(Router))))` against the Python peers' stack), for a "
        "browser's Accept-Encoding: the Rust stack answers it with zstd, DjangoStyleGzip "
        "with gzip, what each does for that client.\n\n" + stack_row,
        legend,
        f"Ratios marked MISS in this section: {misses}.",
    )


if __name__ == "__main__":
    bench_main(run)
