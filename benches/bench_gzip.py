"""Gzip against pure-Python gzip middleware, flask-compress, and the compressor alone.

Peers: ``paste.gzipper`` (buffers the body through ``gzip.GzipFile``), ``DjangoStyleGzip``
(benches/peers.py: Django's ``compress_sequence``, streaming) and, on a Flask app,
flask-compress. The floor is ``wsgi_mw._native._bench.gzip_floor``: the one-shot compression
Gzip gives a whole body (libdeflate), with no WSGI around it. Streamed bodies are compressed
by zlib-rs, so their Gzip/floor ratio also measures zlib-rs against libdeflate.

Compressed streams differ byte for byte between compressors (zlib against zlib-rs, the
gzip header's mtime), so the runner's same-bytes check does not apply: every
competitor's output is checked to ``gzip.decompress`` to the body instead, before it is
timed. Timing is the runner's (calibrated ~10 ms samples, interleaved).

Run alone: ``python benches/bench_gzip.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version

import flask
import flask_compress
import paste.gzipper
from bench_gil import MIN_ROUNDS, THREAD_RUN_SECONDS, calibrate, run_threads
from bench_rewrite import KIB, list_app, split_evenly
from peers import DjangoStyleGzip, check_django_style_gzip, header
from runner import (
    FULL,
    Case,
    CaseResult,
    Settings,
    Timing,
    WSGIApp,
    _calibrate,
    _sample,
    bench_main,
    call_app,
    make_environ,
    markdown_table,
    results_table,
    section,
    timing_legend,
)

import wsgi_mw
from wsgi_mw import Gzip, _native

LEVEL = 6
ACCEPT_ENCODING = "gzip, deflate, br"  # what browsers send
HTML = "text/html; charset=utf-8"
JSON = "application/json"
MIB = 1024 * KIB
BODY_SIZES = {"1 KiB": KIB, "16 KiB": 16 * KIB, "256 KiB": 256 * KIB, "4 MiB": 4 * MIB}
CHUNK_COUNTS = (1, 64)
# Ratio targets: Gzip against the fastest pure-Python peer, by body size; Gzip against
# the floor from FLOOR_TARGET_FROM on (below it, per-request costs the floor does not
# pay are a real share).
SMALL_BODY_MAX = 16 * KIB
PEER_TARGET_SMALL = 0.3
PEER_TARGET_LARGE = 1.0
FLOOR_TARGET = 1.05
FLOOR_TARGET_FROM = 256 * KIB
FLASK_SIZES = ("16 KiB", "256 KiB")
STREAMED_SIZES = ("16 KiB", "256 KiB")

# Rounds: a share of the settings' repetitions, so the section fits its time budget on
# 2 cores; a 4 MiB request takes ~0.1 s per competitor with zlib, hence fewer rounds.
ROUNDS_DIVISOR = 2
LARGE_BODY_FROM = 4 * MIB
LARGE_ROUNDS_DIVISOR = 10

# Two threads: body, chunkings, rounds per repetition of the settings, target.
THREAD_BODY_LABEL = "256 KiB"
THREAD_REPETITIONS_PER_ROUND = 10
SCALING_TARGET = 1.8

GZIP = "Gzip"
PASTE = "paste.gzipper"
DJANGO = "DjangoStyleGzip"
FLOOR = "floor"
PEERS = (PASTE, DJANGO)
FLASK_COMPRESS = "Flask + flask-compress"
FLASK_GZIP = "Flask + Gzip(app.wsgi_app)"
FLASK_ALONE = "Flask alone (no compression)"

REPRODUCE = (
    "Reproduce: `python benches/bench_gzip.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


# --- bodies ---------------------------------------------------------------------------

# Words are made of these syllables: pronounceable, and no real text's copyright.
SYLLABLES = [consonant + vowel for consonant in "bdfgklmnprstv" for vowel in "aeiou"]
CATEGORIES = ("garden", "kitchen", "outdoor", "lighting", "storage", "office", "bath", "kids")
VOCABULARY_SIZE = 800
# A record or card whose description would leave less than this to fill becomes the
# last one, its description cut to fill the body exactly.
LAST_ITEM_MARGIN = 500


class Words:
    """A made-up vocabulary drawn Zipf-like, as words of real text are: realistic entropy."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = [
            "".join(rng.choices(SYLLABLES, k=rng.choice((1, 2, 2, 3, 3, 4))))
            for _ in range(VOCABULARY_SIZE)
        ]
        ranks = range(1, VOCABULARY_SIZE + 1)
        self.cum_weights = list(itertools.accumulate(1 / rank for rank in ranks))

    def text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum_weights, k=count))

    def exactly(self, length: int) -> str:
        """Text of exactly ``length`` characters."""
        text = self.text(length // 3 + 1, length // 3 + 1)
        while len(text) < length:
            text += " " + self.text(8, 16)
        return text[:length]


HTML_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s | Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/css/main.4f2a9c.css">
<script src="/static/js/app.81d0e3.js" defer></script></head>
<body class="catalog"><header class="site-header"><nav><ul>
%(nav)s</ul></nav></header>
<main id="content"><h1>%(title)s</h1>
"""
HTML_NAV_ITEM = '<li><a href="/c/%s">%s</a></li>\n'
HTML_CARD = """<article class="product-card" data-sku="SKU-%(id)05d" data-category="%(cat)s">
<a href="/p/%(id)d-%(slug)s"><img src="/img/p/%(id)d-320w.webp" alt="%(name)s" \
loading="lazy" width="320" height="240"></a>
<h2 class="product-card__title">%(title)s</h2>
<p class="product-card__desc">%(desc)s</p>
<span class="price" data-currency="EUR">%(price)s</span> <span class="stock">%(stock)s</span>
</article>
"""
HTML_FILLER = '<p class="intro">%s</p>\n'
HTML_TAIL = "</main><footer><p>&copy; 2025 Example Shop</p></footer></body></html>\n"


def _fill(
    size: int,
    frame: tuple[str, str, str, str],
    new_item: Callable[[], Callable[[str], str]],
    words: Words,
) -> bytes:
    """Head, items, tail (``frame``: head, separator, tail, filler): ``size`` bytes.

    ``new_item()`` draws one item and returns its renderer: ``render(description)``.
    The last item's description is cut (or grown) to make the size exact; where not
    even an item with an empty description fits, ``filler % text`` takes the rest.
    """
    head, separator, tail, filler = frame
    parts = [head]
    gap = size - len(head) - len(tail)
    while gap > 0:
        render = new_item()
        lead = separator if len(parts) > 1 else ""
        base = len(lead) + len(render(""))
        description = words.text(8, 30)
        if gap - base - len(description) < LAST_ITEM_MARGIN:
            if gap >= base:
                parts.append(lead + render(words.exactly(gap - base)))
            elif gap >= len(filler % ""):
                parts.append(filler % words.exactly(gap - len(filler % "")))
            else:
                raise ValueError(f"{size} bytes: no room left for a filler")
            break
        parts.append(lead + render(description))
        gap -= base + len(description)
    parts.append(tail)
    body = "".join(parts).encode()
    assert len(body) == size, (len(body), size)
    return body


def html_page(size: int) -> bytes:
    """A product-listing page of exactly ``size`` bytes: head, nav, product cards."""
    rng = random.Random(size)
    words = Words(rng)
    title = words.text(2, 4).title()
    nav = "".join(HTML_NAV_ITEM % (name, name.title()) for name in CATEGORIES[:5])
    stock = ("In stock", "Only 3 left", "Back soon")

    def new_card() -> Callable[[str], str]:
        product = rng.randint(1, 99999)
        name = words.text(2, 5)
        fields = {
            "id": product,
            "cat": rng.choice(CATEGORIES),
            "slug": name.replace(" ", "-"),
            "name": name,
            "title": name.title(),
            "price": f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}",
            "stock": rng.choice(stock),
        }
        return lambda description: HTML_CARD % {**fields, "desc": description}

    head = HTML_HEAD % {"title": title, "nav": nav}
    return _fill(size, (head, "", HTML_TAIL, HTML_FILLER), new_card, words)


def json_document(size: int) -> bytes:
    """A page of an API's product list, compact JSON of exactly ``size`` bytes."""
    rng = random.Random(size + 1)
    words = Words(rng)

    def new_record() -> Callable[[str], str]:
        product = rng.randint(1, 99999)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        record = {
            "id": product,
            "sku": f"SKU-{product:05d}",
            "url": f"/p/{product}",
            "image": f"/img/p/{product}-320w.webp",
            "name": words.text(2, 5).title(),
            "description": "",
            "category": rng.choice(CATEGORIES),
            "price": {"amount": rng.randint(100, 99999) / 100, "currency": "EUR"},
            "stock": rng.randint(0, 500),
            "rating": round(rng.uniform(1, 5), 1),
            "tags": rng.sample(CATEGORIES, rng.randint(0, 3)),
            "created_at": f"2024-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z",
            "active": rng.random() < 0.9,
        }
        return lambda description: json.dumps(
            {**record, "description": description}, separators=(",", ":")
        )

    frame = ('{"page":1,"per_page":100,"items":[', ",", "]}", "")
    body = _fill(size, frame, new_record, words)
    json.loads(body)  # a body that is not JSON would be a bug here
    return body


BODIES = {"HTML": (html_page, HTML, "/catalog"), "JSON": (json_document, JSON, "/api/products")}


# --- competitors ----------------------------------------------------------------------

gzip_floor = _native._bench.gzip_floor


class Floor:
    """The floor: ``_bench.gzip_floor(body, LEVEL)`` per request, no WSGI around it.

    Callable like an app, so the runner times it like one; it never calls
    start_response and returns a one-item tuple.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __call__(self, environ: dict, start_response: Callable) -> tuple[bytes]:
        return (gzip_floor(self.body, LEVEL),)


def streaming_app(chunks: Sequence[bytes], content_type: str) -> WSGIApp:
    """An app answering with a generator over ``chunks``, no Content-Length.

    It calls start_response before it returns, as Werkzeug does for a streamed
    response: paste.gzipper fails on an app that calls it in the first ``next()`` (it
    decides whether to compress before it iterates, then closes its own buffer).
    """

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", content_type)])
        return (chunk for chunk in chunks)

    return app


def gzip_competitors(app: WSGIApp, body: bytes) -> dict[str, WSGIApp]:
    return {
        GZIP: Gzip(app, level=LEVEL),
        PASTE: paste.gzipper.middleware(app, compress_level=LEVEL),
        DJANGO: DjangoStyleGzip(app, compresslevel=LEVEL),
        FLOOR: Floor(body),
    }


def flask_app(body: bytes, *, compress: bool) -> flask.Flask:
    """A Flask app serving ``body`` as text/html on ``GET /catalog``.

    With ``compress``, flask-compress set to gzip at LEVEL: by default it prefers zstd
    and br, and would answer this bench's ``Accept-Encoding: gzip, deflate, br`` with br.
    """
    app = flask.Flask(__name__)
    if compress:
        app.config.update(COMPRESS_ALGORITHM="gzip", COMPRESS_LEVEL=LEVEL)
        flask_compress.Compress(app)

    @app.get("/catalog")
    def catalog() -> flask.Response:
        return flask.Response(body, content_type=HTML)

    return app


def flask_competitors(body: bytes) -> dict[str, WSGIApp]:
    wrapped = flask_app(body, compress=False)
    wrapped.wsgi_app = Gzip(wrapped.wsgi_app, level=LEVEL)  # type: ignore[method-assign]
    return {
        FLASK_COMPRESS: flask_app(body, compress=True),
        FLASK_GZIP: wrapped,
        FLASK_ALONE: flask_app(body, compress=False),
    }


# --- checking and measuring -----------------------------------------------------------


@dataclass(frozen=True)
class GzipCase:
    """A runner Case plus what its gzip streams must decompress to."""

    case: Case
    body: bytes
    identity: frozenset[str] = frozenset()  # competitors that send the body uncompressed


def check_gzip(gzip_case: GzipCase) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes sent and ns taken per competitor; AssertionError unless each sent the body.

    A WSGI competitor must say ``Content-Encoding: gzip``, keep any Content-Length exact
    and send a gzip stream that decompresses to the body (or, if it is in ``identity``,
    the body itself). The floor's output must decompress to the body.
    """
    case, body = gzip_case.case, gzip_case.body
    sizes, elapsed = {}, {}
    for name, app in case.competitors.items():
        where = f"{dict(case.labels)}, {name}"
        started = time.perf_counter_ns()
        if isinstance(app, Floor):
            sent = b"".join(app(dict(case.environ), None))
            elapsed[name] = time.perf_counter_ns() - started
        else:
            response = call_app(app, case.environ)
            elapsed[name] = time.perf_counter_ns() - started
            sent = response.body
            length = header(response.headers, "content-length")
            if length is not None and int(length) != len(sent):
                raise AssertionError(f"{where}: Content-Length {length}, sent {len(sent)}")
            encoding = header(response.headers, "content-encoding")
            if name in gzip_case.identity:
                if encoding is not None or sent != body:
                    raise AssertionError(f"{where}: not the body as is ({encoding})")
                sizes[name] = len(sent)
                continue
            if encoding != "gzip":
                raise AssertionError(f"{where}: Content-Encoding {encoding!r}")
        if gzip.decompress(sent) != body:
            raise AssertionError(f"{where}: does not decompress to the {len(body)}-byte body")
        sizes[name] = len(sent)
    return sizes, elapsed


def measure_gzip(gzip_case: GzipCase, settings: Settings) -> tuple[CaseResult, dict[str, int]]:
    """runner.measure() with check_gzip in place of its same-bytes check.

    A competitor whose checked request took two samples' time or more serves one
    request per sample (what runner calibration would find, without another request).
    """
    sizes, elapsed = check_gzip(gzip_case)
    return measure_checked(gzip_case.case, elapsed, settings), sizes


def measure_checked(case: Case, elapsed: dict[str, int], settings: Settings) -> CaseResult:
    """Time a case whose competitors were checked already (``elapsed``: ns each took then).

    A competitor whose checked request took two samples' time or more serves one request
    per sample (what runner calibration would find, without another request).
    """
    sample_ns = settings.sample_seconds * 1e9
    requests = {
        name: 1 if elapsed[name] >= 2 * sample_ns else _calibrate(app, case.environ, sample_ns)
        for name, app in case.competitors.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in case.competitors}
    for _ in range(settings.repetitions):
        for name, app in case.competitors.items():
            samples[name].append(_sample(app, case.environ, requests[name]) / requests[name])
    timings = {name: Timing(requests[name], tuple(values)) for name, values in samples.items()}
    return CaseResult(case, timings)


def rounds_for(size: int, settings: Settings) -> Settings:
    """The settings for a body of ``size`` bytes: fewer rounds for the largest bodies."""
    divisor = LARGE_ROUNDS_DIVISOR if size >= LARGE_BODY_FROM else ROUNDS_DIVISOR
    return Settings(max(1, settings.repetitions // divisor), settings.sample_seconds)


def measure_cases(
    cases: Sequence[GzipCase], settings: Settings
) -> tuple[list[CaseResult], list[dict[str, int]]]:
    """Measure each case in turn, reporting progress on stderr."""
    results, sizes = [], []
    for gzip_case in cases:
        started = time.perf_counter()
        result, sent = measure_gzip(gzip_case, rounds_for(len(gzip_case.body), settings))
        results.append(result)
        sizes.append(sent)
        label = ", ".join(f"{key} {value}" for key, value in gzip_case.case.labels.items())
        print(f"  {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return results, sizes


# --- ratio columns --------------------------------------------------------------------


def _body_size(result: CaseResult) -> int:
    return BODY_SIZES[result.case.labels["size"]]


@dataclass(frozen=True)
class PeerRatio:
    """median(candidate) / median(fastest of PEERS), with a target by body size."""

    candidate: str
    with_target: bool = True

    @property
    def header(self) -> str:
        name = f"{self.candidate}/fastest peer"
        if not self.with_target:
            return name
        small = f"{SMALL_BODY_MAX // KIB} KiB"
        return f"{name} (target ≤ {PEER_TARGET_SMALL:g} to {small}, ≤ {PEER_TARGET_LARGE:g} above)"

    def target(self, result: CaseResult) -> float | None:
        if not self.with_target:
            return None
        return PEER_TARGET_SMALL if _body_size(result) <= SMALL_BODY_MAX else PEER_TARGET_LARGE

    def value(self, result: CaseResult) -> float:
        fastest = min(PEERS, key=lambda peer: result.timings[peer].median)
        return result.ratio(self.candidate, fastest)

    def cell(self, result: CaseResult) -> str:
        cell = _ratio_cell(self.value(result), self.target(result))
        if not self.with_target:
            return cell
        return f"{cell} ({min(PEERS, key=lambda peer: result.timings[peer].median)})"


@dataclass(frozen=True)
class FloorRatio:
    """median(Gzip) / median(floor), with a target from FLOOR_TARGET_FROM on."""

    @property
    def header(self) -> str:
        return f"{GZIP}/{FLOOR} (target ≤ {FLOOR_TARGET:g} from {FLOOR_TARGET_FROM // KIB} KiB)"

    def target(self, result: CaseResult) -> float | None:
        return FLOOR_TARGET if _body_size(result) >= FLOOR_TARGET_FROM else None

    def value(self, result: CaseResult) -> float:
        return result.ratio(GZIP, FLOOR)

    def cell(self, result: CaseResult) -> str:
        return _ratio_cell(self.value(result), self.target(result))


def _ratio_cell(value: float, target: float | None) -> str:
    return f"{value:.2f} MISS" if target is not None and value > target else f"{value:.2f}"


GZIP_RATIOS = (PeerRatio(GZIP), PeerRatio(FLOOR, with_target=False), FloorRatio())


def count_misses(results: Sequence[CaseResult], ratios: Sequence[PeerRatio | FloorRatio]) -> int:
    return sum(
        (target := ratio.target(result)) is not None and ratio.value(result) > target
        for result in results
        for ratio in ratios
    )


# --- tables ---------------------------------------------------------------------------


def main_cases() -> tuple[list[GzipCase], list[GzipCase]]:
    """The list-bodied cases (every kind, size, chunking) and the streamed ones."""
    listed, streamed = [], []
    for kind, (make_body, content_type, path) in BODIES.items():
        environ = make_environ(path=path, HTTP_ACCEPT_ENCODING=ACCEPT_ENCODING)
        for size_label, size in BODY_SIZES.items():
            body = make_body(size)
            for chunk_count in CHUNK_COUNTS:
                chunks = split_evenly(body, chunk_count)
                labels = {"body": kind, "size": size_label, "chunks": str(chunk_count)}
                app = list_app(chunks, content_type)
                case = Case(labels, gzip_competitors(app, body), environ)
                listed.append(GzipCase(case, body))
                if kind == "HTML" and size_label in STREAMED_SIZES and chunk_count > 1:
                    app = streaming_app(chunks, content_type)
                    case = Case(labels, gzip_competitors(app, body), environ)
                    streamed.append(GzipCase(case, body))
    return listed, streamed


def sizes_table(results: Sequence[CaseResult], sizes: Sequence[dict[str, int]]) -> str:
    """Bytes sent per competitor and body, and the body's size over the floor's.

    One row per body and size; a cell has one size, or, where the chunkings of that
    body differ, each chunking's in the order of ``results``.
    """
    names = list(results[0].case.competitors)
    sent: dict[tuple[str, str], dict[str, list[int]]] = {}
    for result, by_name in zip(results, sizes):
        row = sent.setdefault((result.case.labels["body"], result.case.labels["size"]), {})
        for name in names:
            row.setdefault(name, []).append(by_name[name])
    rows = [
        [
            kind,
            size_label,
            *(_sizes_cell(row[name]) for name in names),
            f"{BODY_SIZES[size_label] / row[FLOOR][0]:.1f}",
        ]
        for (kind, size_label), row in sent.items()
    ]
    return markdown_table(["body", "size", *names, "body/floor"], rows)


def _sizes_cell(sizes: Sequence[int]) -> str:
    return str(sizes[0]) if len(set(sizes)) == 1 else " / ".join(map(str, sizes))


def flask_cases() -> list[GzipCase]:
    environ = make_environ(path="/catalog", HTTP_ACCEPT_ENCODING=ACCEPT_ENCODING)
    cases = []
    for size_label in FLASK_SIZES:
        body = html_page(BODY_SIZES[size_label])
        case = Case({"body": "HTML", "size": size_label}, flask_competitors(body), environ)
        cases.append(GzipCase(case, body, identity=frozenset({FLASK_ALONE})))
    return cases


@dataclass(frozen=True)
class PlainRatio:
    """median(candidate) / median(baseline), no target."""

    candidate: str
    baseline: str

    @property
    def header(self) -> str:
        return f"{self.candidate}/{self.baseline}"

    def cell(self, result: CaseResult) -> str:
        return f"{result.ratio(self.candidate, self.baseline):.2f}"


FLASK_RATIOS = (PlainRatio(FLASK_GZIP, FLASK_COMPRESS),)


def thread_workloads() -> dict[str, tuple[WSGIApp, bool]]:
    """The threads table's rows: name -> (app, has a scaling target).

    Each app is checked to send the body (gzip-decoded) before it is timed.
    """
    size = BODY_SIZES[THREAD_BODY_LABEL]
    body = html_page(size)
    environ = make_environ(path="/catalog", HTTP_ACCEPT_ENCODING=ACCEPT_ENCODING)
    chunks = split_evenly(body, CHUNK_COUNTS[-1])
    count = len(chunks)
    workloads: dict[str, tuple[WSGIApp, bool]] = {
        f"{GZIP}, 1 chunk": (Gzip(list_app([body], HTML), level=LEVEL), True),
        f"{GZIP}, {count} chunks": (Gzip(list_app(chunks, HTML), level=LEVEL), True),
        f"{GZIP}, {count} chunks streamed (generator)": (
            Gzip(streaming_app(chunks, HTML), level=LEVEL),
            True,
        ),
        f"{DJANGO}, 1 chunk (control)": (DjangoStyleGzip(list_app([body], HTML)), False),
        f"{DJANGO}, {count} chunks (control)": (DjangoStyleGzip(list_app(chunks, HTML)), False),
        f"{FLOOR} (control)": (Floor(body), False),
    }
    case = Case({"threads": THREAD_BODY_LABEL}, {n: a for n, (a, _t) in workloads.items()}, environ)
    check_gzip(GzipCase(case, body))
    return workloads


def threads_table(settings: Settings) -> tuple[list[str], int]:
    """MB/s of body compressed by one thread and by two: table, legend; and misses.

    bench_gil's method: a run starts its threads together at a barrier and ends when the
    last is done; runs take turns (workload by workload, 1 then 2 threads), round after
    round.
    """
    size = BODY_SIZES[THREAD_BODY_LABEL]
    environ = make_environ(path="/catalog", HTTP_ACCEPT_ENCODING=ACCEPT_ENCODING)
    workloads = thread_workloads()
    requests = {name: calibrate(app, environ) for name, (app, _target) in workloads.items()}
    rounds = max(MIN_ROUNDS, settings.repetitions // THREAD_REPETITIONS_PER_ROUND)

    started = time.perf_counter()
    throughput: dict[tuple[str, int], list[float]] = {
        (name, threads): [] for name in workloads for threads in (1, 2)
    }
    for _ in range(rounds):
        for name, (app, _target) in workloads.items():
            for threads in (1, 2):
                elapsed = run_threads(app, environ, threads, requests[name])
                # bytes per ns is GB/s: * 1000 for MB/s
                throughput[name, threads].append(threads * requests[name] * size / elapsed * 1000)
    print(f"  threads: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    headers = [
        f"workload ({THREAD_BODY_LABEL} text/html body)",
        "1 thread",
        "2 threads",
        f"scaling (target ≥ {SCALING_TARGET:g} for {GZIP})",
    ]
    rows = []
    misses = 0
    for name, (_app, has_target) in workloads.items():
        one, two = (statistics.median(throughput[name, threads]) for threads in (1, 2))
        missed = has_target and two / one < SCALING_TARGET
        misses += missed
        rows.append(
            [
                name,
                f"{one:.0f} / {max(throughput[name, 1]):.0f}",
                f"{two:.0f} / {max(throughput[name, 2]):.0f}",
                f"{two / one:.2f} MISS" if missed else f"{two / one:.2f}",
            ]
        )
    legend = (
        "Throughput is MB/s (10⁶ bytes of body compressed per second, all threads "
        f"together), `median / max` over {rounds} interleaved runs of ~"
        f"{THREAD_RUN_SECONDS * 1000:g} ms of work per thread (requests per thread "
        "calibrated per workload on one thread, the same for both thread counts). "
        "Scaling: median(2 threads) / median(1 thread); 2.00 is perfect on 2 cores."
    )
    return [markdown_table(headers, rows), legend], misses


def run(settings: Settings = FULL) -> str:
    """Time Gzip against paste.gzipper, DjangoStyleGzip, flask-compress and the floor."""
    check_django_style_gzip(trials=200)
    listed, streamed = main_cases()
    results, sizes = measure_cases(listed, settings)
    streamed_results, streamed_sizes = measure_cases(streamed, settings)
    flask_results, _flask_sizes = measure_cases(flask_cases(), settings)
    threads, thread_misses = threads_table(settings)
    misses = (
        count_misses(results, GZIP_RATIOS)
        + count_misses(streamed_results, GZIP_RATIOS)
        + thread_misses
    )
    small = rounds_for(KIB, settings)
    large = rounds_for(LARGE_BODY_FROM, settings).repetitions
    return section(
        "Gzip: response compression",
        f"`wsgi_mw.Gzip` from wsgi_mw {wsgi_mw.__version__} at level {LEVEL}, against "
        f"`paste.gzipper.middleware` (paste {version('paste')}: buffers the body "
        "through `gzip.GzipFile`, sends it with a Content-Length) and `DjangoStyleGzip` "
        "(benches/peers.py: Django's `compress_sequence`, a `GzipFile` streaming into a "
        "buffer emptied per chunk, no flush per chunk). The floor is "
        f"`_native._bench.gzip_floor(body, {LEVEL})`: the whole body through libdeflate (what "
        "Gzip does with a whole body), no WSGI; a streamed body goes through zlib-rs, so its "
        f"Gzip/floor also compares the two encoders. Requests send `Accept-Encoding: {ACCEPT_ENCODING}`; the peers use the "
        f"interpreter's zlib {zlib.ZLIB_RUNTIME_VERSION}. Every competitor's output is "
        "checked to `gzip.decompress` to the body (and the headers to say gzip, with an "
        f"exact or no Content-Length) before it is timed. {REPRODUCE}",
        "Bodies: a product-listing HTML page (`text/html`) and an API page of product "
        "records (compact `application/json`), generated deterministically from a made-up "
        "Zipf-distributed vocabulary, of exactly the given size; the app returns them as "
        "a list of 1 or 64 equal chunks, with a Content-Length and a strong ETag. The "
        "fastest peer is the faster of paste.gzipper and DjangoStyleGzip, by median.",
        results_table(results, GZIP_RATIOS),
        "Streamed: the same HTML bodies as a generator of 64 chunks (no Content-Length), "
        "which Gzip compresses chunk by chunk instead of as one gathered body.",
        results_table(streamed_results, GZIP_RATIOS),
        "Bytes sent (gzip header and trailer included; where the chunkings differ: 1 "
        "chunk / 64 chunks / 64 streamed, if streamed) and the body's size over the "
        "floor's output, its compression ratio:",
        sizes_table([*results, *streamed_results], [*sizes, *streamed_sizes]),
        "### Flask",
        f"One Flask {version('flask')} route returning the HTML body: with flask-compress "
        f"{version('flask-compress')} (`COMPRESS_ALGORITHM='gzip'`, level {LEVEL}: its "
        "default order prefers zstd and br, and would answer this client with br), and "
        "without it under `app.wsgi_app = Gzip(app.wsgi_app)`; Flask alone, uncompressed, "
        "for reference.",
        results_table(flask_results, FLASK_RATIOS),
        timing_legend(small)
        + f" Rows of {LARGE_BODY_FROM // MIB} MiB bodies: {large} sample"
        + ("s." if large != 1 else "."),
        "### Two threads",
        "Total throughput of one thread and of two threads serving the same "
        f"{THREAD_BODY_LABEL} HTML page concurrently (`threading.Thread`, started together "
        "at a barrier, a fixed number of requests each, as in `bench_gil.py`). Gzip "
        "compresses a list body gathered whole, or a streamed body chunk by chunk (here "
        f"{BODY_SIZES[THREAD_BODY_LABEL] // CHUNK_COUNTS[-1] // KIB} KiB each), with the "
        "GIL released when the work is large enough (rust/wsgi/gil.rs). Controls: "
        "DjangoStyleGzip (CPython's zlib releases the GIL in every `compress()` call) and "
        "the floor.",
        *threads,
        f"Ratios marked MISS in this section: {misses}."
        if misses
        else "Every ratio in this section meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
