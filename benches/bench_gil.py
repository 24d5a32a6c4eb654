"""Rewrite and the GIL: what releasing it costs, and what it buys two threads.

Rewrite runs its filter on a body chunk (``on_chunk``) or on the held-back body
(``on_end``) with the GIL released once the bytes reach ``GIL_RELEASE_THRESHOLD``
(rust/wsgi/gil.rs), and with the GIL held below it. This section times both sides of
that threshold, then serves large bodies on one and on two Python threads.

Run alone: ``python benches/bench_gil.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping

from bench_rewrite import KIB, html_body, list_app, split_evenly
from peers import StreamingReplace
from runner import (
    FULL,
    Settings,
    WSGIApp,
    bench_main,
    call_app,
    format_us,
    make_environ,
    markdown_table,
    section,
    time_threads,
)

import wsgi_mw
from wsgi_mw import Rewrite, _native

# rust/wsgi/gil.rs: work on at least this many bytes runs with the GIL released. Read from
# the extension so the bench measures the threshold actually compiled in.
GIL_RELEASE_THRESHOLD = _native._bench.GIL_RELEASE_THRESHOLD
LITERAL_RULES = [(b"Hello", b"Goodbye")]
REGEX_RULES = [(rb"H(el)lo", b"J${1}lo")]  # not J$1lo: that names a group "1lo"
# The same substitution in Python's re syntax: the reference the regex body is checked with.
REGEX_REFERENCE = (re.compile(rb"H(el)lo"), rb"J\1lo")
HTML = "text/html; charset=utf-8"

# Release cost: a streamed body of this many equal chunks, one byte either side.
STREAM_CHUNKS = 256
# Samples per competitor, one request each: this many per repetition of the settings.
SAMPLES_PER_REPETITION = 100

# Two threads against one: the body, its chunking where it streams, how long a run lasts.
THREAD_BODY = 1024 * KIB
MIB_LABEL = f"{THREAD_BODY // (1024 * KIB)} MiB"
THREAD_BODY_CHUNKS = 16
# The same body as chunks one byte either side of the threshold, as in the first table.
THRESHOLD_CHUNKS = THREAD_BODY // GIL_RELEASE_THRESHOLD
THREAD_RUN_SECONDS = 0.1  # one thread's run, requests per thread calibrated per workload
# Interleaved rounds: one per this many repetitions of the settings, at least the minimum.
REPETITIONS_PER_ROUND = 5
MIN_ROUNDS = 3

REPRODUCE = (
    "Reproduce: `python benches/bench_gil.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


def _discard_write(data: bytes) -> None:
    """The ``write()`` callable handed to apps while timing; the bytes go nowhere."""


def _start_response(status: str, headers: list, exc_info: object = None) -> Callable:
    """The ``start_response`` handed to apps while timing."""
    return _discard_write


def serve(app: WSGIApp, environ: dict) -> None:
    """Drive one request as a server would: call, iterate the body, close."""
    result = app(environ, _start_response)
    for _chunk in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def check_body(app: WSGIApp, environ: Mapping[str, object], expected: bytes, name: str) -> None:
    """Raise AssertionError unless ``app`` sends ``expected``: nothing wrong is timed."""
    body = call_app(app, environ).body
    if body != expected:
        raise AssertionError(f"{name}: sent {len(body)} bytes, expected {len(expected)}")


def literal_replace(body: bytes) -> bytes:
    """``body`` with LITERAL_RULES applied by ``bytes.replace``: the literal reference."""
    for old, new in LITERAL_RULES:
        body = body.replace(old, new)
    return body


def streaming_app(chunk: bytes, count: int) -> WSGIApp:
    """A text/html app whose body is a generator yielding ``chunk`` ``count`` times."""

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", HTML)])
        for _ in range(count):
            yield chunk

    return app


def threshold_chunks() -> tuple[bytes, bytes]:
    """The same catalog text one byte below the threshold (GIL held) and at it (released)."""
    at_threshold = html_body(GIL_RELEASE_THRESHOLD, [old for old, _new in LITERAL_RULES])
    return at_threshold[:-1], at_threshold


def release_cost_table(settings: Settings) -> list[str]:
    """Per-chunk time through Rewrite one byte below the threshold and at it.

    One sample is one request of STREAM_CHUNKS chunks; the competitors take turns sample
    by sample, so drift and noisy neighbours hit them alike. Returns the table and its
    legend.
    """
    below, at_threshold = threshold_chunks()
    competitors = {
        "held": (
            Rewrite(streaming_app(below, STREAM_CHUNKS), LITERAL_RULES),
            literal_replace(below * STREAM_CHUNKS),
        ),
        "released": (
            Rewrite(streaming_app(at_threshold, STREAM_CHUNKS), LITERAL_RULES),
            literal_replace(at_threshold * STREAM_CHUNKS),
        ),
    }
    environ = make_environ(path="/stream")
    for name, (app, expected) in competitors.items():
        check_body(app, environ, expected, name)

    started = time.perf_counter()
    rounds = settings.repetitions * SAMPLES_PER_REPETITION
    samples: dict[str, list[float]] = {name: [] for name in competitors}
    for _ in range(rounds):
        for name, (app, _expected) in competitors.items():
            request_environ = dict(environ)
            request_started = time.perf_counter_ns()
            serve(app, request_environ)
            samples[name].append((time.perf_counter_ns() - request_started) / STREAM_CHUNKS)
    print(f"  release cost: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    median = {name: statistics.median(values) for name, values in samples.items()}
    cost = median["released"] - median["held"]
    headers = [
        f"{len(below)} B chunks: GIL held",
        f"{len(at_threshold)} B chunks: GIL released",
        "release cost",
        "cost / held",
    ]
    row = [
        *(f"{format_us(median[name])} / {format_us(min(samples[name]))}" for name in samples),
        f"{cost / 1000:+.3f}",
        f"{cost / median['held']:+.1%}",
    ]
    legend = (
        f"Times are µs per chunk, `median / min` over {rounds} interleaved samples of one "
        f"request ({STREAM_CHUNKS} chunks) each. Release cost: median(released) - "
        "median(held), µs per chunk; cost / held: that as a share of the time per chunk "
        "with the GIL held."
    )
    return [markdown_table(headers, [row]), legend]


def digest_app(body: bytes) -> WSGIApp:
    """An app answering with the SHA-256 of ``body``: C work that releases the GIL."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [hashlib.sha256(body).hexdigest().encode()]

    return app


