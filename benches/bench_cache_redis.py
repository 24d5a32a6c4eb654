"""Cache on a shared Redis store against Django's cache middleware on ``RedisCache`` and
flask-caching's ``RedisCache``, all on the same redis-server (started here on a free port
of 127.0.0.1, stopped at the end). Part of bench_cache.py's section.

Tables: hit latency (and Cache's in-process store beside its Redis one); miss overhead over
the bare app; hits per second from 1, 2 and 4 worker processes; where a Redis hit's time
goes (the round trip against the whole hit).
"""

from __future__ import annotations

import multiprocessing
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis as redis_py
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings
from flask_caching import Cache as FlaskCache
from runner import (
    Case,
    CaseResult,
    Ratio,
    Settings,
    WSGIApp,
    call_app,
    count_misses,
    make_environ,
    markdown_table,
    measure_all,
    results_table,
)

from wsgi_mw import Cache

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer

# Targets (issue 16).
HIT_TARGET = 0.2
MISS_TARGET = 0.3

DJANGO = "Django + cache middleware (RedisCache)"
CACHE_DJANGO = "Cache(Django, store=redis)"
FLASK = "Flask + flask-caching (RedisCache)"
CACHE_FLASK = "Cache(Flask, store=redis)"
IN_PROCESS = "Cache(app)"
ON_REDIS = "Cache(app, store=redis)"

# One Redis database per competitor, so that each one's clear() (Django's and
# flask-caching's are FLUSHDB) touches only its own entries.
DB = {DJANGO: 1, FLASK: 2, CACHE_DJANGO: 3, CACHE_FLASK: 4, ON_REDIS: 5}

TTL = 60
PROCESS_SECONDS = 1.0


@dataclass
class Competitors:
    apps: dict[str, WSGIApp]
    bare: dict[str, WSGIApp]
    flush: dict[str, Callable[[], None]]


def competitors(server: RedisServer, bench_cache) -> Competitors:
    """Every competitor on `server`, for the 2 KiB page (bench_cache's apps)."""
    url = lambda name: f"redis://127.0.0.1:{server.port}/{DB[name]}"
    _, django_bare = bench_cache.django_apps()
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url(DJANGO),
        },
    }
    # The middleware looks its cache up by alias on every request: the alias stays defined
    # for the rest of the process (the override is never disabled).
    override_settings(CACHES=caches_setting).enable()
    with override_settings(
        CACHE_MIDDLEWARE_ALIAS="redis",
        MIDDLEWARE=bench_cache.DJANGO_CACHE_MIDDLEWARE,
    ):
        django_redis = WSGIHandler()
    flask_redis = bench_cache.flask.Flask(__name__)
    flask_cache = FlaskCache(
        flask_redis,
        config={
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url(FLASK),
            "CACHE_DEFAULT_TIMEOUT": TTL,
        },
    )

    @flask_redis.get("/page/<size>")
    @flask_cache.cached(timeout=TTL)
    def cached_page(size: str):
        bench_cache.VIEW_CALLS.count += 1
        return bench_cache.flask.Response(bench_cache.BODIES[size], content_type=bench_cache.HTML)

    flask_bare, _ = bench_cache.flask_app(caching=False)
    flask_wrapped, _ = bench_cache.flask_app(caching=False)
    flask_wrapped.wsgi_app = Cache(flask_wrapped.wsgi_app, store=url(CACHE_FLASK))
    app = bench_cache.plain_app(bench_cache.BODIES["2k"])
    clients = {name: redis_py.Redis.from_url(url(name)) for name in DB}
    return Competitors(
        apps={
            DJANGO: django_redis,
            CACHE_DJANGO: Cache(django_bare, store=url(CACHE_DJANGO)),
            FLASK: flask_redis,
            CACHE_FLASK: flask_wrapped,
            IN_PROCESS: Cache(app),
            ON_REDIS: Cache(app, store=url(ON_REDIS)),
        },
        bare={
            DJANGO: django_bare,
            CACHE_DJANGO: django_bare,
            FLASK: flask_bare,
            CACHE_FLASK: flask_bare,
            ON_REDIS: app,
        },
        flush={name: client.flushdb for name, client in clients.items()},
    )


HIT_RATIOS = [
    Ratio(CACHE_DJANGO, DJANGO, target=HIT_TARGET),
    Ratio(CACHE_FLASK, FLASK, target=HIT_TARGET),
    Ratio(ON_REDIS, IN_PROCESS),
]


def miss_overhead(result: CaseResult, name: str, bare: str) -> float:
    return result.timings[name].median - result.timings[bare].median


def _hits_in_process(url: str, seconds: float, counts, index: int) -> None:
    """One worker process: Cache(app, store=url) hits for `seconds`."""
    body = b"x" * 2048

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [body]

    mw = Cache(app, store=url)
    environ = make_environ(path="/page/2k")
    call_app(mw, environ)
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        for _ in range(50):
            call_app(mw, environ)
        n += 50
    counts[index] = n


