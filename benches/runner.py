"""Interleaved in-process WSGI benchmark runner shared by every ``benches/bench_*.py``.

A :class:`Case` is one table row: named competitor WSGI apps that must answer one
fixed environ with the same body bytes. :func:`measure` checks that first (a broken
competitor is never timed), calibrates per competitor how many requests make one ~10 ms
sample, then takes samples round-robin (A, B, C, A, B, C, ...) so that clock drift,
thermal throttling and noisy neighbours hit every competitor alike. Each sample drives
the request as a server would: call ``app(environ, start_response)``, iterate the body,
call ``close()`` if present.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from wsgiref.util import setup_testing_defaults

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

REPO_ROOT = Path(__file__).resolve().parent.parent

# Taken at import, before this run loads the CPU itself: a quiet machine shows ~0.
LOAD_AT_START = os.getloadavg()[0]


@dataclass(frozen=True)
class Settings:
    """How long to measure: ``repetitions`` samples of ~``sample_seconds`` each."""

    repetitions: int
    sample_seconds: float = 0.010


FULL = Settings(repetitions=100)
QUICK = Settings(repetitions=5)


@dataclass(frozen=True)
class Case:
    """One table row: competitor apps (in column order) that must agree on one request.

    ``labels`` are the row's leading cells, keyed by column header, e.g.
    ``{"body": "64 KiB"}``. ``environ`` is copied for every request, so competitors may
    change it.
    """

    labels: Mapping[str, str]
    competitors: Mapping[str, WSGIApp]
    environ: Mapping[str, object]


@dataclass(frozen=True)
class Response:
    """What a server would have sent: status line, headers, the concatenated body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Timing:
    """The per-request times (ns) of one competitor, one value per sample."""

    requests_per_sample: int
    per_request_ns: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.per_request_ns)

    @property
    def minimum(self) -> float:
        return min(self.per_request_ns)


@dataclass(frozen=True)
class CaseResult:
    """The timings of every competitor of one case."""

    case: Case
    timings: Mapping[str, Timing]

    def ratio(self, candidate: str, baseline: str) -> float:
        """median(candidate) / median(baseline): below 1, the candidate is faster."""
        return self.timings[candidate].median / self.timings[baseline].median


@dataclass(frozen=True)
class Ratio:
    """A ratio column; a row whose ratio exceeds ``target`` is marked MISS."""

    candidate: str
    baseline: str
    target: float | None = None

    @property
    def header(self) -> str:
        name = f"{self.candidate}/{self.baseline}"
        return name if self.target is None else f"{name} (target ≤ {self.target:g})"

    def cell(self, result: CaseResult) -> str:
        value = result.ratio(self.candidate, self.baseline)
        missed = self.target is not None and value > self.target
        return f"{value:.2f} MISS" if missed else f"{value:.2f}"


def make_environ(method: str = "GET", path: str = "/", **extra: object) -> dict:
    """A complete PEP 3333 environ for one request, as ``wsgiref`` would build it."""
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, **extra}
    setup_testing_defaults(environ)
    return environ


def _discard_write(data: bytes) -> None:
    """The ``write()`` callable handed to apps while timing; the bytes go nowhere."""


def _start_response(status: str, headers: list, exc_info: object = None) -> Callable:
    return _discard_write