def thread_workloads(environ: Mapping[str, object]) -> dict[str, tuple[WSGIApp, int]]:
    """The threads table's rows: name -> (app, body bytes per request).

    Each app is checked to send the right body before it is timed.
    """
    body = html_body(THREAD_BODY, [old for old, _new in LITERAL_RULES])
    chunks = split_evenly(body, THREAD_BODY_CHUNKS)
    below, at_threshold = threshold_chunks()
    pattern, replacement = REGEX_REFERENCE
    checked = {
        "Rewrite, literal, 1 chunk": (
            Rewrite(list_app([body], HTML), LITERAL_RULES),
            body,
            literal_replace(body),
        ),
        f"Rewrite, literal, {THREAD_BODY_CHUNKS} chunks": (
            Rewrite(list_app(chunks, HTML), LITERAL_RULES),
            body,
            literal_replace(body),
        ),
        **{
            f"Rewrite, literal, {THRESHOLD_CHUNKS} chunks of {len(chunk)} B ({gil})": (
                Rewrite(list_app([chunk] * THRESHOLD_CHUNKS, HTML), LITERAL_RULES),
                chunk * THRESHOLD_CHUNKS,
                literal_replace(chunk * THRESHOLD_CHUNKS),
            )
            for chunk, gil in ((below, "GIL held"), (at_threshold, "GIL released"))
        },
        "Rewrite, regex=True, 1 chunk": (
            Rewrite(list_app([body], HTML), REGEX_RULES, regex=True),
            body,
            pattern.sub(replacement, body),
        ),
        f"control: StreamingReplace (pure Python), {THREAD_BODY_CHUNKS} chunks": (
            StreamingReplace(list_app(chunks, HTML), LITERAL_RULES),
            body,
            literal_replace(body),
        ),
        "control: hashlib.sha256 of the body (C, GIL released)": (
            digest_app(body),
            body,
            hashlib.sha256(body).hexdigest().encode(),
        ),
    }
    for name, (app, _body, expected) in checked.items():
        check_body(app, environ, expected, name)
    return {name: (app, len(body)) for name, (app, body, _expected) in checked.items()}


def run_threads(app: WSGIApp, environ: Mapping[str, object], threads: int, requests: int) -> int:
    """Nanoseconds for ``threads`` threads, started together, to serve ``requests`` each."""

    def prepare(_index: int) -> Callable[[], None]:
        environs = [dict(environ) for _ in range(requests)]

        def job() -> None:
            for request_environ in environs:
                serve(app, request_environ)

        return job

    return time_threads(threads, prepare)


def calibrate(app: WSGIApp, environ: Mapping[str, object]) -> int:
    """How many requests one thread serves in ~THREAD_RUN_SECONDS (at least 1)."""
    target_ns = THREAD_RUN_SECONDS * 1e9
    requests = 1
    while True:
        elapsed = run_threads(app, environ, 1, requests)
        if elapsed >= target_ns / 4:
            return max(1, round(requests * target_ns / elapsed))
        requests *= 2


