"""Static against WhiteNoise: in-process requests, requests/s under granian, start-up.

Three tables, on trees made in a temporary directory:
- in-process: the same files served by ``WhiteNoise(app, root, prefix="static/")`` and by
  ``Static(app, root)``, interleaved (the runner checks both send the same body first); the
  targets are Static at ≤ 0.2x WhiteNoise on a 4 KiB file, for a 200 and for a 304;
- requests/s under granian (1 worker, wrk on 127.0.0.1): Static, WhiteNoise, and granian's
  own ``--static-path-mount`` (its Rust file server, no Python at all), rounds interleaved;
- start-up: constructing each over a tree of 20 000 files (WhiteNoise scans and stats every
  file at construction too when ``autorefresh`` is off), interleaved, warm page cache.

Run alone: ``python benches/bench_static.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from importlib.metadata import version

from runner import (
    FULL,
    Case,
    Ratio,
    Settings,
    bench_main,
    call_app,
    count_misses,
    free_port,
    make_environ,
    markdown_table,
    measure_all,
    results_table,
    run_wrk,
    section,
    timing_legend,
)
from whitenoise import WhiteNoise

import wsgi_mw
from wsgi_mw import Static

KIB = 1024
SMALL = 4 * KIB
TARGET = 0.2  # Static / WhiteNoise, 4 KiB 200 and 304 (issue 17)
START_FILES = 20_000
START_ROUNDS = 5
WRK_SECONDS = 5
WRK_CONNECTIONS = 16
WRK_ROUNDS = 3
BENCHES = pathlib.Path(__file__).resolve().parent
APP_BODY = b"app\n"

REPRODUCE = (
    "Reproduce: `python benches/bench_static.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)

WHITENOISE = "WhiteNoise"
STATIC = "Static"
FLOOR = "floor"


def fallback(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return [APP_BODY]


def make_tree(root: pathlib.Path) -> None:
    """The files the in-process and granian tables serve."""
    text = (b"body { margin: 0 auto; color: #333; }\n" * 200)[:SMALL]
    (root / "css").mkdir(parents=True)
    (root / "css" / "site.css").write_bytes(text)
    (root / "js").mkdir()
    js = (b"function f(a) { return a + 1; }\n" * 2000)[: 64 * KIB]
    (root / "js" / "app.js").write_bytes(js)
    (root / "js" / "app.js.gz").write_bytes(gzip.compress(js, 9))
    (root / "big.bin").write_bytes(os.urandom(KIB * KIB))


def environ(path: str, **headers: str) -> dict:
    return make_environ(path=path, **{"HTTP_" + k.upper(): v for k, v in headers.items()})


def in_process_cases(root: pathlib.Path) -> list[Case]:
    whitenoise = WhiteNoise(fallback, root=str(root), prefix="static/", max_age=60)
    static = Static(fallback, root)
    css = root / "css" / "site.css"
    stat = os.stat(css)
    tag = f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
    date = formatdate(int(stat.st_mtime), usegmt=True)
    rows = [
        ("4 KiB, 200", environ("/static/css/site.css")),
        ("4 KiB, 304 (If-None-Match)", environ("/static/css/site.css", if_none_match=tag)),
        ("4 KiB, 304 (If-Modified-Since)", environ("/static/css/site.css", if_modified_since=date)),
        ("64 KiB, .gz sibling", environ("/static/js/app.js", accept_encoding="gzip, br")),
        ("1 MiB, 200", environ("/static/big.bin")),
        ("1 MiB, Range 100 bytes", environ("/static/big.bin", range="bytes=1000-1099")),
        ("not a file (to the app)", environ("/page")),
    ]
    return [
        Case(
            {"request": label},
            {WHITENOISE: whitenoise, STATIC: static, FLOOR: floor(static, env)},
            env,
        )
        for label, env in rows
    ]


def floor(app: Callable, env: dict) -> Callable:
    """The least a Python WSGI app can do to send this answer: ``app``'s response to
    ``env``, made once, then returned as it is (start_response and one bytes item)."""
    sent = call_app(app, env)
    status, headers, body = sent.status, sent.headers, [sent.body] if sent.body else []

    def answer(environ: dict, start_response: Callable) -> list[bytes]:
        start_response(status, headers)
        return body

    return answer


def check_in_process(cases: list[Case]) -> None:
    """Both answer each row with the same status (the runner checks the bodies)."""
    for case in cases:
        statuses = {
            name: call_app(app, case.environ).status[:3] for name, app in case.competitors.items()
        }
        assert len(set(statuses.values())) == 1, (case.labels, statuses)


# --- granian ----------------------------------------------------------------------------


@contextmanager
def granian(kind: str, root: pathlib.Path) -> Iterator[int]:
    """granian, one worker, serving ``kind`` (benches/static_server_app.py) on a free port."""
    port = free_port()
    argv = [
        str(pathlib.Path(sys.executable).parent / "granian"),
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
    ]
    if kind == "granian static":
        argv += ["--static-path-route", "/static", "--static-path-mount", str(root)]
    argv.append("static_server_app:application")
    env = dict(
        os.environ, PYTHONPATH=str(BENCHES), BENCH_STATIC_ROOT=str(root), BENCH_STATIC_KIND=kind
    )
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(
                        b"GET /static/css/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    )
                    if b" 200 " in sock.recv(64):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"granian ({kind}) did not start")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk(port: int, path: str, seconds: int) -> float:
    """Requests/s of one wrk run (runner.run_wrk refuses errors and non-2xx answers)."""
    command = [
        "wrk",
        "-t1",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        f"http://127.0.0.1:{port}{path}",
    ]
    return run_wrk(command).rps


GRANIAN_KINDS = ("Static", "WhiteNoise", "granian static")
GRANIAN_PATHS = {"4 KiB": "/static/css/site.css", "1 MiB": "/static/big.bin"}


def granian_table(root: pathlib.Path, settings: Settings) -> str:
    if shutil.which("wrk") is None:
        return "wrk is not installed (`apt-get install wrk`): no granian table in this run."
    rounds = WRK_ROUNDS if settings is FULL else 1
    seconds = WRK_SECONDS if settings is FULL else 1
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for kind in GRANIAN_KINDS:
            with granian(kind, root) as port:
                for label, path in GRANIAN_PATHS.items():
                    wrk(port, path, 1)  # warm-up
                    results.setdefault((label, kind), []).append(wrk(port, path, seconds))
    rows = []
    for label in GRANIAN_PATHS:
        median = {kind: statistics.median(results[(label, kind)]) for kind in GRANIAN_KINDS}
        rows.append(
            [
                label,
                *(f"{median[kind]:,.0f}" for kind in GRANIAN_KINDS),
                f"{median['Static'] / median['WhiteNoise']:.2f}",
                f"{median['Static'] / median['granian static']:.2f}",
            ]
        )
    return markdown_table(
        [
            "file",
            *(f"{kind} req/s" for kind in GRANIAN_KINDS),
            "Static/WhiteNoise",
            "Static/granian static",
        ],
        rows,
    ) + (
        f"\n\nMedian requests/s of {rounds} rounds of `wrk -t1 -c{WRK_CONNECTIONS} "
        f"-d{seconds}s`, the servers started in turn each round (A, B, C, A, B, C, ...), "
        "after a one-second warm-up; wrk and granian share the machine's cores. Higher is "
        "better: a ratio above 1 is Static serving more requests per second."
    )


# --- start-up ---------------------------------------------------------------------------


def make_big_tree(root: pathlib.Path, files: int) -> None:
    per_dir = 100
    for i in range(files):
        directory = root / f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            directory.mkdir(parents=True)
        (directory / f"f{i:05d}.{('css', 'js', 'png', 'svg')[i % 4]}").write_bytes(b"x" * 64)


def startup_table(settings: Settings) -> str:
    rounds = START_ROUNDS if settings is FULL else 1
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        make_big_tree(root, START_FILES)
        builders: dict[str, Callable[[], object]] = {
            WHITENOISE: lambda: WhiteNoise(fallback, root=str(root), prefix="static/"),
            STATIC: lambda: Static(fallback, root),
            "Static(autorefresh=True)": lambda: Static(fallback, root, autorefresh=True),
        }
        assert Static(fallback, root).files == START_FILES
        for build in builders.values():  # the page cache warm for everyone
            build()
        times: dict[str, list[float]] = {name: [] for name in builders}
        for _ in range(rounds):
            for name, build in builders.items():
                started = time.perf_counter()
                build()
                times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    rows = [
        [name, f"{median[name] * 1000:.1f}", f"{median[name] / median[WHITENOISE]:.3f}"]
        for name in builders
    ]
    return markdown_table(["constructor", "ms (median)", "/WhiteNoise"], rows) + (
        f"\n\nMedian of {rounds} interleaved constructions over {START_FILES:,} files of 64 "
        "bytes in 200 directories, page cache warm. `autorefresh=True` makes no index (each "
        "request looks its file up)."
    )


# --- the section ------------------------------------------------------------------------


def run(settings: Settings = FULL) -> str:
    """Time Static against WhiteNoise: in-process, under granian, and at start-up."""
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "static"
        make_tree(root)
        cases = in_process_cases(root)
        check_in_process(cases)
        results = measure_all(cases, settings)
        # The target is on the 4 KiB rows only; the table shows every ratio unmarked.
        targeted = [r for r in results if r.case.labels["request"].startswith("4 KiB")]
        missed = count_misses(targeted, [Ratio(STATIC, WHITENOISE, TARGET)])
        in_process = results_table(results, [Ratio(STATIC, WHITENOISE), Ratio(STATIC, FLOOR)])
        served = granian_table(root, settings)
    startup = startup_table(settings)
    return section(
        "Static: static files",
        f"`wsgi_mw.Static` from wsgi_mw {wsgi_mw.__version__} with its defaults, against "
        f"WhiteNoise {version('whitenoise')} (`WhiteNoise(app, root=..., prefix='static/', "
        f"max_age=60)`) on the same tree, and granian {version('granian')}'s own static "
        f"file serving. {REPRODUCE}",
        "### In-process",
        "One request per row, driven as a server would (the environ has no "
        "`wsgi.file_wrapper`, so WhiteNoise uses wsgiref's FileWrapper, 8 KiB blocks, and "
        "Static reads files up to 64 KiB in one read and streams larger ones in 64 KiB "
        "blocks). `floor` is the least any Python WSGI app does to send the same "
        "answer: the response made once, then `start_response(status, headers)` and "
        "`return [body]` on every request, with no file or header work at all; it "
        "includes the runner's own cost per request (an environ copy, the call, the "
        f"iteration). Targets: Static ≤ {TARGET}x WhiteNoise on the 4 KiB rows.",
        in_process,
        f"Ratios above {TARGET} on the 4 KiB rows: {missed}."
        if missed
        else f"The 4 KiB rows meet the {TARGET}x target.",
        "### Under granian",
        served,
        "### Start-up",
        startup,
        timing_legend(settings),
    )


if __name__ == "__main__":
    bench_main(run)
