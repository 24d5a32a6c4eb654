"""Logger against paste.translogger, wsgi-request-logger and a hand-written Python logger.

Peers, in the same run, each writing the combined format to its own file: ``paste``'s
``TransLogger`` (a ``logging.Logger`` with a ``FileHandler``), wsgi-request-logger's
``WSGILogger`` (its ``FileHandler`` and ``ApacheFormatter``) and ``PyCombinedLogger``
(benches/peers.py: the line built at ``close()``, ``time.strftime``, ``logging`` to a
``FileHandler``); ``Logger(app, sink=path)``, and ``Logger(app)`` logging through a
``FileHandler`` on ``wsgi_mw.access``. All wrap one small static app.

Three tables: the time per request and what each logger adds to the bare app; log lines
per second on one thread and on two sharing one logger; the same with one process and
with two, each with its own logger appending to one shared file (pre-fork workers). After
each table, every log file is checked to hold exactly one whole combined line per request
served.

Run alone: ``python benches/bench_logger.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path

from bench_gil import serve
from paste.translogger import TransLogger
from peers import PyCombinedLogger
from requestlogger import ApacheFormatter, WSGILogger
from runner import (
    FULL,
    Case,
    Settings,
    Timing,
    bench_main,
    call_app,
    format_us,
    make_environ,
    markdown_table,
    measure_all,
    section,
    time_threads,
    timing_legend,
)

import wsgi_mw
from wsgi_mw import Logger

# Targets (issue 6): Logger's per-request overhead over the bare app against translogger's;
# lines per second of the file sink on two threads against one.
TRANSLOGGER_OVERHEAD_TARGET = 0.1
THREAD_SCALING_TARGET = 1.8

# Competitors, in column order.
BARE = "bare app"
TRANSLOGGER = "paste TransLogger"
WSGI_LOGGER = "requestlogger WSGILogger"
PY_COMBINED = "PyCombinedLogger"
LOGGER_FILE = "Logger(sink=path)"
LOGGER_LOGGING = "Logger(sink=None) + logging FileHandler"
COMPETITORS = (BARE, TRANSLOGGER, WSGI_LOGGER, PY_COMBINED, LOGGER_FILE, LOGGER_LOGGING)
PEERS = (TRANSLOGGER, WSGI_LOGGER, PY_COMBINED)

# The logger names the peers log through. WSGILogger's is fixed by the library; Logger's
# logging sink is wsgi_mw.access. Each is set up for one competitor at a time, not
# propagated to the root logger, and restored when the competitor is closed.
TRANSLOGGER_NAME = "bench_logger.translogger"
PY_COMBINED_NAME = "bench_logger.py_combined"
WSGI_LOGGER_NAME = "requestlogger"
LOGGER_LOGGING_NAME = "wsgi_mw.access"

# The response of the static app: a 1 KiB page in two chunks, with its Content-Length (what
# translogger logs as the size, and what spares WSGILogger joining the body).
PAGE_CHUNK = b"<li><a href='/products/42'>Walnut desk organiser</a> <b>24.90</b></li>\n"
CHUNKS = [(PAGE_CHUNK * 8)[:512], (PAGE_CHUNK * 8)[-512:]]
BODY_BYTES = sum(len(chunk) for chunk in CHUNKS)
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(BODY_BYTES))]

CLIENT = "203.0.113.7"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
ENVIRON = make_environ(
    path="/products/42",
    QUERY_STRING="page=2",
    SERVER_PROTOCOL="HTTP/1.1",
    REMOTE_ADDR=CLIENT,
    HTTP_REFERER="https://shop.example/products?sort=price",
    HTTP_USER_AGENT=USER_AGENT,
)

# Apache's combined format, as every competitor writes it for ENVIRON: host, identity, user,
# [time], "request line", status, size, "referer", "user agent". WSGILogger leaves the query
# string out of the request line; the others agree on every field but the time.
COMBINED_LINE = re.compile(
    rb'(?P<host>\S+) \S+ \S+ \[[^\]]+\] "(?P<request>[^"]*)" (?P<status>\d{3}) '
    rb'(?P<size>\d+|-) "[^"]*" "(?P<agent>[^"]*)"'
)

# Per-request table: a share of the settings' repetitions (its samples are ~10 ms each and
# Logger's file grows by ~0.2 MB per sample).
ROUNDS_DIVISOR = 2
# Threads and processes: one run is ~RUN_SECONDS of work per thread (PROCESS_RUN_SECONDS per
# process: runs long enough for two processes to overlap well); rounds are a share of the
# settings' repetitions (10 and 5 in a full run, 1 in a smoke run): two threads of a
# GIL-bound logger take several times as long as one, and the section stays under ~90 s.
RUN_SECONDS = 0.05
PROCESS_RUN_SECONDS = 0.2
THREAD_REPETITIONS_PER_ROUND = 10
PROCESS_REPETITIONS_PER_ROUND = 20

REPRODUCE = (
    "Reproduce: `python benches/bench_logger.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


# --- the competitors ------------------------------------------------------------------


class StaticApp:
    """The app under every logger: 200, text/html with a Content-Length, two chunks.

    It counts its calls: one per request, so one log line per call.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        self.calls += 1
        start_response("200 OK", list(HEADERS))
        return CHUNKS


