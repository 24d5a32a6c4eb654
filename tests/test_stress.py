"""Threads, leaks, faults and misbehaving apps through the full stack (issue 8, section 2).

The stack is Logger(Cache(Gzip(Rewrite(Router(routes, default=app))))) with one shared Cache.
Every run is reproducible: each workload draws from a `random.Random` with a fixed seed.

Two modes, chosen by the STRESS environment variable:

- default (short, keeps this file under about a minute): 16 threads x 300 requests; the memory
  test runs 200 000 requests after a 5 000-request warm-up; 4 000 requests with faults.
- ``STRESS=full``: 16 threads x 3 000 requests; 1 000 000 requests for memory; 40 000 with
  faults.

In both modes RSS may grow by less than 10 MiB after warm-up and the count of
``gc.get_objects()`` may not grow. A short workload also runs in a subprocess under
``PYTHONMALLOC=debug`` and must exit 0 with nothing on stderr.
"""

from __future__ import annotations

import gc
import gzip
import os
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import CountingIterable, Server, header, make_environ

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

FULL = os.environ.get("STRESS") == "full"
THREADS = 16
PER_THREAD = 3_000 if FULL else 300
MEMORY_REQUESTS = 1_000_000 if FULL else 200_000
WARMUP = 5_000
FAULT_REQUESTS = 40_000 if FULL else 4_000
SEED = 20240608
MiB = 1024 * 1024

TEXT = "text/html; charset=utf-8"
PATHS = [f"/page/{n}" for n in range(40)] + ["/routed", "/missing"]


def page_body(path):
    """What the app sends for `path` (streamed in three chunks)."""
    line = f"<p>Hello from {path}, a line long enough to compress.</p>\n".encode()
    return [line * 5, line * 7, line * 3]


def expected_body(path):
    return b"".join(page_body(path)).replace(b"Hello", b"Goodbye")


