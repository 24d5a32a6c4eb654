"""The whole Rust stack against the same stack built from pure-Python peers.

Rust: ``Logger(Cache(Gzip(Rewrite(Router(routes, default=...), [("Hello", "Goodbye")]))),
sink=path)``. Python, in the same order: paste's ``TransLogger`` (``FileHandler``),
``MinimalDictCache``, ``DjangoStyleGzip``, ``StreamingReplace``, ``WerkzeugDispatch`` on a
Werkzeug ``Map`` (benches/stack_apps.py, benches/peers.py). Same page apps, same routes;
both stacks are checked to send the same statuses and decoded bodies for every path.

Two mixes, every request with ``Accept-Encoding: gzip``: the hit mix (GETs of four
cacheable URLs, answered from the cache after a warm-up) and the miss mix (the same URLs
with a query string unique to each request, so every request reaches the app, is
compressed, rewritten, and stored).

Two tables: in-process (no server), the time per request on one thread and two; through
gunicorn (gthread, 2 workers x 4 threads) on 127.0.0.1 driven by ``wrk`` (or, without
``wrk``, a bounded Python keep-alive client): requests per second and p50/p99 latency. Every
log file is checked after each in-process table (one line per request); for the server
runs, at least as many lines as requests completed.

Run alone: ``python benches/bench_stack.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import gc
import gzip
import http.client
import itertools
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench_gil import serve
from runner import (
    FULL,
    REPO_ROOT,
    Load,
    Settings,
    bench_main,
    call_app,
    free_port,
    make_environ,
    markdown_table,
    run_wrk,
    section,
    time_threads,
)
from stack_apps import (
    BARE,
    CHECKED_PATHS,
    KINDS,
    PYTHON,
    RUST,
    SERVED_KINDS,
    Stack,
    bare_app,
    build_stack,
)

import wsgi_mw

BENCHES_DIR = Path(__file__).resolve().parent

# Targets (issue 8): the Rust stack's requests per second over the Python stack's on the hit
# mix through gunicorn; its p99 latency no worse (ratio ≤ 1).
HIT_RPS_TARGET = 2.0
P99_TARGET = 1.0
# Targets (issue 14) under granian, whose own per-request cost is small enough for the
# middleware's to show: the hit mix at least 4x the Python stack's requests/s and at least
# 0.9x a bare app sending the same bytes; p99 no worse than the Python stack's.
GRANIAN_HIT_RPS_TARGET = 4.0
# In-process targets (issue 14): the Rust stack's time per request over the Python stack's;
# the Rust stack's hit overhead (over the bare app) over one Cache layer's.
IN_PROCESS_TARGETS = {"hit": 0.15, "miss": 0.3}
HIT_OVERHEAD_TARGET = 1.5
GRANIAN_BARE_TARGET = 0.9
GUNICORN = "gunicorn"
GRANIAN = "granian"
# What each server runs: gunicorn the two stacks; granian the bare app too (hit mix only).
SERVER_KINDS = {GUNICORN: ("rust", "python"), GRANIAN: ("rust", "python", "bare")}

HIT = "hit"
MISS = "miss"
MIXES = (HIT, MISS)
MIX_PATHS = ("/", "/about", "/products/1", "/products/2")

CLIENT = "127.0.0.1"
USER_AGENT = "bench_stack/1.0"

# In-process: one run is ~RUN_SECONDS of work per thread; rounds are a share of the
# settings' repetitions (10 in a full run, 1 in a smoke run).
RUN_SECONDS = 0.1
REPETITIONS_PER_ROUND = 10

# Server: gunicorn as issue 8 sets it, wrk with one connection per gunicorn thread.
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
WRK_THREADS = 2
WRK_CONNECTIONS = GUNICORN_WORKERS * GUNICORN_THREADS
WARM_UP_SECONDS = 1
READY_TIMEOUT = 30.0
# The Python client, when wrk is absent: requests per connection in one run.
CLIENT_REQUESTS = 1500

REPRODUCE = (
    "Reproduce: `python benches/bench_stack.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


@dataclass(frozen=True)
class ServerSettings:
    rounds: int
    seconds: int  # wrk's -d, per run
    client_requests: int  # per connection, for the Python client


def server_settings(settings: Settings) -> ServerSettings:
    if settings.repetitions >= 20:
        return ServerSettings(rounds=3, seconds=8, client_requests=CLIENT_REQUESTS)
    return ServerSettings(rounds=1, seconds=2, client_requests=CLIENT_REQUESTS // 5)


# --- checks ---------------------------------------------------------------------------


def decoded(status: str, headers: Sequence[tuple[str, str]], body: bytes) -> tuple[str, bytes]:
    """(status code, body) with a gzip Content-Encoding undone."""
    encodings = [value for name, value in headers if name.lower() == "content-encoding"]
    if encodings == ["gzip"]:
        body = gzip.decompress(body)
    elif encodings:
        raise AssertionError(f"unexpected Content-Encoding {encodings!r}")
    return status[:3], body


def base_environ(path: str, query: str = "") -> dict:
    return make_environ(
        path=path,
        QUERY_STRING=query,
        SERVER_PROTOCOL="HTTP/1.1",
        REMOTE_ADDR=CLIENT,
        HTTP_ACCEPT_ENCODING="gzip",
        HTTP_USER_AGENT=USER_AGENT,
    )


def expected_responses(stacks: dict[str, Stack]) -> dict[str, tuple[str, bytes]]:
    """Every checked path through every stack: the same status and decoded body, or raise.

    Each path is asked with and without a query string, twice (a miss, then a hit where it
    is cached). Returns path -> (status, decoded body).
    """
    expected: dict[str, tuple[str, bytes]] = {}
    for path in CHECKED_PATHS:
        for query in ("", "check=1"):
            for attempt in ("first", "second"):
                answers = {}
                for name, stack in stacks.items():
                    response = call_app(stack.app, base_environ(path, query))
                    answers[name] = decoded(response.status, response.headers, response.body)
                    stack.served += 1
                reference = expected.setdefault(path, answers[RUST])
                for name, answer in answers.items():
                    if answer != reference:
                        raise AssertionError(
                            f"{path}?{query} ({attempt}): {name} answered {answer[0]} "
                            f"{answer[1][:60]!r}..., expected {reference[0]} "
                            f"{reference[1][:60]!r}..."
                        )
    for path in MIX_PATHS:
        status, body = expected[path]
        if status != "200" or b"Goodbye" not in body or b"Hello" in body:
            raise AssertionError(f"{path}: {status} {body[:80]!r} is not a rewritten page")
    return expected


def check_log(path: Path, expected: int, what: str, *, at_least: bool = False) -> int:
    """Raise AssertionError unless ``path`` holds ``expected`` whole lines (or more).

    Each line must be an access line for 127.0.0.1 with a 3-digit status. Returns the
    number of lines.
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines.pop() != b"":
        raise AssertionError(f"{what}: {path.name} does not end with a whole line")
    count = len(lines)
    if count < expected or (not at_least and count != expected):
        raise AssertionError(
            f"{what}: {path.name} has {count} lines for {expected} requests ({count - expected:+d})"
        )
    for line in set(lines[:: max(1, count // 1000)]):
        if ACCESS_LINE.match(line) is None:
            raise AssertionError(f"{what}: {path.name} has a line that is not whole: {line!r}")
    return count


ACCESS_LINE = re.compile(rb'127\.0\.0\.1 \S+ \S+ \[[^\]]+\] "GET /[^"]* HTTP/1\.[01]" \d{3} ')


@contextmanager
def temporary_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="bench_stack_"))
    try:
        yield directory
    finally:
        gc.collect()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def in_process_stacks(directory: Path) -> Iterator[dict[str, Stack]]:
    stacks: dict[str, Stack] = {}
    try:
        for kind, name in KINDS.items():
            stacks[name] = build_stack(kind, directory / f"{kind}.log")
        yield stacks
    finally:
        for stack in stacks.values():
            stack.close()
        stacks.clear()


# --- in-process -----------------------------------------------------------------------

# Unique query strings for the miss mix: next() on a count is atomic under the GIL.
_unique = itertools.count()


def environ_maker(mix: str) -> Callable[[int], dict]:
    """A function of the request number that builds that request's environ (in the loop)."""
    bases = [base_environ(path) for path in MIX_PATHS]
    count = len(bases)
    if mix == HIT:
        return lambda i: dict(bases[i % count])

    def miss(i: int) -> dict:
        environ = dict(bases[i % count])
        environ["QUERY_STRING"] = f"v={next(_unique)}"
        return environ

    return miss


def run_threads(stack: Stack, mix: str, threads: int, requests: int) -> int:
    """Nanoseconds for ``threads`` threads, started together, to serve ``requests`` each.

    Each request's environ is built in the loop (a dict copy, plus the query string of the
    miss mix), the same work for both stacks. Before a miss run the cache is emptied, outside
    the clock; a hit run must not add a cache entry.
    """
    make = environ_maker(mix)
    if mix == MISS:
        stack.clear_cache()
    entries = stack.cache_entries()
    app = stack.app

    def prepare(index: int) -> Callable[[], None]:
        def job() -> None:
            for i in range(index * requests, (index + 1) * requests):
                serve(app, make(i))

        return job

    elapsed = time_threads(threads, prepare)
    stack.served += threads * requests
    after = stack.cache_entries()
    if mix == HIT and after != entries:
        raise AssertionError(f"{stack.name}: the hit mix added {after - entries} cache entries")
    if mix == MISS and after <= entries:
        raise AssertionError(f"{stack.name}: the miss mix stored nothing")
    return elapsed


def calibrate(stack: Stack, mix: str) -> int:
    """How many requests one thread serves in ~RUN_SECONDS (at least 1)."""
    target_ns = RUN_SECONDS * 1e9
    requests = 1
    while True:
        elapsed = run_threads(stack, mix, 1, requests)
        if elapsed >= target_ns / 4:
            return max(1, round(requests * target_ns / elapsed))
        requests *= 2


ONE_CACHE = "one Cache layer"


def floor_stacks(directory: Path) -> dict[str, Stack]:
    """What the hit overhead is measured against: the bare app (the Rust stack's responses,
    sent as they are) and one Cache layer around it."""
    bare = bare_app()
    cache = wsgi_mw.Cache(bare)
    noop = lambda: None
    return {
        BARE: Stack(BARE, bare, directory / "none.log", noop, noop, lambda: 0, noop),
        ONE_CACHE: Stack(
            ONE_CACHE,
            cache,
            directory / "none.log",
            noop,
            cache.clear,
            lambda: cache.stats()["entries"],
            noop,
        ),
    }


def in_process_table(
    settings: Settings,
) -> tuple[list[str], dict[str, tuple[str, bytes]], int]:
    """µs per request of each stack, one thread and two; returns the table and legend, the
    expected responses (for the server runs) and the number of missed targets."""
    rounds = max(1, settings.repetitions // REPETITIONS_PER_ROUND)
    per_request: dict[tuple[str, str, int], list[float]] = {}
    started = time.perf_counter()
    with temporary_directory() as directory, in_process_stacks(directory) as stacks:
        expected = expected_responses(stacks)
        floors = floor_stacks(directory)
        for name, stack in stacks.items():  # warm the hit mix's entries up
            run_threads(stack, HIT, 1, 2 * len(MIX_PATHS))
            stack.flush()
            check_log(stack.log_path, stack.served, f"{name}, warm-up")
        for stack in floors.values():  # one Cache layer stores the hit mix's entries
            for path in MIX_PATHS:
                serve(stack.app, base_environ(path))
        for mix in MIXES:
            timed = dict(stacks) if mix == MISS else {**stacks, **floors}
            requests = {name: calibrate(stack, mix) for name, stack in timed.items()}
            for _ in range(rounds):
                for name, stack in timed.items():
                    for threads in (1, 2) if name in stacks else (1,):
                        elapsed = run_threads(stack, mix, threads, requests[name])
                        key = (mix, name, threads)
                        per_request.setdefault(key, []).append(elapsed / (threads * requests[name]))
        for name, stack in stacks.items():
            stack.flush()
            check_log(stack.log_path, stack.served, f"in-process, {name}")
    print(f"  in-process: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    headers = ["mix", "threads", f"{RUST} (µs)", f"{PYTHON} (µs)", "Rust/Python"]
    rows = []
    misses = 0
    for mix in MIXES:
        for threads in (1, 2):
            rust, python = (per_request[mix, name, threads] for name in (RUST, PYTHON))
            ratio = statistics.median(rust) / statistics.median(python)
            cell = f"{ratio:.2f}"
            if threads == 1:
                target = IN_PROCESS_TARGETS[mix]
                cell += f" (target ≤ {target:g})"
                if ratio > target:
                    cell += " MISS"
                    misses += 1
            rows.append(
                [
                    mix,
                    str(threads),
                    f"{statistics.median(rust) / 1000:.2f} / {min(rust) / 1000:.2f}",
                    f"{statistics.median(python) / 1000:.2f} / {min(python) / 1000:.2f}",
                    cell,
                ]
            )
    median_us = {
        name: statistics.median(per_request[HIT, name, 1]) / 1000
        for name in (RUST, BARE, ONE_CACHE)
    }
    stack_overhead = median_us[RUST] - median_us[BARE]
    cache_overhead = median_us[ONE_CACHE] - median_us[BARE]
    overhead_ratio = stack_overhead / cache_overhead if cache_overhead > 0 else float("inf")
    overhead_cell = f"{overhead_ratio:.1f} (target ≤ {HIT_OVERHEAD_TARGET:g})"
    if overhead_ratio > HIT_OVERHEAD_TARGET:
        overhead_cell += " MISS"
        misses += 1
    overhead_table = markdown_table(
        ["hit mix, 1 thread", "µs per request", "overhead over the bare app (µs)"],
        [
            [BARE, f"{median_us[BARE]:.2f}", "0"],
            [ONE_CACHE, f"{median_us[ONE_CACHE]:.2f}", f"{cache_overhead:.2f}"],
            [RUST, f"{median_us[RUST]:.2f}", f"{stack_overhead:.2f}"],
            ["stack overhead / one Cache's", "", overhead_cell],
        ],
    )
    legend = (
        "Times are µs of wall-clock time per request, all threads together, `median / min` "
        f"over {rounds} interleaved runs of ~{RUN_SECONDS * 1000:g} ms of work per thread "
        "(requests per thread calibrated per stack and mix on one thread, the same for both "
        "thread counts). The ratio is median(Rust) / median(Python): below 1, Rust is faster."
    )
    overhead_legend = (
        "The hit overhead: the same hit mix through the bare app (the Rust stack's own "
        "responses, prepared once and sent as they are: `stack_apps.bare_app`) and through "
        "one `Cache` layer around it, interleaved with the rows above. The stack's overhead "
        "over the bare app against one Cache layer's says how much the observing layers "
        "around a hit (Logger, the fused Gzip/Rewrite/Router stages it skips) cost."
    )
    return (
        [markdown_table(headers, rows), legend, overhead_table, overhead_legend],
        expected,
        misses,
    )


# --- through gunicorn -----------------------------------------------------------------

WRK_SCRIPT = """\
-- bench_stack.py: the {mix} mix. Every request: GET, Accept-Encoding: gzip.
local paths = {{{paths}}}
local miss = {miss}
local counter = 0
local id = 0
local next_id = 0
local run = "0"

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
end

-- args[1]: a name for this wrk run, so a miss URL is never one of an earlier run
function init(args)
  run = args[1] or "0"
  id = wrk.thread:get("id") or 0
  wrk.headers["Accept-Encoding"] = "gzip"
  wrk.headers["User-Agent"] = "{agent}"
end

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  if miss then
    path = path .. "?v=" .. run .. "-" .. id .. "-" .. counter
  end
  return wrk.format("GET", path)
end
"""


def wrk_script(mix: str) -> str:
    paths = ", ".join(f'"{path}"' for path in MIX_PATHS)
    miss = "true" if mix == MISS else "false"
    return WRK_SCRIPT.format(mix=mix, paths=paths, miss=miss, agent=USER_AGENT)


def server_command(server: str, kind: str, log_path: Path, port: int) -> list[str]:
    if server == GRANIAN:
        # One worker; granian's factory reads the stack and log path from the environment
        # (server_environment).
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-ws",
            "--factory",
            "stack_apps:create_from_env",
        ]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        str(GUNICORN_WORKERS),
        "--threads",
        str(GUNICORN_THREADS),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
        "--pythonpath",
        str(BENCHES_DIR),
        f'stack_apps:create("{kind}", "{log_path}")',
    ]


def server_environment(kind: str, log_path: Path) -> dict[str, str]:
    env = dict(os.environ, WSGI_MW_BENCH_STACK=kind, WSGI_MW_BENCH_LOG=str(log_path))
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(BENCHES_DIR), env.get("PYTHONPATH", "")) if part
    )
    return env