def hits_per_second(url: str, processes: int) -> float:
    context = multiprocessing.get_context("fork")
    counts = context.Array("l", processes)
    workers = [
        context.Process(target=_hits_in_process, args=(url, PROCESS_SECONDS, counts, i))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / PROCESS_SECONDS


def round_trip_us(port: int) -> float | None:
    """The p50 µs of one GET by redis-benchmark (C, one connection, no pipelining) on this
    redis-server: the floor of any client's round trip. None without redis-benchmark."""
    import csv
    import shutil
    import subprocess

    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    out = subprocess.run(
        [binary, "-p", str(port), "-t", "get", "-n", "20000", "-c", "1", "-P", "1", "-q", "--csv"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = list(csv.DictReader(out.splitlines()))
    return float(rows[0]["p50_latency_ms"]) * 1000 if rows else None


def redis_tables(settings: Settings, bench_cache) -> tuple[list[str], int]:
    """The Redis subsection's blocks and its number of missed targets."""
    server = RedisServer().start()
    try:
        made = competitors(server, bench_cache)
        environ = make_environ(path=bench_cache.page_path("2 KiB"))
        bench_cache.warm_and_check_hits({"redis": "hits"}, made.apps, environ)
        before = bench_cache.VIEW_CALLS.count
        hits = measure_all([Case({"body": "2 KiB"}, made.apps, environ)], settings)
        bench_cache.check_no_view_call(before, "redis hits")

        miss_rows = [(DJANGO, CACHE_DJANGO), (FLASK, CACHE_FLASK)]
        miss_results = []
        for python, ours in miss_rows:
            case = Case(
                {"app": python.split(" ")[0]},
                {
                    "bare app": bench_cache.ClearedBefore(made.bare[python], made.flush[python]),
                    python: bench_cache.ClearedBefore(made.apps[python], made.flush[python]),
                    ours: bench_cache.ClearedBefore(made.apps[ours], made.flush[ours]),
                },
                environ,
            )
            miss_results.extend(measure_all([case], settings))
        miss_rows_out = []
        missed = count_misses(hits, HIT_RATIOS)
        for (python, ours), result in zip(miss_rows, miss_results):
            theirs = miss_overhead(result, python, "bare app")
            mine = miss_overhead(result, ours, "bare app")
            ratio = mine / theirs if theirs > 0 else float("inf")
            miss = ratio > MISS_TARGET
            missed += miss
            miss_rows_out.append(
                [
                    python.split(" ")[0],
                    f"{theirs / 1000:+.1f}",
                    f"{mine / 1000:+.1f}",
                    f"{ratio:.2f} (target ≤ {MISS_TARGET:g}){' MISS' if miss else ''}",
                ]
            )

        url = f"redis://127.0.0.1:{server.port}/{DB[ON_REDIS]}"
        rates: dict[int, list[float]] = {n: [] for n in (1, 2, 4)}
        for _ in range(3):
            for n, runs in rates.items():
                runs.append(hits_per_second(url, n))
        one = statistics.median(rates[1])
        process_rows = [
            [
                str(n),
                f"{statistics.median(runs) / 1000:.1f}",
                f"{statistics.median(runs) / one:.2f}",
            ]
            for n, runs in rates.items()
        ]
        rtt = round_trip_us(server.port)
        redis_hit = hits[0].timings[ON_REDIS].median / 1000
        local_hit = hits[0].timings[IN_PROCESS].median / 1000
    finally:
        server.stop()
    blocks = [
        "### On a shared Redis store",
        (
            "The same 2 KiB page, every competitor on one redis-server (7.x, on 127.0.0.1, "
            "no persistence), each in a database of its own: Django's per-site cache "
            "middleware with `django.core.cache.backends.redis.RedisCache` "
            "(`CACHE_MIDDLEWARE_ALIAS`), flask-caching's `RedisCache`, and "
            '`Cache(..., store="redis://...")` on the same apps; `Cache(app)` (in-process) '
            "beside `Cache(app, store=...)` shows what the store costs. Hits are checked as "
            "in the tables above."
        ),
        results_table(hits, HIT_RATIOS),
        (
            "Misses: every timed request follows a FLUSHDB of the competitor's own database "
            "(the same one command for each, and for the bare app), so the lookup finds "
            "nothing, the app is called and the response stored. Overheads in µs over the "
            "bare app."
        ),
        markdown_table(
            ["app", "Python cache overhead (µs)", "Cache overhead (µs)", "Cache / Python cache"],
            miss_rows_out,
        ),
        (
            "Hits per second from worker processes (fork), each a `Cache(app, store=...)` "
            f"hitting the same entry for {PROCESS_SECONDS:g} s, median of 3 runs (thousands, "
            "all processes together); the machine has 2 cores, which redis-server shares."
        ),
        markdown_table(["processes", "thousand hits/s", "against 1 process"], process_rows),
        (
            f"Where a Redis hit's time goes: the hit takes {redis_hit:.1f} µs (median) "
            f"against {local_hit:.2f} µs in process, one GET round trip and the decoding of "
            "the record into the response's Python objects (status, header tuples, one bytes "
            "object). "
            + (
                f"redis-benchmark's own GET (C, one connection) on the same server takes "
                f"{rtt:.0f} µs at p50: the round trip on this machine's loopback, which no "
                "client avoids, and what bounds every competitor's hit."
                if rtt is not None
                else "redis-benchmark is not installed: the round trip alone is not shown."
            )
        ),
    ]
    return blocks, missed