class Tracker:
    """Thread-safe record of the inner iterables handed out."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = []

    def add(self, body):
        with self.lock:
            self.bodies.append(body)
        return body

    def unclosed(self):
        return [b for b in self.bodies if b.closed != 1]


class App:
    """The default app: cacheable streamed pages; X-Fault makes it fail on purpose."""

    def __init__(self, tracker=None):
        self.tracker = tracker
        self.raised = []  # the app's own exceptions, to tell them from anyone else's

    def mid_fault(self, pulled):
        if pulled == 1:  # after the first chunk went out
            exc = RuntimeError("app fault mid-stream")
            self.raised.append(exc)
            raise exc

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        fault = environ.get("HTTP_X_FAULT")
        if fault == "before":
            exc = RuntimeError(f"app fault before headers on {path}")
            self.raised.append(exc)
            raise exc
        status = "404 Not Found" if path == "/missing" else "200 OK"
        start_response(status, [("Content-Type", TEXT), ("Cache-Control", "max-age=600")])
        body = CountingIterable(
            page_body(path), before_each=self.mid_fault if fault == "mid" else None
        )
        if self.tracker is not None:
            self.tracker.add(body)
        return body


def routed(tracker=None):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT), ("Cache-Control", "max-age=600")])
        body = CountingIterable(page_body("/routed"))
        if tracker is not None:
            tracker.add(body)
        return body

    return app


def full_stack(app, sink, routed_app):
    # request_directives="honor": the workload's client refreshes (no-cache) reach the app and
    # replace entries, so the stress covers the refresh path, not only hits and misses
    cache = Cache(
        Gzip(
            Rewrite(Router([("GET", "/routed", routed_app)], default=app), [("Hello", "Goodbye")])
        ),
        request_directives="honor",
    )
    return Logger(cache, sink=sink), cache


def environ_for(rng, path=None, **extra):
    env = make_environ(PATH_INFO=path or rng.choice(PATHS))
    env["HTTP_ACCEPT_ENCODING"] = rng.choice(["gzip", "identity", "gzip, br", "gzip;q=0"])
    if rng.random() < 0.1:
        env["HTTP_CACHE_CONTROL"] = "no-cache"  # a refresh: miss, app runs, entry replaced
    env.update(extra)
    return env


def decoded(response_headers, body):
    if header(response_headers, "Content-Encoding") == "gzip":
        return gzip.decompress(body)
    return body


def serve(app, environ, *, close_after=None):
    """Drive one request; close_after=1 closes after the first item (a client gone)."""
    server = Server()
    result = app(environ, server.start_response)
    try:
        for n, chunk in enumerate(result, 1):
            server.take(chunk)
            if close_after is not None and n >= close_after:
                break
    finally:
        if hasattr(result, "close"):  # PEP 3333: only when it has one
            result.close()
    return server


def check_served(server, path):
    body = decoded(server.headers, b"".join(server.chunks))
    assert body == expected_body(path), f"{path}: body not byte-exact"
    want = "404" if path == "/missing" else "200"
    assert server.status.startswith(want), f"{path}: {server.status}"


# --------------------------------------------------------------------------- threads


def test_threads_share_one_cache():
    tracker = Tracker()
    records = []
    app, cache = full_stack(App(tracker), records.append, routed(tracker))
    errors = []
    counts = [0] * THREADS

    def worker(index):
        rng = random.Random(SEED + index)
        try:
            for _ in range(PER_THREAD):
                env = environ_for(rng)
                if rng.random() < 0.05:
                    env["REQUEST_METHOD"] = "HEAD"
                    server = serve(app, env)
                    assert b"".join(server.chunks) == b""
                else:
                    check_served(serve(app, env), env["PATH_INFO"])
                counts[index] += 1
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert errors == [], errors[:3]
    total = THREADS * PER_THREAD
    assert sum(counts) == total
    stats = cache.stats()
    assert stats["hits"] + stats["misses"] + stats["bypasses"] == total, stats
    assert stats["hits"] > 0 and stats["misses"] > 0, stats
    assert len(records) == total
    assert tracker.unclosed() == []


# --------------------------------------------------------------------------- memory


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_workload(app, rng, count):
    for _ in range(count):
        env = environ_for(rng)
        roll = rng.random()
        if roll < 0.05:
            env["REQUEST_METHOD"] = "POST"  # a bypass that purges the URL
            serve(app, env)
        elif roll < 0.08:
            serve(app, env, close_after=1)
        else:
            check_served(serve(app, env), env["PATH_INFO"])


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc for RSS")
def test_memory_does_not_grow():
    sink_count = [0]

    def sink(record):
        sink_count[0] += 1

    app, cache = full_stack(App(), sink, routed())
    rng = random.Random(SEED)
    memory_workload(app, rng, WARMUP)
    gc.collect()
    rss_before = rss_bytes()
    objects_before = len(gc.get_objects())
    memory_workload(app, rng, MEMORY_REQUESTS)
    gc.collect()
    growth = rss_bytes() - rss_before
    objects_after = len(gc.get_objects())
    assert sink_count[0] == WARMUP + MEMORY_REQUESTS
    assert growth < 10 * MiB, f"RSS grew by {growth / MiB:.1f} MiB over {MEMORY_REQUESTS}"
    assert objects_after <= objects_before, (
        f"gc.get_objects() grew from {objects_before} to {objects_after}"
    )
    assert cache.stats()["entries"] <= len(PATHS) * 4


DEBUG_SCRIPT = textwrap.dedent(
    """
    import random, sys
    sys.path.insert(0, {tests!r})
    from test_stress import App, full_stack, memory_workload, misbehaving_round, routed

    records = []
    app, cache = full_stack(App(), records.append, routed())
    memory_workload(app, random.Random(1), 1500)
    misbehaving_round()
    assert len(records) == 1500, len(records)
    print("ok")
    """
)


def test_pythonmalloc_debug_subprocess():
    tests = str(Path(__file__).parent)
    env = dict(os.environ, PYTHONMALLOC="debug", PYTHONDEVMODE="1")
    proc = subprocess.run(
        [sys.executable, "-c", DEBUG_SCRIPT.format(tests=tests)],
        cwd=str(Path(__file__).parent.parent),
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


# --------------------------------------------------------------------------- faults


def test_faults_release_everything_and_store_nothing_partial():
    tracker = Tracker()
    records = []
    inner = App(tracker)
    app, cache = full_stack(inner, records.append, routed(tracker))
    rng = random.Random(SEED)
    escaped = []
    kinds = {"before": 0, "mid": 0, "early": 0}
    for _ in range(FAULT_REQUESTS):
        path = rng.choice(PATHS[:-2])  # /page/N: cacheable 200s from the default app
        roll = rng.random()
        raised_before = len(inner.raised)
        if roll < 0.025:
            env = environ_for(rng, path, HTTP_X_FAULT="before")
        elif roll < 0.05:
            env = environ_for(rng, path, HTTP_X_FAULT="mid")
        else:
            env = environ_for(rng, path)
        # a refresh makes a failing request reach the app even when the entry is fresh
        if "HTTP_X_FAULT" in env:
            env["HTTP_CACHE_CONTROL"] = "no-cache"
        early = 0.05 <= roll < 0.10
        try:
            server = serve(app, env, close_after=1 if early else None)
        except BaseException as exc:  # noqa: BLE001 -- checked below
            escaped.append(exc)
            assert len(inner.raised) == raised_before + 1, f"not the app's: {exc!r}"
            assert exc is inner.raised[-1], f"an exception other than the app's: {exc!r}"
            kinds[env["HTTP_X_FAULT"]] += 1
            continue
        assert "HTTP_X_FAULT" not in env, f"{path}: the app's {env['HTTP_X_FAULT']} fault vanished"
        if early:
            kinds["early"] += 1
        else:
            check_served(server, path)
    assert kinds["before"] > 0 and kinds["mid"] > 0 and kinds["early"] > 0, kinds
    assert tracker.unclosed() == [], f"{len(tracker.unclosed())} inner iterables not closed once"
    assert len(records) == FAULT_REQUESTS, "Logger must log every request"
    # nothing partial was stored: every entry now serves the whole body
    for path in PATHS[:-2]:
        for ae in ("gzip", "identity"):
            env = make_environ(PATH_INFO=path, HTTP_ACCEPT_ENCODING=ae)
            check_served(serve(app, env), path)
    stats = cache.stats()
    assert (
        stats["hits"] + stats["misses"] + stats["bypasses"] == FAULT_REQUESTS + len(PATHS[:-2]) * 2
    )


# --------------------------------------------------------------------------- misbehaving apps


class Misbehaving:
    """Apps with one protocol fault each; `closed` counts close() calls of their bodies."""

    def __init__(self, kind):
        self.kind = kind
        self.closed = 0

    def body(self, chunks):
        outer = self

        class Body:
            def __init__(self):
                self.items = iter(chunks)

            def __iter__(self):
                return self

            def __next__(self):
                return next(self.items)

            def close(self):
                outer.closed += 1
                if outer.kind == "close-raises":
                    raise RuntimeError("close boom")

        return Body()

    def __call__(self, environ, start_response):
        headers = [("Content-Type", TEXT)]
        kind = self.kind
        if kind == "status-no-reason":
            start_response("200", headers)
        elif kind == "status-not-a-number":
            start_response("OK 200", headers)
        elif kind == "status-bytes":
            start_response(b"200 OK", headers)
        elif kind == "status-out-of-range":
            start_response("999 Nope", headers)
        elif kind == "headers-tuple":
            start_response("200 OK", tuple(headers))
        elif kind == "headers-dict":
            start_response("200 OK", dict(headers))
        elif kind == "header-not-pair":
            start_response("200 OK", [("Content-Type", TEXT, "x")])
        elif kind == "start-twice":
            start_response("200 OK", headers)
            start_response("200 OK", headers)
        elif kind == "str-chunks":
            start_response("200 OK", headers)
            return self.body(["Hello str chunk " * 40])
        elif kind == "close-raises":
            start_response("200 OK", headers)
            return self.body([b"Hello close " * 60])
        else:
            raise AssertionError(kind)
        return self.body([b"Hello " * 100])


KINDS = [
    "status-no-reason",
    "status-not-a-number",
    "status-bytes",
    "status-out-of-range",
    "headers-tuple",
    "headers-dict",
    "header-not-pair",
    "start-twice",
    "str-chunks",
    "close-raises",
]
CLEAR_ERRORS = (TypeError, ValueError, AssertionError)


def misbehaving_round():
    """One bad request of each kind, then a good one, on a fresh full stack; returns the
    exceptions seen (kind -> exception or None)."""
    seen = {}
    for kind in KINDS:
        bad = Misbehaving(kind)

        def switch(environ, start_response, bad=bad):
            if environ["PATH_INFO"] == "/bad":
                return bad(environ, start_response)
            return App()(environ, start_response)

        records = []
        app, _ = full_stack(switch, records.append, routed())
        exc = None
        try:
            serve(app, make_environ(PATH_INFO="/bad", HTTP_ACCEPT_ENCODING="gzip"))
        except BaseException as e:  # noqa: BLE001 -- PanicException derives from BaseException
            exc = e
        assert type(exc).__name__ != "PanicException", f"{kind}: panic {exc!r}"
        seen[kind] = (exc, bad.closed)
        for ae in ("gzip", "identity"):
            env = make_environ(PATH_INFO="/page/1", HTTP_ACCEPT_ENCODING=ae)
            check_served(serve(app, env), "/page/1")
        assert len(records) == 3, f"{kind}: {len(records)} log records"
    return seen


def test_misbehaving_apps_get_clear_errors_and_no_panic():
    seen = misbehaving_round()
    problems = []
    for kind, (exc, closed) in seen.items():
        if kind == "close-raises":
            if exc is not None and not (isinstance(exc, RuntimeError) and str(exc) == "close boom"):
                problems.append(f"{kind}: {exc!r}")
        elif not isinstance(exc, CLEAR_ERRORS) or not str(exc):
            problems.append(f"{kind}: {exc!r}")
        if closed > 1:
            problems.append(f"{kind}: close() called {closed} times")
        if kind in ("str-chunks", "close-raises") and closed != 1:
            problems.append(f"{kind}: close() called {closed} times")
    assert problems == [], problems