@contextmanager
def serving(
    server: str, kind: str, log_path: Path, directory: Path
) -> Iterator[tuple[int, list[str]]]:
    """``server`` (gunicorn or granian) serving the ``kind`` stack: (port, command); always
    stopped afterwards.

    Ready once a request through it is answered. Stopped with SIGTERM (graceful: the workers
    run ``atexit``, so every log line is written), then SIGKILL after 20 s.
    """
    port = free_port()
    command = server_command(server, kind, log_path, port)
    output = open(directory / f"{server}_{kind}_{port}.out", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=server_environment(kind, log_path),
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{server} exited with {process.returncode}: {tail(output)}")
            try:
                fetch(port, "/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server} not ready in {READY_TIMEOUT:g} s") from None
                time.sleep(0.05)
        yield port, command
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.close()


def tail(output: object) -> str:
    path = Path(output.name)
    return path.read_text(errors="replace")[-2000:]


def fetch(port: int, path: str) -> tuple[str, bytes]:
    """One GET through a fresh connection: (status code, decoded body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        return decoded(str(response.status), response.getheaders(), body)
    finally:
        connection.close()


def check_server(
    port: int, name: str, expected: dict[str, tuple[str, bytes]], server: str = GUNICORN
) -> int:
    """Every checked path through the server answers as in-process; returns the requests."""
    for path in CHECKED_PATHS:
        answer = fetch(port, path)
        if answer != expected[path]:
            raise AssertionError(
                f"{name} through {server}: {path} answered {answer[0]} {answer[1][:60]!r}..., "
                f"expected {expected[path][0]} {expected[path][1][:60]!r}..."
            )
    return len(CHECKED_PATHS)


def wrk_command(script: Path, port: int, seconds: int, run_name: str) -> list[str]:
    return [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        run_name,
    ]


def run_python_client(port: int, mix: str, requests: int, run_name: str) -> Load:
    """The fallback load: WRK_CONNECTIONS threads, one keep-alive connection each,
    ``requests`` GETs each, in the mix's URL order; latencies of every request."""
    latencies: list[list[float]] = []
    failures: list[str] = []

    def prepare(number: int) -> Callable[[], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Accept-Encoding": "gzip", "User-Agent": USER_AGENT}

        def client() -> None:
            own: list[float] = []
            try:
                for i in range(requests):
                    path = MIX_PATHS[i % len(MIX_PATHS)]
                    if mix == MISS:
                        path = f"{path}?v={run_name}-{number}-{i}"
                    started = time.perf_counter()
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    own.append((time.perf_counter() - started) * 1000)
                    if response.status != 200:
                        failures.append(f"{path}: {response.status}")
                        return
            except (OSError, http.client.HTTPException) as error:  # reported as wrk's errors
                failures.append(repr(error))
            finally:
                connection.close()
                latencies.append(own)

        return client

    seconds = time_threads(WRK_CONNECTIONS, prepare) / 1e9
    if failures:
        raise RuntimeError(f"the Python load client failed: {failures[:5]}")
    every = sorted(value for own in latencies for value in own)
    quantiles = statistics.quantiles(every, n=100, method="inclusive")
    return Load(len(every), seconds, quantiles[49], quantiles[98])


@dataclass
class ServerRun:
    mix: str
    name: str
    load: Load
    commands: list[str]


def server_run(
    server_name: str,
    kind: str,
    mix: str,
    directory: Path,
    expected: dict[str, tuple[str, bytes]],
    server: ServerSettings,
    use_wrk: bool,
) -> ServerRun:
    """A fresh server (empty caches, new log file), checked, warmed up, loaded, stopped."""
    name = SERVED_KINDS[kind]
    log_path = directory / f"{kind}_{mix}_{time.monotonic_ns()}.log"
    script = directory / f"{mix}.lua"
    served = 0
    with serving(server_name, kind, log_path, directory) as (port, command):
        served += 1  # the readiness request
        served += check_server(port, name, expected, server_name)
        if use_wrk:
            served += run_wrk(wrk_command(script, port, WARM_UP_SECONDS, "warm")).requests
            measured = wrk_command(script, port, server.seconds, "run")
            load = run_wrk(measured)
            commands = [shlex.join(command), shlex.join(measured)]
        else:
            served += run_python_client(
                port, mix, max(1, server.client_requests // 10), "warm"
            ).requests
            load = run_python_client(port, mix, server.client_requests, "run")
            commands = [
                shlex.join(command),
                (
                    f"Python client: {WRK_CONNECTIONS} threads x {server.client_requests} "
                    "keep-alive GETs (bench_stack.run_python_client)"
                ),
            ]
        if server_name == GRANIAN:
            # granian's workers do not run atexit when stopped (docs/logger.md): let the
            # Logger's writer thread (at least once a second) write every line first.
            time.sleep(1.5)
    served += load.requests
    if kind != "bare":  # the bare app logs nothing
        # wrk counts the requests it completed; the server has logged at least those.
        check_log(log_path, served, f"{name}, {mix} mix through {server_name}", at_least=True)
        log_path.unlink()
    if server_name == GRANIAN:
        commands[0] = (
            f"WSGI_MW_BENCH_STACK={kind} WSGI_MW_BENCH_LOG=<log> PYTHONPATH=benches " + commands[0]
        )
    return ServerRun(mix, name, load, commands)


def server_table(
    settings: Settings, expected: dict[str, tuple[str, bytes]], server_name: str = GUNICORN
) -> tuple[list[str], int]:
    server = server_settings(settings)
    use_wrk = shutil.which("wrk") is not None
    kinds = SERVER_KINDS[server_name]
    granian = server_name == GRANIAN
    runs: list[ServerRun] = []
    started = time.perf_counter()
    with temporary_directory() as directory:
        for mix in MIXES:
            (directory / f"{mix}.lua").write_text(wrk_script(mix), encoding="utf-8")
        for _ in range(server.rounds):
            for mix in MIXES:
                for kind in kinds:  # Rust, Python(, bare), Rust, ...
                    if kind == "bare" and mix != HIT:
                        continue
                    runs.append(
                        server_run(server_name, kind, mix, directory, expected, server, use_wrk)
                    )
                    load = runs[-1].load
                    print(
                        f"  {server_name} {mix} {kind}: {load.rps:.0f} req/s, "
                        f"p99 {load.p99_ms:.2f} ms",
                        file=sys.stderr,
                    )
        scripts = {mix: (directory / f"{mix}.lua").read_text() for mix in MIXES}
    print(f"  through {server_name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    headers = [
        "mix",
        "stack",
        "requests (per run)",
        "requests/s",
        "p50 (ms)",
        "p99 (ms)",
        "requests/s Rust/Python",
        "p99 Rust/Python",
    ]
    if granian:
        headers.append("requests/s Rust/bare app")
    rows = []
    misses = 0
    commands_block = []
    rps_target = GRANIAN_HIT_RPS_TARGET if granian else HIT_RPS_TARGET
    for mix in MIXES:
        stats = {}
        names = [SERVED_KINDS[kind] for kind in kinds if kind != "bare" or mix == HIT]
        for name in names:
            own = [run for run in runs if run.mix == mix and run.name == name]
            stats[name] = (
                [run.load.requests for run in own],
                statistics.median(run.load.rps for run in own),
                statistics.median(run.load.p50_ms for run in own),
                statistics.median(run.load.p99_ms for run in own),
            )
            commands_block.append(
                f"- {mix} mix, {name} (the last run; each run has its own port and log file):\n"
                + "\n".join(f"  `{line}`" for line in own[-1].commands)
            )
        rps_ratio = stats[RUST][1] / stats[PYTHON][1]
        p99_ratio = stats[RUST][3] / stats[PYTHON][3]
        rps_cell = f"{rps_ratio:.2f}"
        p99_cell = f"{p99_ratio:.2f}"
        bare_cell = ""
        if mix == HIT:
            rps_cell += f" (target ≥ {rps_target:g})"
            if rps_ratio < rps_target:
                rps_cell += " MISS"
                misses += 1
            p99_cell += f" (target ≤ {P99_TARGET:g})"
            if p99_ratio > P99_TARGET:
                p99_cell += " MISS"
                misses += 1
            if granian:
                bare_ratio = stats[RUST][1] / stats[BARE][1]
                bare_cell = f"{bare_ratio:.2f} (target ≥ {GRANIAN_BARE_TARGET:g})"
                if bare_ratio < GRANIAN_BARE_TARGET:
                    bare_cell += " MISS"
                    misses += 1
        for name in names:
            counts, rps, p50, p99 = stats[name]
            first = name == RUST
            row = [
                mix,
                name,
                ", ".join(str(count) for count in counts),
                f"{rps:.0f}",
                f"{p50:.2f}",
                f"{p99:.2f}",
                rps_cell if first else "",
                p99_cell if first else "",
            ]
            if granian:
                row.append(bare_cell if first else "")
            rows.append(row)
    per_server = (
        "one connection per gunicorn thread"
        if not granian
        else f"{WRK_CONNECTIONS} connections to granian's one worker"
    )
    if use_wrk:
        load_text = (
            f"Load: `wrk` ({wrk_version()}), {WRK_THREADS} threads, {WRK_CONNECTIONS} "
            f"keep-alive connections ({per_server}). wrk runs for a fixed "
            f"duration ({server.seconds} s), not a fixed request count: the requests it "
            f"completed in each run are in the table. Each run has its own {server_name}, "
            f"started for it (empty caches, a new log file), checked (every path answers as "
            f"in-process), then warmed up with a {WARM_UP_SECONDS} s wrk run of the same "
            "mix, not counted."
        )
    else:
        load_text = (
            "Load: `wrk` is not installed; a bounded Python client instead: "
            f"{WRK_CONNECTIONS} threads, one keep-alive `http.client` connection each, "
            f"{server.client_requests} GETs each (a fixed request count). The client shares "
            "the CPU and the GIL of one process: its numbers are lower than wrk's, and on a "
            "small machine it competes with the server for the cores, which compresses the "
            f"ratios towards 1. Each run has its own {server_name} (empty caches, a new log "
            "file), checked, then warmed up."
        )
    bare_text = (
        " The bare app sends the Rust stack's own responses (status, headers, the compressed "
        "and rewritten bytes, prepared once at start-up: `stack_apps.bare_app`) with no "
        "middleware: the floor the stack is measured against. It runs the hit mix only."
        if granian
        else ""
    )
    legend = (
        f"{load_text} Requests/s and latencies are medians over {server.rounds} interleaved "
        "runs (hit: Rust, Python, ...; then miss); p50 and p99 are the latency percentiles "
        "of each run, as the load generator reports them. After each run the access log "
        "holds at least one line per request completed. Ratios: median(Rust) / "
        f"median(Python).{bare_text}"
    )
    script_blocks = [
        f"The `{mix}.lua` script:\n\n```lua\n{scripts[mix].rstrip()}\n```" for mix in MIXES
    ]
    blocks = [
        markdown_table(headers, rows),
        legend,
        "Exact command lines (run from the repository root):\n\n" + "\n".join(commands_block),
        *(script_blocks if use_wrk and not granian else []),
    ]
    return blocks, misses


def wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout + done.stderr).strip().splitlines()
    return first[0] if first else "version unknown"


# --- the section ----------------------------------------------------------------------


def run(settings: Settings = FULL) -> str:
    """Time the whole Rust stack against the same stack of pure-Python peers."""
    in_process, expected, in_process_misses = in_process_table(settings)
    server, gunicorn_misses = server_table(settings, expected, GUNICORN)
    granian, granian_misses = server_table(settings, expected, GRANIAN)
    misses = in_process_misses + gunicorn_misses + granian_misses
    return section(
        "Whole stack: Rust against pure Python",
        f"The five wsgi_mw {wsgi_mw.__version__} middlewares stacked as "
        '`Logger(Cache(Gzip(Rewrite(Router(routes, default=not_found), [("Hello", '
        '"Goodbye")]))), sink=path)` (Cache outside Gzip, as docs/cache.md recommends), '
        "against the same stack built from the pure-Python peers, in the same order: Paste "
        f"{version('paste')}'s `TransLogger` (a `logging.Logger` with a `FileHandler`), "
        "`MinimalDictCache`, `DjangoStyleGzip`, `StreamingReplace` and `WerkzeugDispatch` on "
        f"a Werkzeug {version('werkzeug')} `Map` (benches/peers.py; the stacks are in "
        "benches/stack_apps.py). Both route `/`, `/about` and `/products/<int>` to the same "
        "page apps (2.7–4 KiB of HTML in two chunks, `Hello` in every row) and everything "
        "else to the same 404 page; before timing, every path is checked to get the same "
        "status and the same decoded body from both stacks (and through gunicorn, before "
        "each server run). Every request has `Accept-Encoding: gzip`. The **hit** mix "
        f"cycles through {', '.join(f'`{path}`' for path in MIX_PATHS)}, answered from the "
        "cache after a warm-up; the **miss** mix asks the same paths with a query string "
        "unique to each request, so every request goes through the whole stack down to the "
        f"app and is stored. {REPRODUCE}",
        "### In-process",
        "Requests driven as a server drives them (call, iterate, close) on one thread and on "
        "two sharing one stack, no sockets. Each request's environ is built in the loop (a "
        "copy, plus the unique query string of the miss mix); before each miss run the cache "
        "is emptied, outside the clock. The log files are checked afterwards: one line per "
        "request served.",
        *in_process,
        f"### Through gunicorn {version('gunicorn')}",
        f"gunicorn's gthread worker, {GUNICORN_WORKERS} worker processes × "
        f"{GUNICORN_THREADS} threads, on 127.0.0.1 with the load generator on the same "
        f"machine ({os.cpu_count()} cores shared by the server and the load).",
        *server,
        f"### Through granian {version('granian')}",
        "granian's WSGI interface (`--interface wsgi`), one worker process, on 127.0.0.1 with "
        f"the load generator on the same machine ({os.cpu_count()} cores). granian's own cost "
        "per request is small enough for the middleware's to show. Same two stacks, plus a "
        "bare app that sends the Rust stack's responses without any middleware.",
        *granian,
        f"Ratios marked MISS in this section: {misses}."
        if misses
        else "Every ratio in this section meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