@dataclass
class Competitor:
    """One logging middleware around its own StaticApp, writing to ``log_path``.

    ``flush()`` gets every line of the requests served so far into the file; ``close()``
    flushes, then undoes the logging configuration the competitor made. ``served`` is
    kept by the thread and process tables (StaticApp's counter is not thread-safe).
    """

    name: str
    app: Callable
    inner: StaticApp
    log_path: Path | None
    flush: Callable[[], None]
    close: Callable[[], None]
    served: int = 0


def _nothing() -> None:
    """The bare app's flush() and close(): it has no log."""


def file_handler(path: Path) -> logging.FileHandler:
    """A FileHandler appending the bare message to ``path`` (mode "a": O_APPEND)."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def _claim_logger(name: str) -> tuple[logging.Logger, Callable[[], None]]:
    """The logger ``name``, checked to be unconfigured, and the function that restores it.

    A handler already there would be another competitor's (or the user's): its lines
    would go to two files.
    """
    logger = logging.getLogger(name)
    if logger.handlers:
        raise RuntimeError(f"logger {name!r} already has handlers {logger.handlers!r}")
    level, propagate = logger.level, logger.propagate

    def restore() -> None:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
        logger.propagate = propagate

    return logger, restore


def _through_logging(name: str, path: Path) -> tuple[logging.Logger, Callable, Callable]:
    """The logger ``name`` writing only to ``path`` at INFO; (logger, flush, close)."""
    logger, restore = _claim_logger(name)
    handler = file_handler(path)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler.flush, restore


def build(name: str, log_path: Path | None) -> Competitor:
    """A fresh competitor ``name`` around a fresh StaticApp, logging to ``log_path``."""
    inner = StaticApp()
    if name == BARE:
        return Competitor(name, inner, inner, None, _nothing, _nothing)
    assert log_path is not None
    if name == TRANSLOGGER:
        logger, flush, close = _through_logging(TRANSLOGGER_NAME, log_path)
        return Competitor(name, TransLogger(inner, logger=logger), inner, log_path, flush, close)
    if name == PY_COMBINED:
        logger, flush, close = _through_logging(PY_COMBINED_NAME, log_path)
        app = PyCombinedLogger(inner, logger)
        return Competitor(name, app, inner, log_path, flush, close)
    if name == WSGI_LOGGER:
        # WSGILogger adds the handlers it is given to the fixed "requestlogger" logger, and
        # sets its level and propagation itself.
        _logger, restore = _claim_logger(WSGI_LOGGER_NAME)
        handler = file_handler(log_path)
        app = WSGILogger(
            inner, [handler], ApacheFormatter(with_response_time=False), propagate=False
        )
        return Competitor(name, app, inner, log_path, handler.flush, restore)
    if name == LOGGER_FILE:
        logger_app = Logger(inner, sink=str(log_path))
        return Competitor(name, logger_app, inner, log_path, logger_app.flush, logger_app.flush)
    if name == LOGGER_LOGGING:
        _logger, flush, close = _through_logging(LOGGER_LOGGING_NAME, log_path)
        return Competitor(name, Logger(inner), inner, log_path, flush, close)
    raise ValueError(f"unknown competitor {name!r}")


@contextmanager
def log_directory() -> Iterator[Path]:
    """A temporary directory for the log files, removed afterwards.

    The competitors should be dropped by then: a file-sink Logger still alive may reopen
    (create) its deleted path at its next flush (docs/logger.md, Rotation).
    """
    directory = Path(tempfile.mkdtemp(prefix="bench_logger_"))
    try:
        yield directory
    finally:
        gc.collect()
        try:
            shutil.rmtree(directory)
        except OSError as error:
            print(f"  could not remove {directory}: {error}", file=sys.stderr)


@contextmanager
def competitors(directory: Path) -> Iterator[dict[str, Competitor]]:
    """Every competitor, each with its own log file in ``directory``; closed afterwards."""
    built: dict[str, Competitor] = {}
    try:
        for name in COMPETITORS:
            built[name] = build(name, log_file(directory, name))
        yield built
    finally:
        for competitor in built.values():
            competitor.close()
        built.clear()  # the caller's name for the dict outlives the with block


def log_file(directory: Path, name: str) -> Path | None:
    if name == BARE:
        return None
    return directory / (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") + ".log")


# --- checks ---------------------------------------------------------------------------


def check_log(path: Path, expected: int, what: str) -> None:
    """Raise AssertionError unless ``path`` holds ``expected`` whole combined lines.

    Whole: the file ends with a newline and each line parses as the combined line of
    ENVIRON's request, with status 200 and the body's size: a line cut by another
    process's write, or two run together, does not.
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines.pop() != b"":
        raise AssertionError(f"{what}: {path.name} does not end with a whole line")
    if len(lines) != expected:
        raise AssertionError(
            f"{what}: {path.name} has {len(lines)} lines for {expected} requests served "
            f"({len(lines) - expected:+d})"
        )
    # Lines differ only by their time: check each distinct one.
    for line in set(lines):
        match = COMBINED_LINE.fullmatch(line)
        if (
            match is None
            or match["host"] != CLIENT.encode()
            or not match["request"].startswith(b"GET /products/42")
            or match["status"] != b"200"
            or match["size"] != str(BODY_BYTES).encode()
            or match["agent"] != USER_AGENT.encode()
        ):
            raise AssertionError(f"{what}: {path.name} has a line that is not whole: {line!r}")