def threads_table(settings: Settings) -> list[str]:
    """MB/s rewritten by one thread and by two, per workload; returns table and legend.

    A run starts its threads together and ends when the last one is done; runs take
    turns (workload by workload, 1 then 2 threads) round after round.
    """
    environ = make_environ(path="/catalog")
    workloads = thread_workloads(environ)
    requests = {name: calibrate(app, environ) for name, (app, _size) in workloads.items()}
    rounds = max(MIN_ROUNDS, settings.repetitions // REPETITIONS_PER_ROUND)

    started = time.perf_counter()
    throughput: dict[tuple[str, int], list[float]] = {
        (name, threads): [] for name in workloads for threads in (1, 2)
    }
    for _ in range(rounds):
        for name, (app, size) in workloads.items():
            for threads in (1, 2):
                elapsed = run_threads(app, environ, threads, requests[name])
                # bytes per ns is GB/s: * 1000 for MB/s
                throughput[name, threads].append(threads * requests[name] * size / elapsed * 1000)
    print(f"  threads: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    headers = [f"workload ({MIB_LABEL} text/html body)", "1 thread", "2 threads", "scaling"]
    rows = []
    for name in workloads:
        one, two = (statistics.median(throughput[name, threads]) for threads in (1, 2))
        rows.append(
            [
                name,
                f"{one:.0f} / {max(throughput[name, 1]):.0f}",
                f"{two:.0f} / {max(throughput[name, 2]):.0f}",
                f"{two / one:.2f}",
            ]
        )
    legend = (
        "Throughput is MB/s (10⁶ bytes of body rewritten, or hashed, per second, all "
        f"threads together), `median / max` over {rounds} interleaved runs of ~"
        f"{THREAD_RUN_SECONDS * 1000:g} ms of work per thread (requests per thread "
        "calibrated per workload on one thread, the same for both thread counts). "
        "Scaling: median(2 threads) / median(1 thread); 2.00 is perfect on 2 cores."
    )
    return [markdown_table(headers, rows), legend]


def run(settings: Settings = FULL) -> str:
    """Time Rewrite's GIL release at its threshold, and Rewrite on one and two threads."""
    release = release_cost_table(settings)
    threads = threads_table(settings)
    return section(
        "Rewrite and the GIL",
        f"`wsgi_mw.Rewrite` from wsgi_mw {wsgi_mw.__version__} runs its filter on a body "
        f"chunk, or on the body it held back, with the GIL released once that is at least "
        f"{GIL_RELEASE_THRESHOLD} bytes (`GIL_RELEASE_THRESHOLD`, rust/wsgi/gil.rs), with "
        'the GIL held below. Rules: `[(b"Hello", b"Goodbye")]`, or '
        '`[(rb"H(el)lo", b"J${1}lo")]` with `regex=True`. Every body is checked against '
        "`bytes.replace` / `re.sub` before it is timed.",
        "### Cost of releasing the GIL",
        "A generator app streams a `text/html` body of "
        f"{STREAM_CHUNKS} equal chunks, so each chunk goes through Rewrite's `on_chunk` on "
        f"its own: {GIL_RELEASE_THRESHOLD - 1}-byte chunks run with the GIL held, "
        f"{GIL_RELEASE_THRESHOLD}-byte chunks (the same text and one byte more) with the "
        "GIL released and re-taken around each. The difference per chunk is the price of "
        "that release, uncontended (no other thread wants the GIL); it is set against the "
        "whole time per chunk with the GIL held (the app's generator, Rewrite, the "
        f"server's loop). {REPRODUCE}",
        *release,
        "### Two threads",
        f"Total throughput of one thread and of two threads serving the same {MIB_LABEL} "
        "catalog page concurrently (`threading.Thread`, started together at a barrier, a "
        "fixed number of requests each). With the GIL released around the rewriting, two "
        "threads should come near 2x on two cores. Literal rules stream the body through "
        "`on_chunk`, one GIL release per chunk: as 1 chunk, as "
        f"{THREAD_BODY_CHUNKS} chunks of {THREAD_BODY // THREAD_BODY_CHUNKS // KIB} KiB, "
        f"and as {THRESHOLD_CHUNKS} chunks one byte either side of the threshold (the "
        "chunks of the first table: the GIL released and re-taken per chunk against held "
        "throughout, now with another thread waiting for it). Regex rules buffer the body "
        "and rewrite it in `on_end`. Two controls: the pure-Python `StreamingReplace` "
        "(benches/peers.py) holds the GIL, so a second thread cannot add throughput; "
        "`hashlib.sha256` of the body releases it for the whole hash: what C code with no "
        f"GIL in the way gets from this machine's two cores. {REPRODUCE}",
        *threads,
    )


if __name__ == "__main__":
    bench_main(run)
