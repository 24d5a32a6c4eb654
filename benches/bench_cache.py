"""Cache against Django's cache middleware, flask-caching and a minimal Python cache.

Peers, each on the app it is made for: a Django project (configured in-process with
``settings.configure()``) with the per-site cache middleware and ``LocMemCache``, against
``Cache(application)`` on the same project without the cache middleware; a Flask view
under flask-caching's ``@cache.cached`` with ``SimpleCache``, against a Flask app
without it whose ``wsgi_app`` is ``Cache(app.wsgi_app)``; ``MinimalDictCache``
(benches/peers.py, the floor of a pure-Python cache) against ``Cache(app)`` on a plain
WSGI app.

Three tables: hit latency; miss overhead over the bare app; hits on one and on two
threads. Every hit is checked to be one (the view is not called, Cache says ``X-Cache:
HIT``), before and after timing; every miss is checked to call the view and store.

Run alone: ``python benches/bench_cache.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import statistics
import sys
import time
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version

import django
import flask
from bench_cache_redis import redis_tables
from bench_gil import MIN_ROUNDS, THREAD_RUN_SECONDS, calibrate, run_threads
from bench_gzip import HTML, html_page
from bench_rewrite import KIB
from django.conf import settings as django_settings
from django.core.cache import caches as django_caches
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings
from django.urls import path as django_path
from flask_caching import Cache as FlaskCache
from peers import MinimalDictCache, check_minimal_dict_cache, header
from runner import (
    FULL,
    Case,
    CaseResult,
    Ratio,
    Settings,
    WSGIApp,
    bench_main,
    call_app,
    count_misses,
    make_environ,
    markdown_table,
    measure_all,
    results_table,
    section,
    timing_legend,
)

import wsgi_mw
from wsgi_mw import Cache

TTL = 60  # seconds: Cache's default_ttl, CACHE_MIDDLEWARE_SECONDS, @cache.cached(timeout=)
BODY_SIZES = {"2 KiB": 2 * KIB, "64 KiB": 64 * KIB}
HOST = "127.0.0.1"  # the Host that make_environ sends

# Targets (issue 4): Cache's hit against the framework caches' and the floor's; Cache's
# miss overhead over the bare app against the floor's.
FRAMEWORK_HIT_TARGET = 0.05
MINIMAL_HIT_TARGET = 0.3
MISS_OVERHEAD_TARGET = 1.5

# Rounds of the hit and miss tables: a share of the settings' repetitions, so that the
# section takes well under a minute on 2 cores.
ROUNDS_DIVISOR = 2
# Threads: rounds per repetition of the settings (at least bench_gil's MIN_ROUNDS).
THREAD_REPETITIONS_PER_ROUND = 20

# Competitors.
DJANGO_MIDDLEWARE = "Django + cache middleware"
CACHE_DJANGO = "Cache(Django)"
FLASK_CACHING = "Flask + flask-caching"
CACHE_FLASK = "Cache(Flask)"
MINIMAL = "MinimalDictCache"
CACHE_APP = "Cache(app)"
CACHES = (CACHE_DJANGO, CACHE_FLASK, CACHE_APP)  # the ones that must say X-Cache: HIT

# Miss table: the label naming the row's Python cache, and the competitor columns.
PYTHON_CACHE = "Python cache"
BARE = "bare app"
WITH_PYTHON_CACHE = "with the Python cache"
WITH_CACHE = "with Cache"

REPRODUCE = (
    "Reproduce: `python benches/bench_cache.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


# --- the apps -------------------------------------------------------------------------


class ViewCalls:
    """How many times a view (or the plain app) has run: a hit must not add one."""

    def __init__(self) -> None:
        self.count = 0


VIEW_CALLS = ViewCalls()


def size_segment(size_label: str) -> str:
    """The path segment (and BODIES key) of a body size: "2 KiB" -> "2k"."""
    return f"{BODY_SIZES[size_label] // KIB}k"


def page_path(size_label: str) -> str:
    return f"/page/{size_segment(size_label)}"


# Page bodies by the size segment of the path, "/page/2k" or "/page/64k".
BODIES = {size_segment(label): html_page(size) for label, size in BODY_SIZES.items()}


def plain_app(body: bytes) -> WSGIApp:
    """A plain WSGI app answering ``body`` as text/html, with a Content-Length."""
    headers = [("Content-Type", HTML), ("Content-Length", str(len(body)))]
    chunks = [body]

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        VIEW_CALLS.count += 1
        start_response("200 OK", list(headers))
        return chunks

    return app


def django_page(request: HttpRequest, size: str) -> HttpResponse:
    """The Django view: ``GET /page/<size>``."""
    VIEW_CALLS.count += 1
    return HttpResponse(BODIES[size], content_type=HTML)


DJANGO_URLCONF = "bench_cache_urls"
DJANGO_CACHE_MIDDLEWARE = [
    "django.middleware.cache.UpdateCacheMiddleware",
    "django.middleware.cache.FetchFromCacheMiddleware",
]


def django_apps() -> tuple[WSGIHandler, WSGIHandler]:
    """The Django project's WSGI application with the cache middleware, and without it.

    A minimal project, configured in-process: the urlconf is a module made here, the
    settings are ``settings.configure()``'s (once per process).
    """
    if not django_settings.configured:
        urls = types.ModuleType(DJANGO_URLCONF)
        urls.urlpatterns = [django_path("page/<str:size>", django_page)]  # type: ignore[attr-defined]
        sys.modules[DJANGO_URLCONF] = urls
        django_settings.configure(
            DEBUG=False,
            SECRET_KEY="bench-cache-not-a-secret",
            ALLOWED_HOSTS=[HOST],
            ROOT_URLCONF=DJANGO_URLCONF,
            INSTALLED_APPS=[],
            MIDDLEWARE=DJANGO_CACHE_MIDDLEWARE,
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            CACHE_MIDDLEWARE_SECONDS=TTL,
        )
        django.setup()
    with override_settings(MIDDLEWARE=DJANGO_CACHE_MIDDLEWARE):
        with_middleware = WSGIHandler()
    with override_settings(MIDDLEWARE=[]):
        bare = WSGIHandler()
    return with_middleware, bare


def clear_django_cache() -> None:
    django_caches["default"].clear()


def flask_app(*, caching: bool) -> tuple[flask.Flask, FlaskCache | None]:
    """A Flask app with ``GET /page/<size>``; with ``caching``, under ``@cache.cached``."""
    app = flask.Flask(__name__)

    def page_response(size: str) -> flask.Response:
        VIEW_CALLS.count += 1
        return flask.Response(BODIES[size], content_type=HTML)

    if not caching:

        @app.get("/page/<size>")
        def page(size: str) -> flask.Response:
            return page_response(size)

        return app, None

    cache = FlaskCache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": TTL})

    @app.get("/page/<size>")
    @cache.cached(timeout=TTL)
    def cached_page(size: str) -> flask.Response:
        return page_response(size)

    return app, cache


@dataclass(frozen=True)
class Cached:
    """A caching competitor, the bare app under it, and how to empty its store."""

    app: WSGIApp
    bare: WSGIApp
    clear: Callable[[], None]


def competitors(body: bytes) -> dict[str, Cached]:
    """Every caching competitor (fresh instances, empty stores) for one page body."""
    django_middleware, django_bare = django_apps()
    cache_django = Cache(django_bare)
    flask_caching, flask_cache = flask_app(caching=True)
    assert flask_cache is not None
    flask_bare, _ = flask_app(caching=False)
    flask_wrapped, _ = flask_app(caching=False)
    cache_flask = Cache(flask_wrapped.wsgi_app)
    flask_wrapped.wsgi_app = cache_flask  # type: ignore[method-assign]
    app = plain_app(body)
    minimal = MinimalDictCache(app, ttl=TTL)
    cache_app = Cache(app)
    return {
        DJANGO_MIDDLEWARE: Cached(django_middleware, django_bare, clear_django_cache),
        CACHE_DJANGO: Cached(cache_django, django_bare, cache_django.clear),
        FLASK_CACHING: Cached(flask_caching, flask_bare, flask_cache.clear),
        CACHE_FLASK: Cached(flask_wrapped, flask_bare, cache_flask.clear),
        MINIMAL: Cached(minimal, app, minimal.clear),
        CACHE_APP: Cached(cache_app, app, cache_app.clear),
    }


# --- checks ---------------------------------------------------------------------------


def x_cache(response_headers: Iterable[tuple[str, str]]) -> str | None:
    return header(response_headers, "x-cache")


def warm_and_check_hits(
    labels: Mapping[str, str], apps: Mapping[str, WSGIApp], environ: Mapping[str, object]
) -> None:
    """Store the page in every competitor, then check that the next request is a hit.

    A hit does not call the view; Cache must also say so in X-Cache.
    """
    for name, app in apps.items():
        call_app(app, environ)  # a miss, or a hit if an earlier request stored it
        before = VIEW_CALLS.count
        response = call_app(app, environ)
        where = f"{dict(labels)}, {name}"
        if VIEW_CALLS.count != before:
            raise AssertionError(f"{where}: a request after the warming one called the view")
        if name in CACHES and x_cache(response.headers) != "HIT":
            raise AssertionError(f"{where}: X-Cache {x_cache(response.headers)!r}, not HIT")


def check_no_view_call(before: int, what: str) -> None:
    if VIEW_CALLS.count != before:
        raise AssertionError(
            f"{what}: {VIEW_CALLS.count - before} timed requests called the view: not hits"
        )


# --- hits -----------------------------------------------------------------------------


def hit_cases() -> list[Case]:
    cases = []
    for size_label in BODY_SIZES:
        cached = competitors(BODIES[size_segment(size_label)])
        cases.append(
            Case(
                {"body": size_label},
                {name: competitor.app for name, competitor in cached.items()},
                make_environ(path=page_path(size_label)),
            )
        )
    return cases


HIT_RATIOS = [
    Ratio(CACHE_DJANGO, DJANGO_MIDDLEWARE, target=FRAMEWORK_HIT_TARGET),
    Ratio(CACHE_FLASK, FLASK_CACHING, target=FRAMEWORK_HIT_TARGET),
    Ratio(CACHE_APP, MINIMAL, target=MINIMAL_HIT_TARGET),
]


def measure_hits(settings: Settings) -> list[CaseResult]:
    """Warm, check the hits, time them, check that every timed request was a hit."""
    results = []
    for case in hit_cases():
        warm_and_check_hits(case.labels, case.competitors, case.environ)
        before = VIEW_CALLS.count
        results.extend(measure_all([case], settings))
        check_no_view_call(before, f"hits, {dict(case.labels)}")
    return results


# --- misses ---------------------------------------------------------------------------


def _nothing() -> None:
    """The bare app's stand-in for a cache's clear(): the same call, nothing to clear."""


class ClearedBefore:
    """Serve every request through ``app`` after ``clear()``: always a miss that stores.

    Each request is a lookup that finds nothing, the app's response, and its store; the
    store never holds more than the one entry, so it neither grows nor evicts.
    """

    def __init__(self, app: WSGIApp, clear: Callable[[], None]) -> None:
        self.app = app
        self.clear = clear

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self.clear()
        return self.app(environ, start_response)


# Miss table rows: app name, the Python cache on it, the Cache on it.
MISS_ROWS = (
    ("WSGI app", MINIMAL, CACHE_APP),
    ("Django", DJANGO_MIDDLEWARE, CACHE_DJANGO),
    ("Flask", FLASK_CACHING, CACHE_FLASK),
)


def miss_cases() -> list[Case]:
    cases = []
    for app_name, python_name, cache_name in MISS_ROWS:
        for size_label in BODY_SIZES:
            cached = competitors(BODIES[size_segment(size_label)])
            python, cache = cached[python_name], cached[cache_name]
            cases.append(
                Case(
                    {"app": app_name, PYTHON_CACHE: python_name, "body": size_label},
                    {
                        BARE: ClearedBefore(cache.bare, _nothing),
                        WITH_PYTHON_CACHE: ClearedBefore(python.app, python.clear),
                        WITH_CACHE: ClearedBefore(cache.app, cache.clear),
                    },
                    make_environ(path=page_path(size_label)),
                )
            )
    return cases


def check_misses(case: Case) -> None:
    """Each request calls the view once; Cache says MISS; the response was stored."""
    for name, app in case.competitors.items():
        where = f"{dict(case.labels)}, {name}"
        before = VIEW_CALLS.count
        response = call_app(app, case.environ)
        if VIEW_CALLS.count != before + 1:
            raise AssertionError(f"{where}: {VIEW_CALLS.count - before} view calls, not 1")
        if name == BARE:
            continue
        if name == WITH_CACHE and x_cache(response.headers) != "MISS":
            raise AssertionError(f"{where}: X-Cache {x_cache(response.headers)!r}, not MISS")
        assert isinstance(app, ClearedBefore)
        call_app(app.app, case.environ)  # not cleared: the stored response
        if VIEW_CALLS.count != before + 1:
            raise AssertionError(f"{where}: the miss was not stored")


def median_overhead(result: CaseResult, name: str) -> float:
    """median(name) - median(bare app), ns per request."""
    return result.timings[name].median - result.timings[BARE].median


def format_signed_us(ns: float) -> str:
    us = ns / 1000
    return f"{us:+.2f}" if abs(us) < 10 else f"{us:+.1f}"


@dataclass(frozen=True)
class Overhead:
    """median(competitor) - median(bare app), µs per request."""

    name: str
    title: str

    @property
    def header(self) -> str:
        return f"{self.title} overhead (µs)"

    def cell(self, result: CaseResult) -> str:
        return format_signed_us(median_overhead(result, self.name))


@dataclass(frozen=True)
class OverheadRatio:
    """Cache's overhead over the Python cache's; a target on the MinimalDictCache rows.

    Where the Python cache's overhead is not above zero (noise on a slow app), there is
    no ratio: ``n/a``, which misses a target.
    """

    @property
    def header(self) -> str:
        return (
            f"Cache overhead / {PYTHON_CACHE} overhead "
            f"(target ≤ {MISS_OVERHEAD_TARGET:g} against {MINIMAL})"
        )

    def target(self, result: CaseResult) -> float | None:
        return MISS_OVERHEAD_TARGET if result.case.labels[PYTHON_CACHE] == MINIMAL else None

    def value(self, result: CaseResult) -> float | None:
        python = median_overhead(result, WITH_PYTHON_CACHE)
        return median_overhead(result, WITH_CACHE) / python if python > 0 else None

    def missed(self, result: CaseResult) -> bool:
        target, value = self.target(result), self.value(result)
        return target is not None and (value is None or value > target)

    def cell(self, result: CaseResult) -> str:
        value = self.value(result)
        cell = "n/a" if value is None else f"{value:.2f}"
        return f"{cell} MISS" if self.missed(result) else cell


MISS_COLUMNS = (
    Overhead(WITH_PYTHON_CACHE, PYTHON_CACHE),
    Overhead(WITH_CACHE, "Cache"),
    OverheadRatio(),
)


def measure_misses(settings: Settings) -> list[CaseResult]:
    results = []
    for case in miss_cases():
        check_misses(case)
        results.extend(measure_all([case], settings))
    return results


# --- threads --------------------------------------------------------------------------

THREAD_WORKLOADS = (CACHE_APP, MINIMAL, DJANGO_MIDDLEWARE, FLASK_CACHING)


def threads_table(settings: Settings) -> list[str]:
    """Hits per second on one thread and on two: table and legend.

    bench_gil's method: a run starts its threads together at a barrier and ends when the
    last is done; runs take turns (workload by workload, 1 then 2 threads), round after
    round. The view-call counter is checked after the runs: every request was a hit.
    """
    workloads: dict[tuple[str, str], tuple[WSGIApp, Mapping[str, object]]] = {}
    for size_label in BODY_SIZES:
        cached = competitors(BODIES[size_segment(size_label)])
        environ = make_environ(path=page_path(size_label))
        apps = {name: cached[name].app for name in THREAD_WORKLOADS}
        warm_and_check_hits({"threads": size_label}, apps, environ)
        for name, app in apps.items():
            workloads[name, size_label] = (app, environ)

    before = VIEW_CALLS.count
    requests = {key: calibrate(app, environ) for key, (app, environ) in workloads.items()}
    rounds = max(MIN_ROUNDS, settings.repetitions // THREAD_REPETITIONS_PER_ROUND)
    started = time.perf_counter()
    throughput: dict[tuple[str, str, int], list[float]] = {
        (*key, threads): [] for key in workloads for threads in (1, 2)
    }
    for _ in range(rounds):
        for key, (app, environ) in workloads.items():
            for threads in (1, 2):
                elapsed = run_threads(app, environ, threads, requests[key])
                # requests per ns * 10⁶: thousands of requests per second
                throughput[(*key, threads)].append(threads * requests[key] / elapsed * 1e6)
    print(f"  threads: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    check_no_view_call(before, "threads")

    headers = ["competitor", "body", "1 thread", "2 threads", "scaling"]
    rows = []
    for name, size_label in workloads:
        one, two = (statistics.median(throughput[name, size_label, threads]) for threads in (1, 2))
        rows.append(
            [
                name,
                size_label,
                f"{one:.0f} / {max(throughput[name, size_label, 1]):.0f}",
                f"{two:.0f} / {max(throughput[name, size_label, 2]):.0f}",
                f"{two / one:.2f}",
            ]
        )
    legend = (
        "Throughput is thousands of hits per second, all threads together, `median / max` "
        f"over {rounds} interleaved runs of ~{THREAD_RUN_SECONDS * 1000:g} ms of work per "
        "thread (requests per thread calibrated per workload on one thread, the same for "
        "both thread counts). Scaling: median(2 threads) / median(1 thread)."
    )
    return [markdown_table(headers, rows), legend]


# --- the section ----------------------------------------------------------------------


def table_settings(settings: Settings) -> Settings:
    return Settings(max(1, settings.repetitions // ROUNDS_DIVISOR), settings.sample_seconds)


def run(settings: Settings = FULL) -> str:
    """Time Cache against Django's cache middleware, flask-caching and MinimalDictCache."""
    check_minimal_dict_cache()
    tables = table_settings(settings)
    hits = measure_hits(tables)
    misses = measure_misses(tables)
    threads = threads_table(settings)
    redis_blocks, redis_missed = redis_tables(tables, sys.modules[__name__])
    missed = (
        redis_missed
        + count_misses(hits, HIT_RATIOS)
        + sum(
            column.missed(result)
            for result in misses
            for column in MISS_COLUMNS
            if isinstance(column, OverheadRatio)
        )
    )
    return section(
        "Cache: response caching",
        f"`wsgi_mw.Cache` from wsgi_mw {wsgi_mw.__version__} with its defaults "
        f"(`default_ttl={TTL}`), against the Python caches users would otherwise run, each "
        f"on the app it is made for. Django {version('django')}: a minimal project "
        "configured in-process (`settings.configure()`) whose only middleware is the "
        "per-site cache (`UpdateCacheMiddleware` first, `FetchFromCacheMiddleware` last, "
        f"`LocMemCache`, `CACHE_MIDDLEWARE_SECONDS = {TTL}`), against `Cache(application)` "
        f"on the same project without the cache middleware. Flask {version('flask')}: the "
        f"view under flask-caching {version('flask-caching')}'s "
        f"`@cache.cached(timeout={TTL})` with `SimpleCache`, against an app without it "
        "whose `wsgi_app` is `Cache(app.wsgi_app)`. The floor of a Python cache: "
        "`MinimalDictCache` (benches/peers.py: a dict from scheme, host, script name, path "
        "and query string to the joined 200 response of a GET, a TTL checked with "
        "`time.monotonic`, no HTTP semantics) against `Cache(app)`, on a plain WSGI app. "
        "Every app answers `GET /page/2k` or `/page/64k` with the same product-listing "
        "HTML page (bench_gzip's) of 2 KiB or 64 KiB, one chunk; the runner checks that "
        f"every competitor sends the same body before it is timed. {REPRODUCE}",
        "### Hits",
        "Each competitor is warmed with one request; the next one is checked to be a hit "
        "(the view, or the plain app, is not called; Cache answers `X-Cache: HIT`), and the "
        "view calls are counted again after timing: every timed request was a hit. "
        "Django's `LocMemCache` and flask-caching's `SimpleCache` pickle the response when "
        "they store it and unpickle it on every hit; MinimalDictCache and Cache answer "
        "with the stored bytes. A Cache hit never reaches Django or Flask, so the Cache "
        "columns differ only by what is around Cache (Flask's `__call__`).",
        results_table(hits, HIT_RATIOS),
        "### Misses",
        "A miss: the lookup finds nothing, the app is called, its response is stored. "
        "Every timed request is made one by calling the competitor's own `clear()` just "
        "before it (`Cache.clear()`, `MinimalDictCache.clear()`, `LocMemCache.clear()`, "
        "flask-caching's `cache.clear()`) on a store that holds that one entry; the bare "
        "app is wrapped the same way around a call that does nothing, so the overhead, "
        "median(competitor) − median(bare app), is what the cache adds, emptying a "
        "one-entry store included. Not unique query strings: they would grow "
        "MinimalDictCache's dict without bound and make Cache evict once its byte budget "
        "is full, and flask-caching ignores the query string; not a request "
        "`Cache-Control: no-cache`: a refresh (no lookup) for Cache, ignored by all three "
        "Python caches. Each competitor "
        "is checked first: a request calls the view once (Cache says `X-Cache: MISS`) and "
        "the next request without `clear()` is a hit. The ratio is Cache's overhead over "
        "the Python cache's.",
        results_table(misses, MISS_COLUMNS),
        timing_legend(tables),
        "### Hits on two threads",
        "Total hits per second of one thread and of two threads requesting the same page "
        "from the same cache concurrently (`threading.Thread`, started together at a "
        "barrier, a fixed number of requests each, as in `bench_gil.py`). A hit is short "
        "and holds the GIL for most of its time in every competitor, so two threads share "
        "one interpreter: scaling near 1.00 means the second thread costs nothing, below "
        "it the threads get in each other's way (the GIL handed back and forth, the "
        "store's lock).",
        *threads,
        *redis_blocks,
        f"Ratios marked MISS in this section: {missed}."
        if missed
        else "Every ratio in this section meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