def check_competitors(built: dict[str, Competitor]) -> None:
    """One request through each competitor: the page comes back and one line is logged."""
    for name, competitor in built.items():
        response = call_app(competitor.app, ENVIRON)
        if response.status != "200 OK" or response.body != b"".join(CHUNKS):
            raise AssertionError(f"{name}: answered {response.status} {response.body[:40]!r}")
        competitor.served += 1
        competitor.flush()
        if competitor.log_path is not None:
            check_log(competitor.log_path, competitor.served, f"{name}, first request")


def check_logs(
    built: dict[str, Competitor], what: str, served: Callable[[Competitor], int]
) -> None:
    """Flush every competitor, then check its file has one line per request served."""
    for name, competitor in built.items():
        competitor.flush()
        if competitor.log_path is not None:
            check_log(competitor.log_path, served(competitor), f"{what}, {name}")


# --- per request ----------------------------------------------------------------------


def overhead(timings: Mapping[str, Timing], name: str) -> float:
    """median(name) - median(bare app), ns per request."""
    return timings[name].median - timings[BARE].median


def format_signed_us(ns: float) -> str:
    us = ns / 1000
    return f"{us:+.2f}" if abs(us) < 10 else f"{us:+.1f}"


def per_request_table(settings: Settings) -> tuple[list[str], int]:
    """µs per request and overhead over the bare app; the table, its legend and misses."""
    with log_directory() as directory, competitors(directory) as built:
        check_competitors(built)
        case = Case(
            {"request": "GET, 1 KiB in 2 chunks"},
            {name: competitor.app for name, competitor in built.items()},
            ENVIRON,
        )
        # Only the timings are kept: the case holds the loggers, dropped with the directory.
        timings = measure_all([case], settings)[0].timings
        del case
        check_logs(built, "per request", lambda competitor: competitor.inner.calls)

    logger_overhead = overhead(timings, LOGGER_FILE)
    header_ratio = f"{LOGGER_FILE} overhead / this overhead"
    headers = ["competitor", "µs per request", "overhead over the bare app (µs)", header_ratio]
    rows = []
    misses = 0
    for name, timing in timings.items():
        cells = [name, f"{format_us(timing.median)} / {format_us(timing.minimum)}"]
        if name == BARE:
            rows.append([*cells, "—", "—"])
            continue
        own = overhead(timings, name)
        if name == LOGGER_FILE:
            ratio = "—"
        else:
            ratio = f"{logger_overhead / own:.2f}" if own > 0 else "n/a"
            if name == TRANSLOGGER:
                ratio += f" (target ≤ {TRANSLOGGER_OVERHEAD_TARGET:g})"
                if own <= 0 or logger_overhead / own > TRANSLOGGER_OVERHEAD_TARGET:
                    ratio += " MISS"
                    misses += 1
        rows.append([*cells, format_signed_us(own), ratio])
    return [markdown_table(headers, rows), timing_legend(settings)], misses