def call_app(app: WSGIApp, environ: Mapping[str, object]) -> Response:
    """Drive one request like a server and return what it would have sent."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    parts: list[bytes] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> Callable:
        started.append((status, list(headers)))
        return parts.append

    result = app(dict(environ), start_response)
    try:
        for chunk in result:  # not extend(): write() appends to parts meanwhile
            parts.append(chunk)  # noqa: PERF402
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise AssertionError(f"{app!r} never called start_response")
    status, headers = started[-1]
    return Response(status, headers, b"".join(parts))


def check_same_body(case: Case) -> bytes:
    """Return the body every competitor sends; raise AssertionError if one differs."""
    bodies = {name: call_app(app, case.environ).body for name, app in case.competitors.items()}
    (first_name, expected), *others = bodies.items()
    for name, body in others:
        if body != expected:
            offset = next(
                (i for i, (a, b) in enumerate(zip(body, expected)) if a != b),
                min(len(body), len(expected)),
            )
            raise AssertionError(
                f"{dict(case.labels)}: {name} sent {len(body)} bytes, {first_name} "
                f"sent {len(expected)}; first difference at byte {offset}: "
                f"{body[offset : offset + 40]!r} vs {expected[offset : offset + 40]!r}"
            )
    return expected


# Environ copies built per batch: few enough to stay hot in the CPU cache.
ENVIRON_BATCH = 128


def _time_requests(app: WSGIApp, environs: Sequence[dict]) -> int:
    """Nanoseconds to serve one request per environ, driven as ``call_app`` does."""
    start_response = _start_response
    started = time.perf_counter_ns()
    for environ in environs:
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return time.perf_counter_ns() - started


def _sample(app: WSGIApp, environ: Mapping[str, object], requests: int) -> int:
    """Nanoseconds to serve ``requests`` requests, each with its own ``environ`` copy.

    A server builds a fresh environ per request; the copies are made outside the timed
    loop and in small batches, since thousands made up front would be cold in the cache
    by the time a competitor reads them.
    """
    elapsed = 0
    for batch_start in range(0, requests, ENVIRON_BATCH):
        batch_size = min(ENVIRON_BATCH, requests - batch_start)
        elapsed += _time_requests(app, [dict(environ) for _ in range(batch_size)])
    return elapsed


def _calibrate(app: WSGIApp, environ: Mapping[str, object], sample_ns: float) -> int:
    """How many requests take ~``sample_ns`` (at least 1)."""
    requests = 1
    while True:
        elapsed = _sample(app, environ, requests)
        if elapsed >= sample_ns / 4:
            return max(1, round(requests * sample_ns / elapsed))
        requests *= 2


def measure(case: Case, settings: Settings) -> CaseResult:
    """Check that the competitors agree, then time them in interleaved samples."""
    check_same_body(case)
    sample_ns = settings.sample_seconds * 1e9
    requests = {
        name: _calibrate(app, case.environ, sample_ns) for name, app in case.competitors.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in case.competitors}
    for _ in range(settings.repetitions):
        for name, app in case.competitors.items():
            elapsed = _sample(app, case.environ, requests[name])
            samples[name].append(elapsed / requests[name])
    return CaseResult(
        case,
        {name: Timing(requests[name], tuple(values)) for name, values in samples.items()},
    )


def measure_growth(
    app: WSGIApp, small: Mapping[str, object], large: Mapping[str, object], settings: Settings
) -> tuple[Timing, Timing]:
    """Time one app on two requests (say, a header of n and of 2n bytes), interleaved, with
    the same requests per sample: how its cost grows with the input, as two timings."""
    call_app(app, small)
    call_app(app, large)
    requests = _calibrate(app, large, settings.sample_seconds * 1e9)
    samples: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(settings.repetitions):
        for index, environ in enumerate((small, large)):
            samples[index].append(_sample(app, environ, requests) / requests)
    return Timing(requests, tuple(samples[0])), Timing(requests, tuple(samples[1]))


def measure_all(cases: Iterable[Case], settings: Settings) -> list[CaseResult]:
    """Measure each case in turn, reporting progress on stderr."""
    results = []
    for case in cases:
        started = time.perf_counter()
        results.append(measure(case, settings))
        label = ", ".join(f"{key} {value}" for key, value in case.labels.items())
        print(f"  {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return results


def time_threads(
    threads: int,
    prepare: Callable[[int], Callable[[], None]],
    finish: Callable[[], None] | None = None,
) -> int:
    """Nanoseconds for ``threads`` threads, started together at a barrier, to each run the job
    ``prepare(index)`` returned. ``prepare`` runs in its thread before the barrier, outside
    the clock; ``finish`` (a flush, say) runs inside it once every thread is done. Raises if
    a thread failed (its traceback is printed by the threading module)."""
    barrier = threading.Barrier(threads + 1)
    finished: list[int] = []

    def worker(index: int) -> None:
        try:
            job = prepare(index)
        except BaseException:
            barrier.abort()
            raise
        barrier.wait()
        job()
        finished.append(index)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    started = time.perf_counter_ns()
    for thread in workers:
        thread.join()
    if finish is not None:
        finish()
    elapsed = time.perf_counter_ns() - started
    if len(finished) != threads:
        raise RuntimeError("a worker thread failed: its traceback is printed above")
    return elapsed


def format_us(ns: float) -> str:
    """Nanoseconds as microseconds, three significant digits (at least one decimal)."""
    us = ns / 1000
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:.0f}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(results: Sequence[CaseResult], ratios: Sequence[Ratio] = ()) -> str:
    """One row per case: labels, ``median / min`` µs per competitor, then ratios.

    Every case of one table must have the same label keys and competitor names.
    """
    first = results[0].case
    headers = [*first.labels, *first.competitors, *(ratio.header for ratio in ratios)]
    rows = [
        [
            *result.case.labels.values(),
            *(
                f"{format_us(timing.median)} / {format_us(timing.minimum)}"
                for timing in result.timings.values()
            ),
            *(ratio.cell(result) for ratio in ratios),
        ]
        for result in results
    ]
    return markdown_table(headers, rows)


def count_misses(results: Iterable[CaseResult], ratios: Sequence[Ratio]) -> int:
    """How many (row, ratio) cells miss their target."""
    return sum(
        ratio.target is not None and result.ratio(ratio.candidate, ratio.baseline) > ratio.target
        for result in results
        for ratio in ratios
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Model", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        # The benchmarks page itself is rewritten by every run: not a change to the code.
        dirty = git("status", "--porcelain", "--", ".", ":(exclude)docs/benchmarks.md")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git commit)"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def command_line() -> str:
    """The exact command that produced this run, interpreter included."""
    return shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))


def machine_header() -> str:
    """Where and when the numbers were taken, as a markdown list."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"- CPU: {_cpu_model()}, {os.cpu_count()} cores",
            f"- Load average (1 min) when the run started: {LOAD_AT_START:.2f}",
            f"- Python: {platform.python_implementation()} {platform.python_version()}",
            f"- Platform: {platform.platform()}",
            f"- Date: {now}",
            f"- Commit: {_git_commit()}",
        ]
    )


