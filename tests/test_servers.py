"""examples/stack.py -- Logger(Gzip(Cache(Rewrite(Router(...))))) -- under real WSGI servers,
each a subprocess on 127.0.0.1, driven by a real HTTP client (requests; curl when present).

One module-scoped fixture per server (parametrized): started once, probed until the app
answers, and always stopped (SIGTERM, then SIGKILL). Every test runs against every server;
the commands are in SERVERS, and docs/servers.md shows them with the results.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import apachelogs
import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(EXAMPLES))

import stack  # examples/stack.py: the app under test, for its constants

# What the client must get, computed here from the app's raw content (the oracle is the
# Rewrite rule, not the middleware).
PAGE = stack.HELLO_PAGE.replace(b"Hello", b"Goodbye")
assert PAGE != stack.HELLO_PAGE
ONLY_GET = stack.ONLY_GET_BODY.replace(b"Hello", b"Goodbye")
BIG = bytes(range(256)) * 4096
assert len(BIG) == 1024 * 1024
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
IDENTITY = {"Accept-Encoding": "identity"}

START_TIMEOUT = 30.0  # uWSGI and granian need a moment to load the app
STOP_TIMEOUT = 10.0
LOG_TIMEOUT = 5.0  # the file sink writes at least once a second


def run_gunicorn(*worker: str):
    def argv(port: int) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            *worker,
            "--graceful-timeout",
            "3",
            "stack:application",
        ]

    return argv


# name -> port -> argv. Every server runs with cwd=ROOT and PYTHONPATH=examples, one process
# serving requests (Cache keeps one store per process: MISS then HIT needs one).
SERVERS = {
    "wsgiref": lambda port: [
        sys.executable,
        str(ROOT / "tests" / "servers_runner.py"),
        "wsgiref",
        str(port),
    ],
    "gunicorn-sync": run_gunicorn("--worker-class", "sync"),
    "gunicorn-gthread": run_gunicorn("--worker-class", "gthread", "--threads", "4"),
    "waitress": lambda port: [
        str(BIN / "waitress-serve"),
        f"--listen=127.0.0.1:{port}",
        "--threads=4",
        "stack:application",
    ],
    "uwsgi": lambda port: [
        str(BIN / "uwsgi"),
        "--http-socket",
        f"127.0.0.1:{port}",
        "--master",
        "--processes",
        "1",
        "--threads",
        "2",
        "--die-on-term",
        "--need-app",
        "--disable-logging",
        # http-socket closes the connection after every response without saying so, and
        # clients that reuse connections then get resets: announce it (RFC 9112 section 9.6).
        "--add-header",
        "Connection: close",
        "--home",
        sys.prefix,
        "--module",
        "stack:application",
    ],
    "granian": lambda port: [
        str(BIN / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "stack:application",
    ],
    "cheroot": lambda port: [
        sys.executable,
        str(ROOT / "tests" / "servers_runner.py"),
        "cheroot",
        str(port),
    ],
}


@dataclass
class Running:
    name: str
    argv: list[str]
    proc: subprocess.Popen
    port: int
    log: pathlib.Path  # WSGI_MW_STACK_LOG
    gates: pathlib.Path  # WSGI_MW_STACK_GATES
    output: pathlib.Path  # the server's stdout + stderr

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output_tail(self) -> str:
        return self.output.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: Running) -> None:
    """Poll until the port accepts connections and the app answers, or fail."""
    deadline = time.monotonic() + START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(
                f"{server.name} exited with {server.proc.returncode} while starting:\n"
                f"{server.output_tail()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                pass
            response = requests.get(f"{server.url}/only-get?ready", timeout=2)
            if response.status_code == 200:
                return
            last_error = AssertionError(f"status {response.status_code}")
        except (OSError, requests.RequestException) as error:
            last_error = error
        time.sleep(0.05)
    pytest.fail(
        f"{server.name} not ready after {START_TIMEOUT} s ({last_error!r}):\n{server.output_tail()}"
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request, tmp_path_factory):
    name = request.param
    workdir = tmp_path_factory.mktemp(name)
    gates = workdir / "gates"
    gates.mkdir()
    port = free_port()
    argv = SERVERS[name](port)
    assert pathlib.Path(argv[0]).exists(), f"{argv[0]} is not installed: pip install -e '.[test]'"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(EXAMPLES), str(ROOT)]),
        WSGI_MW_STACK_LOG=str(workdir / "access.log"),
        WSGI_MW_STACK_GATES=str(gates),
    )
    output = workdir / "server.out"
    with open(output, "wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    running = Running(name, argv, proc, port, workdir / "access.log", gates, output)
    try:
        wait_ready(running)
        yield running
    finally:
        stop(proc)
    # After the server stopped: whatever the tests did, the app must not have raised.
    text = output.read_text(errors="replace")
    assert "Traceback" not in text, f"{name} logged an exception:\n{text[-4000:]}"


# --------------------------------------------------------------------------- client helpers


@dataclass
class Fetched:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    wire: bytes  # the body as sent: after transfer decoding, before content decoding
    body: bytes  # the body the client sees (content-decoded)


def fetch(server: Running, method: str, path: str, headers=None, session=None) -> Fetched:
    client = session or requests
    response = client.request(
        method, server.url + path, headers=headers, stream=True, timeout=10, allow_redirects=False
    )
    with response:
        wire = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(wire)
    else:
        assert encoding is None, f"unexpected Content-Encoding {encoding!r}"
        body = wire
    return Fetched(response.status_code, response.headers, wire, body)


def raw_exchange(server: Running, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send `request` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while part := sock.recv(65536):
            data += part
    head, separator, body = data.partition(b"\r\n\r\n")
    assert separator, f"no end of head in {data[:200]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status_line, headers, body


def marker() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- the checks


def test_page_byte_exact_and_rewritten(server):
    got = fetch(server, "GET", "/", IDENTITY)
    assert got.status == 200
    assert got.body == PAGE
    assert b"Hello" not in got.body
    assert got.headers["Content-Type"] == HTML
    assert "Content-Encoding" not in got.headers
    # A list body rewritten in one go: Rewrite sets the exact length.
    assert got.headers.get("Content-Length") == str(len(PAGE))


def test_gzip_decoded_by_client(server):
    response = requests.get(server.url + "/", timeout=10)  # requests sends gzip, deflate
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in response.headers["Vary"].lower()
    assert response.content == PAGE
    got = fetch(server, "GET", "/", {"Accept-Encoding": "gzip"})
    assert got.wire[:2] == b"\x1f\x8b"
    assert len(got.wire) < len(PAGE)
    assert got.body == PAGE
    if "Content-Length" in got.headers:
        assert int(got.headers["Content-Length"]) == len(got.wire)


def test_cache_miss_then_hit(server):
    path = f"/cached?k={marker()}"
    first = fetch(server, "GET", path, IDENTITY)
    second = fetch(server, "GET", path, IDENTITY)
    assert (first.status, second.status) == (200, 200)
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert "Age" in second.headers
    # The body carries a render counter: the same body means the app did not run again.
    assert second.body == first.body
    assert b'"greeting": "Goodbye"' in first.body
    assert (
        first.headers["Content-Length"] == second.headers["Content-Length"] == str(len(first.body))
    )


def test_not_found(server):
    got = fetch(server, "GET", f"/no/such/page?{marker()}", IDENTITY)
    assert got.status == 404
    assert got.body == b"Not Found\n"
    assert got.headers["Content-Type"] == TEXT


def test_method_not_allowed_with_allow(server):
    got = fetch(server, "POST", "/only-get", IDENTITY)
    assert got.status == 405
    assert got.headers["Allow"] == "GET, HEAD"
    assert got.body == b"Method Not Allowed\n"
    ok = fetch(server, "GET", "/only-get", IDENTITY)
    assert ok.status == 200
    assert ok.body == ONLY_GET


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_stream_first_chunk_before_last(server, encoding):
    """The app yields the first event, then waits for a gate file that the test creates only
    after it has read that event: reading `released` in the last event proves the first chunk
    crossed the server while the app still had not yielded the last."""
    gate = marker()
    response = requests.get(
        f"{server.url}/stream?gate={gate}",
        headers={"Accept-Encoding": encoding},
        stream=True,
        timeout=(5, 20),
    )
    with response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers.get("Content-Encoding") == ("gzip" if encoding == "gzip" else None)
        # read1: whatever has arrived, decoded (iter_content(None) would read a body without
        # Content-Length or chunking, as HTTP/1.0 servers send it, until the end).
        received = b""
        while not received.endswith(b"\n\n"):
            part = response.raw.read1(decode_content=True)
            if not part:
                break
            received += part
        assert received == stack.STREAM_FIRST, received
        (server.gates / gate).touch()
        rest = response.raw.read(decode_content=True)
    assert rest == b"data: last released\n\n"


def test_head(server):
    status_line, headers, body = raw_exchange(
        server, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status_line.split()[1] == "200"
    assert headers["content-type"] == HTML
    if server.name == "waitress" and headers.get("transfer-encoding") == "chunked":
        # waitress (3.0) frames a response without Content-Length as chunked even for HEAD,
        # and then sends the last-chunk: 5 bytes a HEAD response must not have (RFC 9110
        # section 9.3.2). It closes the connection after it, so no client misreads them.
        # The app side sent no body byte: test_access_log_one_line_per_request logs 0.
        assert body == b"0\r\n\r\n"
    else:
        assert body == b""
    # The GET route's headers, no body; a Content-Length, if any, must be the GET's.
    if "content-length" in headers:
        assert headers["content-length"] in (str(len(PAGE)), "0"), headers
    status_line, headers, body = raw_exchange(
        server, b"HEAD /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status_line.split()[1] == "200"
    assert headers["content-length"] == str(len(BIG))
    assert body == b""
    response = requests.head(server.url + "/cached?head=" + marker(), timeout=10)
    assert response.status_code == 200
    assert response.content == b""


def test_one_mebibyte(server):
    got = fetch(server, "GET", "/big")  # the client accepts gzip: binary is not compressed
    assert got.status == 200
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Encoding" not in got.headers
    assert got.headers["Content-Length"] == str(len(BIG))
    assert len(got.body) == len(BIG)
    assert got.body == BIG


def read_log_entries(server: Running, markers: set[str]) -> dict[str, list]:
    """Poll the access log until every marker has a line, or the deadline; parsed lines by
    marker (the marker is the query string)."""
    parser = apachelogs.LogParser(apachelogs.COMBINED)
    deadline = time.monotonic() + LOG_TIMEOUT
    while True:
        lines = server.log.read_text().splitlines() if server.log.exists() else []
        found: dict[str, list] = {m: [] for m in markers}
        for line in lines:
            entry = parser.parse(line)
            query = entry.request_line.split()[1].partition("?")[2]
            if query in found:
                found[query].append(entry)
        if all(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_access_log_one_line_per_request(server):
    cases = [
        ("GET", "/", IDENTITY),
        ("GET", "/", {"Accept-Encoding": "gzip"}),
        ("HEAD", "/", IDENTITY),
        ("GET", "/no/such/page", IDENTITY),
        ("POST", "/only-get", IDENTITY),
        ("GET", "/big", IDENTITY),
        ("GET", "/stream", {"Accept-Encoding": "gzip"}),
    ]
    sent = {}
    for method, path, headers in cases:
        tag = marker()
        got = fetch(server, method, f"{path}?{tag}", headers)
        sent[tag] = (method, path, got)
    found = read_log_entries(server, set(sent))
    for tag, (method, path, got) in sent.items():
        entries = found[tag]
        assert len(entries) == 1, f"{method} {path}: {len(entries)} log lines"
        entry = entries[0]
        assert entry.request_line.split()[:2] == [method, f"{path}?{tag}"]
        assert entry.final_status == got.status
        expected = len(got.wire)  # body bytes on the wire: 0 for HEAD
        assert (entry.bytes_sent or 0) == expected, f"{method} {path}"
        assert entry.remote_host == "127.0.0.1"
        assert entry.headers_in["User-Agent"].startswith("python-requests/")


def test_concurrent_clients(server):
    """8 client threads, each with its own connection pool, mixing every kind of request."""
    shared = f"/cached?shared={marker()}"
    barrier = threading.Barrier(8)
    failures: list[str] = []
    finished: list[int] = []  # a thread that died of anything else is missing here

    def client(index: int) -> None:
        try:
            with requests.Session() as session:
                barrier.wait(timeout=10)
                for round_ in range(6):
                    got = fetch(server, "GET", "/", None, session)
                    assert (got.status, got.body) == (200, PAGE)
                    got = fetch(server, "GET", "/", IDENTITY, session)
                    assert (got.status, got.body) == (200, PAGE)
                    got = fetch(server, "GET", shared, IDENTITY, session)
                    assert got.status == 200 and b"Goodbye" in got.body
                    got = fetch(server, "GET", f"/missing/{index}/{round_}", IDENTITY, session)
                    assert (got.status, got.body) == (404, b"Not Found\n")
                    got = fetch(server, "POST", "/only-get", IDENTITY, session)
                    assert got.status == 405
                    if round_ % 3 == 0:
                        got = fetch(server, "GET", "/big", None, session)
                        assert got.body == BIG
            finished.append(index)
        except (
            AssertionError,
            OSError,
            requests.RequestException,
            threading.BrokenBarrierError,
        ) as error:
            failures.append(f"thread {index}: {error!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    assert failures == []
    assert sorted(finished) == list(range(8))
    # Every thread saw the same stored document afterwards.
    bodies = {fetch(server, "GET", shared, IDENTITY).body for _ in range(3)}
    assert len(bodies) == 1


CURL = shutil.which("curl")


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl(server, tmp_path):
    body_file = tmp_path / "body"
    result = subprocess.run(
        [CURL, "-sS", "--compressed", "-D", "-", "-o", str(body_file), server.url + "/"],
        capture_output=True,
        timeout=20,
        check=True,
    )
    head = result.stdout.decode("latin-1").lower()
    assert head.startswith("http/1.") and " 200" in head.splitlines()[0]
    assert "content-encoding: gzip" in head
    assert body_file.read_bytes() == PAGE
    result = subprocess.run(
        [CURL, "-sS", "-o", str(body_file), server.url + "/big"],
        capture_output=True,
        timeout=20,
        check=True,
    )
    assert body_file.read_bytes() == BIG
    result = subprocess.run(
        [CURL, "-sS", "-I", server.url + "/only-get"], capture_output=True, timeout=20, check=True
    )
    assert b" 200" in result.stdout.splitlines()[0]
    result = subprocess.run(
        [CURL, "-sS", "-X", "POST", "-D", "-", "-o", "/dev/null", server.url + "/only-get"],
        capture_output=True,
        timeout=20,
        check=True,
    )
    head = result.stdout.decode("latin-1").lower()
    assert " 405" in head.splitlines()[0]
    assert "allow: get, head" in head