# --- threads --------------------------------------------------------------------------


def run_threads(competitor: Competitor, threads: int, requests: int) -> int:
    """Nanoseconds for ``threads`` threads, started together, to serve ``requests`` each.

    The clock stops when the last thread is done and the competitor has flushed: every
    line of the run is in the file.
    """
    app = competitor.app

    def prepare(_index: int) -> Callable[[], None]:
        def job() -> None:
            for _ in range(requests):
                # A fresh environ per request, as a server builds one: made in the loop, since
                # prepared copies for a whole run would take hundreds of MB.
                serve(app, dict(ENVIRON))

        return job

    elapsed = time_threads(threads, prepare, finish=competitor.flush)
    competitor.served += threads * requests
    return elapsed


def calibrate(competitor: Competitor) -> int:
    """How many requests one thread serves in ~RUN_SECONDS (at least 1)."""
    target_ns = RUN_SECONDS * 1e9
    requests = 1
    while True:
        elapsed = run_threads(competitor, 1, requests)
        if elapsed >= target_ns / 4:
            return max(1, round(requests * target_ns / elapsed))
        requests *= 2


def rounds(settings: Settings, repetitions_per_round: int) -> int:
    return max(1, settings.repetitions // repetitions_per_round)


def scaling_table(
    throughput: dict[tuple[str, int], list[float]], target: float | None = None
) -> tuple[list[list[str]], int]:
    """Rows: competitor, throughput with 1 and with 2 (`median / max`), scaling.

    ``target`` is the least scaling of Logger(sink=path); returns the rows and whether
    it was missed (0 or 1).
    """
    rows = []
    misses = 0
    for name in COMPETITORS:
        one, two = (statistics.median(throughput[name, count]) for count in (1, 2))
        scaling = f"{two / one:.2f}"
        if name == LOGGER_FILE and target is not None:
            scaling += f" (target ≥ {target:g})"
            if two / one < target:
                scaling += " MISS"
                misses += 1
        rows.append(
            [
                f"{name} (control)" if name == BARE else name,
                f"{one:.0f} / {max(throughput[name, 1]):.0f}",
                f"{two:.0f} / {max(throughput[name, 2]):.0f}",
                scaling,
            ]
        )
    return rows, misses


def threads_table(settings: Settings) -> tuple[list[str], dict[str, int], int]:
    """Lines per second on one thread and on two sharing one competitor.

    Returns the table and legend, the requests per thread calibrated per competitor (the
    processes table reuses them) and the misses.
    """
    count = rounds(settings, THREAD_REPETITIONS_PER_ROUND)
    throughput: dict[tuple[str, int], list[float]] = {
        (name, threads): [] for name in COMPETITORS for threads in (1, 2)
    }
    started = time.perf_counter()
    with log_directory() as directory, competitors(directory) as built:
        check_competitors(built)
        requests = {name: calibrate(competitor) for name, competitor in built.items()}
        for _ in range(count):
            for name, competitor in built.items():
                for threads in (1, 2):
                    elapsed = run_threads(competitor, threads, requests[name])
                    # requests per ns * 10⁶: thousands of lines per second
                    throughput[name, threads].append(threads * requests[name] / elapsed * 1e6)
        check_logs(built, "threads", lambda competitor: competitor.served)
    print(f"  threads: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    rows, misses = scaling_table(throughput, THREAD_SCALING_TARGET)
    headers = ["competitor", "1 thread", "2 threads", "scaling"]
    legend = (
        "Throughput is thousands of requests per second, each one log line in the file, "
        f"all threads together, `median / max` over {count} interleaved runs of "
        f"~{RUN_SECONDS * 1000:g} ms of work per thread (requests per thread calibrated per "
        "competitor on one thread, the same for both thread counts). A run ends when the "
        "competitor has flushed its lines to the file. Scaling: median(2 threads) / "
        "median(1 thread); 2.00 is perfect on 2 cores."
    )
    return [markdown_table(headers, rows), legend], requests, misses


# --- processes ------------------------------------------------------------------------

READY = "ready"
# The workers start together at a moment the parent sets this far ahead: a process woken
# from recv() can take milliseconds to run, which would count against two processes.
START_AHEAD_NS = 20_000_000


def process_worker(connection: Connection) -> None:
    """A worker process: builds the competitor each order names, serves it, says when.

    An order is (competitor name, log path, requests), or None to stop. The worker builds
    its own competitor (its own Logger, its own FileHandler on the shared path), answers
    READY, receives the start time, waits for it, serves the requests, flushes, and
    answers the end time. Times are on the monotonic clock, which every process shares. A
    failure is answered as its traceback, and ends the worker.
    """
    while True:
        order = connection.recv()
        if order is None:
            return
        name, log_path, requests = order
        try:
            competitor = build(name, log_path)
            try:
                connection.send(READY)
                start_at = connection.recv()
                while time.monotonic_ns() < start_at:
                    pass
                app = competitor.app
                for _ in range(requests):
                    serve(app, dict(ENVIRON))
                competitor.flush()
                ended = time.monotonic_ns()
            finally:
                competitor.close()
                del competitor
                gc.collect()
            connection.send(ended)
        except Exception:
            connection.send(traceback.format_exc())  # the parent raises it as its own
            raise


class Workers:
    """Worker processes started with ``spawn``: fresh interpreters, nothing inherited."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connections: list[Connection] = []
        self.processes = []
        for _ in range(count):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=process_worker, args=(child_end,), daemon=True)
            process.start()
            child_end.close()
            self.connections.append(parent_end)
            self.processes.append(process)

    def stop(self) -> None:
        for connection in self.connections:
            try:
                connection.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()

    @staticmethod
    def _answer(connection: Connection) -> object:
        answer = connection.recv()
        if isinstance(answer, str) and answer != READY:
            raise RuntimeError(f"a worker process failed:\n{answer}")
        return answer

    def run(self, name: str, log_path: Path | None, processes: int, requests: int) -> int:
        """Nanoseconds from the common start to the last process's end (lines flushed)."""
        active = self.connections[:processes]
        for connection in active:
            connection.send((name, log_path, requests))
        for connection in active:
            if self._answer(connection) != READY:
                raise RuntimeError("a worker process did not answer READY")
        start_at = time.monotonic_ns() + START_AHEAD_NS
        for connection in active:
            connection.send(start_at)
        ends = []
        for connection in active:
            end = self._answer(connection)
            if not isinstance(end, int):
                raise TypeError(f"a worker process answered {end!r}, not its end time")
            ends.append(end)
        return max(ends) - start_at


def processes_table(settings: Settings, thread_requests: dict[str, int]) -> list[str]:
    """Lines per second of one process and of two appending to one file; table, legend.

    Each competitor's requests per process are its requests per thread of the threads
    table, scaled to PROCESS_RUN_SECONDS. A first round (each competitor on two processes,
    a tenth of the requests) warms the workers up and is not timed; its lines are checked
    with the others.
    """
    count = rounds(settings, PROCESS_REPETITIONS_PER_ROUND)
    requests = {
        name: max(1, round(value * PROCESS_RUN_SECONDS / RUN_SECONDS))
        for name, value in thread_requests.items()
    }
    throughput: dict[tuple[str, int], list[float]] = {
        (name, processes): [] for name in COMPETITORS for processes in (1, 2)
    }
    served = dict.fromkeys(COMPETITORS, 0)
    started = time.perf_counter()
    with log_directory() as directory:
        workers = Workers(2)
        try:
            for name in COMPETITORS:
                warm_up = max(1, requests[name] // 10)
                workers.run(name, log_file(directory, name), 2, warm_up)
                served[name] += 2 * warm_up
            for _ in range(count):
                for name in COMPETITORS:
                    for processes in (1, 2):
                        path = log_file(directory, name)
                        elapsed = workers.run(name, path, processes, requests[name])
                        total = processes * requests[name]
                        served[name] += total
                        throughput[name, processes].append(total / elapsed * 1e6)
        finally:
            workers.stop()
        for name in COMPETITORS:
            path = log_file(directory, name)
            if path is not None:
                check_log(path, served[name], f"processes, {name}")
    print(f"  processes: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    rows, _misses = scaling_table(throughput)
    headers = ["competitor", "1 process", "2 processes", "scaling"]
    legend = (
        "Throughput is thousands of requests per second, each one log line in the shared "
        f"file, all processes together, `median / max` over {count} interleaved runs of "
        f"~{PROCESS_RUN_SECONDS * 1000:g} ms of work per process (requests per process "
        "from the threads table's calibration, the same for both process counts), after "
        "one untimed round. A run goes from the moment the processes start together to "
        "the end of the last one, its lines flushed. Scaling: median(2 processes) / "
        "median(1 process); 2.00 is perfect on 2 cores."
    )
    return [markdown_table(headers, rows), legend]


# --- the section ----------------------------------------------------------------------


def table_settings(settings: Settings) -> Settings:
    return Settings(max(1, settings.repetitions // ROUNDS_DIVISOR), settings.sample_seconds)


def run(settings: Settings = FULL) -> str:
    """Time Logger against paste.translogger, wsgi-request-logger and PyCombinedLogger."""
    tables = table_settings(settings)
    per_request, request_misses = per_request_table(tables)
    threads, thread_requests, thread_misses = threads_table(settings)
    processes = processes_table(settings, thread_requests)
    missed = request_misses + thread_misses
    return section(
        "Logger: access logs",
        f"`wsgi_mw.Logger` from wsgi_mw {wsgi_mw.__version__} in the combined format, "
        "against the Python access loggers users would otherwise run, all in the same "
        f"run, each writing the combined format to its own file: Paste {version('paste')}'s "
        f"`paste.translogger.TransLogger` (given a `logging.Logger` with a `FileHandler`), "
        f"wsgi-request-logger {version('wsgi-request-logger')}'s `WSGILogger` (a "
        "`FileHandler`, `ApacheFormatter(with_response_time=False)`: the combined format "
        "without its extra duration field), and `PyCombinedLogger` (benches/peers.py: the "
        "line built when the server closes the response, with the bytes counted by a "
        "closing iterator wrapper and the time by `time.strftime`, handed to `logging` and "
        f"a `FileHandler`). `{LOGGER_FILE}` writes the file itself (a buffer, written by a "
        f"background thread without the GIL); `{LOGGER_LOGGING}` hands each line to the "
        "`wsgi_mw.access` logger, here with a `FileHandler`. Every logger wraps the same "
        "static app: `200 OK`, `text/html` with its `Content-Length`, 1 KiB in two chunks, "
        "for `GET /products/42?page=2` with a Referer and a browser's User-Agent. "
        "translogger logs when the app calls `start_response`, with the size taken from "
        "`Content-Length` and no duration; WSGILogger when the app returns (it would join "
        "the body to count it if there were no `Content-Length`); PyCombinedLogger and "
        "Logger when the server closes the response. After each table, every log file is "
        "checked: one line per request served (Logger flushed, handlers flushed), each a "
        "whole combined line with the request's client, request line, status, size and "
        f"User-Agent. {REPRODUCE}",
        "### Per request",
        "The time through each logger, and what it adds to the bare app: median(logger) − "
        "median(bare app). The ratio is Logger's overhead over each other one's. For the "
        "Python loggers the time includes the write to the file (a `FileHandler` flushes "
        "after every line); for `Logger(sink=path)` the file is written by its background "
        "thread, outside the request.",
        *per_request,
        "### One thread and two",
        "Total log lines per second of one thread and of two threads sending requests "
        "through the same logger and app concurrently (`threading.Thread`, started together "
        "at a barrier, a fixed number of requests each). Every logger here holds the GIL "
        "for its Python work, and the app and the request loop are Python: the bare app's "
        "row shows what two threads can get out of one interpreter at all.",
        *threads,
        "### One process and two",
        "The same requests served by one worker process, and by two at once, each with its "
        "own logger appending to one shared file, as the workers of a pre-fork server "
        "(gunicorn, uWSGI) do. Worker processes are started with `spawn` and build their "
        "logger for each run. The shared file is checked afterwards: no line lost, none "
        "cut or mixed with another.",
        *processes,
        f"Ratios marked MISS in this section: {missed}."
        if missed
        else "Every ratio in this section meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