def section(title: str, *blocks: str) -> str:
    """A markdown section: title, command line, machine header, then ``blocks``."""
    head = [f"## {title}", f"Command: `{command_line()}`", machine_header()]
    return "\n\n".join([*head, *blocks]) + "\n"


def timing_legend(settings: Settings) -> str:
    """The sentence that says how to read the time cells."""
    return (
        f"Times are µs per request, `median / min` over {settings.repetitions} "
        f"interleaved samples of ~{settings.sample_seconds * 1000:g} ms each (requests "
        "per sample calibrated per competitor). A ratio is median(candidate) / "
        "median(baseline)."
    )


def bench_main(run: Callable[[Settings], str]) -> None:
    """Command line of one bench script: print its section; ``--quick``: a smoke run."""
    parser = argparse.ArgumentParser(description=run.__doc__)
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    args = parser.parse_args()
    print(run(QUICK if args.quick else FULL))


# --- servers under load (bench_stack, bench_static) -------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Load:
    """One load run: requests completed, seconds, latency percentiles in ms."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def run_wrk(command: list[str]) -> Load:
    """Run wrk; raise on any error or non-2xx answer; parse requests, time, p50 and p99."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}): {done.stderr}")
    problems = re.findall(
        r"^\s*(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", out, re.MULTILINE
    )
    if problems:
        raise RuntimeError(f"{shlex.join(command)}: {problems}\n{out}")
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", out, re.MULTILINE)
    p50 = re.search(r"^\s*50(?:\.000)?%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.000)?%\s+(\S+)", out, re.MULTILINE)
    if total is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    seconds = _ms(total[2] + total[3]) / 1000
    return Load(int(total[1]), seconds, _ms(p50[1]), _ms(p99[1]))
