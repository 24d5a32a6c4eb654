"""Logger: Hypothesis properties, threads and real servers.

Properties: any header text (latin-1 native strings as PEP 3333 gives them, and any Unicode
given directly in the environ) comes back out of the combined line through apachelogs and out
of the json line through json.loads, with no raw line break; any path bytes give the
`urllib.parse.quote` request line; any chunking gives the bytes handed out and leaves the
response unchanged. Then one Logger shared by 8 threads, and wsgiref.simple_server round trips
where the logged size is what http.client received (plain, 1 MiB, streamed, HEAD, and the
compressed size under Gzip).
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import threading
import time
from wsgiref.validate import validator

import apachelogs
from conftest import EarlyStartStreamApp, LateStartApp, ListApp, Server, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_logger import (
    COMBINED,
    JSON_KEYS,
    file_lines,
    json_text,
    quoted,
    split_lines,
    wait_for,
    wire_bytes,
)
from test_logger import env as make_env

from wsgi_mw import Gzip, Logger

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BYTES_PARSER = apachelogs.LogParser(COMBINED, encoding="bytes")
LATIN1_TEXT = st.text(st.characters(max_codepoint=0xFF), max_size=40)
# Any Unicode a Python str can be encoded from as UTF-8 (no lone surrogates).
UNICODE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HEADER_TEXT = st.one_of(LATIN1_TEXT, UNICODE_TEXT)


def one_line(app, environ, fmt):
    buf = io.StringIO()
    response = run(validator(Logger(validator(app), format=fmt, sink=buf)), environ)
    lines = split_lines(buf.getvalue())
    assert len(lines) == 1, lines
    line = lines[0]
    assert "\n" not in line and "\r" not in line
    return response, line


# --------------------------------------------------------------------------- header text


@PROPERTY
@given(user_agent=HEADER_TEXT, referer=HEADER_TEXT)
def test_header_text_round_trips_through_combined_and_json(user_agent, referer):
    def environ():
        return make_env("/h", user_agent=user_agent, referer=referer)

    _, line = one_line(ListApp(), environ(), "combined")
    assert line.isascii() and line.isprintable(), line
    entry = BYTES_PARSER.parse(line)
    # Apache logs an absent header and a header whose value is "-" the same way.
    assert entry.headers_in["User-Agent"] == (None if user_agent == "-" else wire_bytes(user_agent))
    assert entry.headers_in["Referer"] == (None if referer == "-" else wire_bytes(referer))
    assert entry.request_line == b"GET /h HTTP/1.1"

    _, line = one_line(ListApp(), environ(), "json")
    assert line.isascii()
    obj = json.loads(line)
    assert list(obj) == JSON_KEYS
    assert obj["user_agent"] == json_text(user_agent)
    assert obj["referer"] == json_text(referer)


@PROPERTY
@given(value=UNICODE_TEXT)
def test_any_environ_value_escaped_in_apache_formats(value):
    # A response header is latin-1 without control characters (DESIGN.md rule 6).
    echo = "".join(c for c in value.encode("utf-8").decode("latin-1") if " " <= c != "\x7f")
    app = ListApp(headers=[("X-Echo", echo)])
    environ = make_env("/e", environ={"REMOTE_USER": value, "my.value": value}, x_in=value)
    fmt = '%u "%{X-In}i" "%{my.value}e" "%{X-Echo}o"'
    _, line = one_line(app, environ, fmt)
    assert line.isascii() and line.isprintable(), line
    entry = apachelogs.LogParser(fmt, encoding="bytes").parse(line)
    expected = wire_bytes(value)
    dash = None if value == "-" else expected
    assert entry.remote_user == dash
    assert entry.headers_in["X-In"] == dash
    assert entry.env_vars["my.value"] == dash
    assert entry.headers_out["X-Echo"] == (None if echo == "-" else echo.encode("latin-1"))


# --------------------------------------------------------------------------- request line


@PROPERTY
@given(
    script=st.binary(max_size=12),
    path=st.binary(max_size=30),
    query=LATIN1_TEXT,
)
def test_request_line_path_and_query(script, path, query):
    script_name = "/" + script.decode("latin-1") if script else ""
    path_info = "/" + path.decode("latin-1")

    def environ():
        return make_env(path_info, query=query, environ={"SCRIPT_NAME": script_name})

    expected_path = quoted(script_name + path_info)
    expected = f"GET {expected_path}{'?' + query if query else ''} HTTP/1.1"
    _, line = one_line(ListApp(), environ(), "combined")
    assert BYTES_PARSER.parse(line).request_line == expected.encode("latin-1")
    _, line = one_line(ListApp(), environ(), "json")
    obj = json.loads(line)
    assert obj["path"] == expected_path
    assert obj["query"] == json_text(query)


# --------------------------------------------------------------------------- chunking


@PROPERTY
@given(
    chunks=st.lists(st.binary(max_size=40), max_size=8),
    shape=st.sampled_from(["list", "stream", "late"]),
    status=st.sampled_from(["200 OK", "404 Not Found", "500 Internal Server Error"]),
    method=st.sampled_from(["GET", "POST", "HEAD"]),
    taken=st.one_of(st.none(), st.integers(min_value=0, max_value=8)),
    content_length=st.booleans(),
)
def test_bytes_are_the_items_handed_out_and_the_response_is_unchanged(
    chunks, shape, status, method, taken, content_length
):
    factory = {"list": ListApp, "stream": EarlyStartStreamApp, "late": LateStartApp}[shape]
    records = []
    options = {"status": status, "content_length": content_length}
    wsgi = validator(Logger(validator(factory(chunks, **options)), sink=records.append))
    if taken is None:  # the whole body
        bare = run(validator(factory(chunks, **options)), make_env("/c", method))
        response = run(wsgi, make_env("/c", method))
        assert (response.status, response.headers) == (bare.status, bare.headers)
        if method == "HEAD":  # DESIGN.md rule 8: a HEAD response has no body
            assert response.body == b""
        else:
            assert response.chunks == bare.chunks
        handed = response.body
    else:  # the client goes away after `taken` items
        server = Server()
        result = wsgi(make_env("/c", method), server.start_response)
        try:
            for _ in range(min(taken, len(chunks))):
                server.take(next(result))
        finally:
            result.close()
        handed = b"".join(server.chunks)
    assert len(records) == 1
    record = records[0]
    expected_status = int(status[:3])
    if shape == "late" and taken is not None and min(taken, len(chunks)) == 0:
        expected_status = None  # start_response was never called
    assert record["status"] == expected_status
    assert record["bytes"] == (0 if method == "HEAD" else len(handed))


# --------------------------------------------------------------------------- threads

THREADS = 8
REQUESTS = 200


def test_one_logger_eight_threads_one_whole_line_per_request(tmp_path):
    path = tmp_path / "access.log"

    def app(environ, start_response):
        body = environ["PATH_INFO"].encode() * 3
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body[:5], body[5:]]

    mw = Logger(app, format="json", sink=str(path))
    start = threading.Barrier(THREADS)
    failures = []

    def worker(n):
        start.wait()
        try:
            for i in range(REQUESTS):
                run(mw, make_env(f"/{n}/{i}", user_agent=f"t{n}-{i}-" + "p" * (i % 300)))
        except Exception as exc:  # noqa: BLE001 - reported below: a thread cannot fail the test
            failures.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    assert failures == []
    mw.flush()
    lines = file_lines(path)
    assert len(lines) == THREADS * REQUESTS
    seen = set()
    for line in lines:
        obj = json.loads(line)
        n, i = map(int, obj["path"].strip("/").split("/"))
        assert obj["user_agent"] == f"t{n}-{i}-" + "p" * (i % 300)
        assert obj["bytes"] == 3 * len(obj["path"])
        assert obj["status"] == 200
        seen.add((n, i))
    assert len(seen) == THREADS * REQUESTS


# --------------------------------------------------------------------------- real servers

BIG = bytes(range(256)) * 4096  # 1 MiB
STREAM = [b"s" * n for n in (1, 0, 100, 4096, 65536, 7)]
TEXT_BODY = ("<p>Hello access log, hello gzip. " * 400).encode()


def site(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))],
        )
        return [BIG]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(STREAM)
    if path == "/text":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [TEXT_BODY]
    if path == "/text-stream":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return (TEXT_BODY[i : i + 1000] for i in range(0, len(TEXT_BODY), 1000))
    body = b"small " + environ.get("QUERY_STRING", "").encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def fetch(port, method="GET", path="/", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def settle(records, n):
    # The server calls close() after the last byte went out, maybe after the client read it.
    assert wait_for(lambda: len(records) >= n, timeout=5.0), records
    return records[n - 1]


def test_real_server_logged_bytes_are_the_bytes_received(serve, tmp_path):
    records = []
    port = serve(validator(Logger(validator(site), sink=records.append)))

    ua = b'caf\xc3\xa9/1.0 "quoted"'
    status, _, body = fetch(port, "GET", "/small?x=1&y=%20", {"User-Agent": ua, "Referer": "r"})
    record = settle(records, 1)
    assert (status, body) == (200, b"small x=1&y=%20")
    assert record["bytes"] == len(body)
    assert record["status"] == 200
    assert record["remote_addr"] == "127.0.0.1"
    assert (record["method"], record["path"], record["query"]) == ("GET", "/small", "x=1&y=%20")
    assert record["protocol"] == "HTTP/1.1"
    assert record["user_agent"] == 'caf\xe9/1.0 "quoted"'
    assert record["referer"] == "r"

    status, _, body = fetch(port, "GET", "/big")
    record = settle(records, 2)
    assert body == BIG
    assert record["bytes"] == len(body) == 1024 * 1024

    status, headers, body = fetch(port, "GET", "/stream")
    record = settle(records, 3)
    assert body == b"".join(STREAM)
    assert headers.get("Content-Length") is None, "streamed: the server sent no length"
    assert record["bytes"] == len(body)

    status, headers, body = fetch(port, "HEAD", "/big")
    record = settle(records, 4)
    assert (status, body) == (200, b"")
    assert record["bytes"] == 0


def test_real_server_file_sink_parsed_by_apachelogs(serve, tmp_path):
    path = tmp_path / "access.log"
    fmt = COMBINED + " %B"
    mw = Logger(validator(site), format=fmt, sink=str(path))
    port = serve(validator(mw))
    received = []
    targets = ("/small?q=%22x%22", "/big", "/stream", "/big")
    for method, target in zip(("GET", "GET", "GET", "HEAD"), targets):
        received.append(fetch(port, method, target, {"User-Agent": 'ua "x"\\'})[2])
    assert wait_for(lambda: (mw.flush(), len(file_lines(path)))[1] == 4, timeout=5.0)
    entries = [apachelogs.parse(fmt, line) for line in file_lines(path)]
    assert [e.request_line for e in entries] == [
        "GET /small?q=%22x%22 HTTP/1.1",
        "GET /big HTTP/1.1",
        "GET /stream HTTP/1.1",
        "HEAD /big HTTP/1.1",
    ]
    assert [e.directives["%B"] for e in entries] == [len(body) for body in received]
    assert [e.directives["%b"] for e in entries] == [len(body) or None for body in received]
    assert received[1] == BIG and received[3] == b""
    assert all(e.final_status == 200 for e in entries)
    assert all(e.remote_host == "127.0.0.1" for e in entries)
    assert all(e.headers_in["User-Agent"] == 'ua "x"\\' for e in entries)
    now = time.time()
    assert all(abs(e.request_time.timestamp() - now) < 60 for e in entries)


def test_real_server_gzip_inside_logs_the_compressed_size(serve):
    buf = io.StringIO()
    fmt = '%B "%{Content-Encoding}o" %>s'
    port = serve(validator(Logger(validator(Gzip(validator(site))), format=fmt, sink=buf)))

    def entry(n):
        assert wait_for(lambda: len(split_lines(buf.getvalue())) >= n, timeout=5.0)
        return apachelogs.parse(fmt, split_lines(buf.getvalue())[n - 1])

    for n, target in enumerate(("/text", "/text-stream"), start=1):
        status, headers, raw = fetch(port, "GET", target, {"Accept-Encoding": "gzip"})
        logged = entry(n)
        assert status == 200 == logged.final_status
        assert headers["Content-Encoding"] == "gzip" == logged.headers_out["Content-Encoding"]
        assert gzip.decompress(raw) == TEXT_BODY
        assert logged.bytes_sent == len(raw) < len(TEXT_BODY)
    status, headers, plain = fetch(port, "GET", "/text")
    logged = entry(3)
    assert headers.get("Content-Encoding") is None
    assert logged.headers_out["Content-Encoding"] is None
    assert logged.bytes_sent == len(plain) == len(TEXT_BODY)
