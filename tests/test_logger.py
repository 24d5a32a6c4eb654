"""Logger, written from the spec (issue 6) as an independent oracle, never from the Rust code.

The oracles: `apachelogs` parses every common/combined/LogFormat line (it undoes Apache's
`\\xhh`, `\\"` escapes and turns `%t` into an aware datetime), `json.loads` every JSON line,
`datetime.fromisoformat` and `time.localtime` give the expected times, `urllib.parse.quote`
the request-line path, and `wsgiref.validate.validator` sits on both sides of the Logger
wherever the app is correct. Hypothesis properties, threads and real servers are in
test_logger_props.py.

Sections: formats and directives, format errors, `%t`/json time, the request line, escaping,
json, when the line is written and what it says (status, bytes, duration), the response left
unchanged, remote address and trusted proxies, sinks (logging, logging.Logger, write(),
callable, path), the file sink (buffering, background flush, rotation, reopen, fork, several
processes, interpreter exit), sink failures, constructor arguments, properties and repr.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import ipaddress
import json
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.parse
from wsgiref.validate import validator

import apachelogs
import pytest
from conftest import (
    CountingIterable,
    EarlyStartStreamApp,
    FileWrapperApp,
    LateRaiseApp,
    LateStartApp,
    ListApp,
    RaiseAfterStartApp,
    RaiseBeforeStartApp,
    RaiseMidIterationApp,
    Server,
    WriteApp,
    error_text,
    generator_app,
    make_environ,
    run,
    run_lockstep,
)

from wsgi_mw import Logger, Router

TEXT = "text/plain; charset=utf-8"
CLIENT = "192.0.2.7"
SAFE = "/!$&'()*+,;=:@~"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
COMMON = '%h %l %u %t "%r" %>s %b'
COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
JSON_KEYS = [
    "time",
    "remote_addr",
    "method",
    "path",
    "query",
    "protocol",
    "status",
    "bytes",
    "duration_us",
    "referer",
    "user_agent",
    "route",
]
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d|Z)")


# --------------------------------------------------------------------------- helpers


def env(path="/", method="GET", query="", environ=None, **headers):
    """A test environ for `method path?query` from CLIENT over HTTP/1.1. Keyword arguments
    are request headers (user_agent="x" -> HTTP_USER_AGENT); None removes one. `environ`
    holds other overrides (SCRIPT_NAME, REMOTE_ADDR, CONTENT_TYPE...)."""
    result = make_environ(
        REQUEST_METHOD=method,
        PATH_INFO=path,
        QUERY_STRING=query,
        SERVER_PROTOCOL="HTTP/1.1",
        REMOTE_ADDR=CLIENT,
    )
    result.update(environ or {})
    for name, value in headers.items():
        key = "HTTP_" + name.upper()
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def wire_bytes(value: str) -> bytes:
    """The spec's str -> bytes rule: latin-1 when every code point is <= U+00FF, else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def json_text(value: str) -> str:
    """The spec's rule for json text values: the bytes as UTF-8 when valid, else latin-1."""
    data = wire_bytes(value)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def quoted(path: str) -> str:
    """The request-line path: PEP 3333 native str -> bytes -> urllib.parse.quote."""
    return urllib.parse.quote(path.encode("latin-1"), safe=SAFE)


def split_lines(text: str) -> list:
    """The lines of what a sink received: each ends with exactly one "\\n"."""
    assert text == "" or text.endswith("\n"), f"output does not end with a newline: {text!r}"
    return text.split("\n")[:-1]


def file_lines(path) -> list:
    return split_lines(pathlib.Path(path).read_bytes().decode("ascii"))


def parse(line, fmt=COMBINED, encoding="iso-8859-1"):
    return apachelogs.LogParser(fmt, encoding=encoding).parse(line)


def both(app, **options):
    """(the Logger, validator(Logger(validator(app)))): the validator on both sides."""
    mw = Logger(validator(app), **options)
    return mw, validator(mw)


def log_lines(app, *environs, format="combined", validate=True, **options):
    """Serve each environ through one Logger with a write() sink; (responses, lines)."""
    buf = io.StringIO()
    if validate:
        _, wsgi = both(app, format=format, sink=buf, **options)
    else:
        wsgi = Logger(app, format=format, sink=buf, **options)
    responses = [run(wsgi, environ) for environ in (environs or [env()])]
    lines = split_lines(buf.getvalue())
    assert len(lines) == len(responses), lines
    return responses, lines


def log_one(app, environ=None, *, format="combined", **options):
    responses, lines = log_lines(app, environ or env(), format=format, **options)
    return responses[0], lines[0]


def render(fmt, app=None, environ=None, **options) -> str:
    """The single line `fmt` gives for one request."""
    return log_one(app or ListApp(), environ or env(), format=fmt, **options)[1]


def record_one(app, environ=None, *, validate=True, **options):
    """(response, the dict the callable sink got) for one request."""
    records = []
    if validate:
        _, wsgi = both(app, sink=records.append, **options)
    else:
        wsgi = Logger(app, sink=records.append, **options)
    response = run(wsgi, environ or env())
    assert len(records) == 1, records
    return response, records[0]


def step(wsgi, environ):
    server = Server()
    return server, wsgi(environ, server.start_response)


def drive(wsgi, environ) -> Server:
    """Iterate and close like a server, without conftest's environ-based checks (for environs
    that lack keys the checks read)."""
    server, result = step(wsgi, environ)
    try:
        for chunk in result:
            server.take(chunk)
    finally:
        if hasattr(result, "close"):  # PEP 3333: close() only when the iterable has one
            result.close()
    return server


def wait_for(predicate, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(0.02)
    return True


def apache_stamp(second: int) -> str:
    """`[22/Nov/2026:10:15:30 +0100]` for a Unix second, in the process's local time."""
    tm = time.localtime(second)
    sign = "-" if tm.tm_gmtoff < 0 else "+"
    hours, minutes = divmod(abs(tm.tm_gmtoff) // 60, 60)
    return (
        f"[{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {sign}{hours:02d}{minutes:02d}]"
    )


def one_error_line(environ) -> str:
    text = error_text(environ)
    assert text.endswith("\n") and text.count("\n") == 1, f"not one line: {text!r}"
    assert "wsgi_mw.Logger" in text, text
    return text


class RouteApp:
    """Sets environ["wsgi_mw.route"] (and other keys) while the body is iterated, i.e. after
    the call returned: the Logger must read them when the response ends."""

    def __init__(self, route="/users/{id}", extra=None):
        self.route = route
        self.extra = extra or {}

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        yield b"user "
        if self.route is not None:
            environ["wsgi_mw.route"] = self.route
        environ.update(self.extra)
        yield b"42"


@pytest.fixture
def access_log():
    """The "wsgi_mw.access" logger at DEBUG with a recording handler; restored afterwards."""
    logger = logging.getLogger("wsgi_mw.access")
    saved = (logger.level, logger.propagate, list(logger.handlers), list(logger.filters))
    records = []
    handler = Recording(records)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.filters[:] = saved[3]


class Recording(logging.Handler):
    def __init__(self, records):
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def zone(request):
    """TZ set to request.param for both Python and the C library; restored afterwards."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


ZONES = ["Europe/Paris", "America/Los_Angeles", "Asia/Kolkata", "<-0330>3:30", "UTC"]


# --------------------------------------------------------------------------- named formats


def test_common_line_parsed_by_apachelogs():
    app = ListApp([b"Hello", b" world"], status="201 Created")
    _, line = log_one(app, env("/p", "POST", "a=1"), format="common")
    entry = parse(line, COMMON)
    assert entry.remote_host == CLIENT
    assert entry.remote_logname is None
    assert entry.remote_user is None
    assert entry.request_line == "POST /p?a=1 HTTP/1.1"
    assert entry.final_status == 201
    assert entry.bytes_sent == 11
    with pytest.raises(apachelogs.InvalidEntryError):
        parse(line, COMBINED)


def test_combined_line_parsed_by_apachelogs():
    environ = env("/c", referer="http://example.com/from", user_agent="Mozilla/5.0 (X11)")
    _, line = log_one(ListApp([b"Hi"]), environ)
    entry = parse(line)
    assert entry.remote_host == CLIENT
    assert entry.request_line == "GET /c HTTP/1.1"
    assert entry.final_status == 200
    assert entry.bytes_sent == 2
    assert entry.headers_in["Referer"] == "http://example.com/from"
    assert entry.headers_in["User-Agent"] == "Mozilla/5.0 (X11)"


def test_combined_without_referer_and_user_agent_prints_dashes():
    _, line = log_one(ListApp(), env("/c"))
    assert line.endswith(' "-" "-"'), line
    entry = parse(line)
    assert entry.headers_in["Referer"] is None
    assert entry.headers_in["User-Agent"] is None


def test_default_format_is_combined():
    buf = io.StringIO()
    mw = Logger(validator(ListApp()), sink=buf)
    run(validator(mw), env("/d", user_agent="UA"))
    (line,) = split_lines(buf.getvalue())
    assert parse(line).headers_in["User-Agent"] == "UA"


@pytest.mark.parametrize("name, logformat", [("common", COMMON), ("combined", COMBINED)])
def test_names_are_the_documented_logformats(name, logformat):
    environ = {"environ": {"REMOTE_USER": "bob"}, "referer": "r", "user_agent": "u"}

    def without_time(line):
        return re.sub(r"\[[^\]]*\]", "[T]", line, count=1)

    for _ in range(3):  # the two requests may straddle a second boundary
        _, by_name = log_one(ListApp([b"abc"]), env("/n", "PUT", "q=1", **environ), format=name)
        _, by_string = log_one(
            ListApp([b"abc"]), env("/n", "PUT", "q=1", **environ), format=logformat
        )
        if by_name == by_string:
            break
    assert without_time(by_name) == without_time(by_string)
    assert parse(by_name, logformat).remote_user == "bob"


# --------------------------------------------------------------------------- directives

DIRECTIVE_APP = {
    "chunks": [b"Hello", b"", b" world"],
    "status": "404 Not Found",
    "headers": [("X-Multi", "a=1"), ("x-multi", "b=2"), ("X-One", "v")],
}
FULL = {
    "REQUEST_METHOD": "POST",
    "SCRIPT_NAME": "/app",
    "PATH_INFO": "/p q",
    "QUERY_STRING": "a=1&b",
}


@pytest.mark.parametrize(
    "fmt, environ, expected",
    [
        ("%h", {}, CLIENT),
        ("%a", {}, CLIENT),
        ("%l", {}, "-"),
        ("%u", {}, "-"),
        ("%u", {"REMOTE_USER": ""}, '""'),
        ("%u", {"REMOTE_USER": "bob"}, "bob"),
        ("%r", FULL, "POST /app/p%20q?a=1&b HTTP/1.1"),
        ("%r", {"QUERY_STRING": ""}, "GET / HTTP/1.1"),
        ("%s", {}, "404"),
        ("%>s", {}, "404"),
        ("%<s", {}, "404"),
        ("%b", {}, "11"),
        ("%B", {}, "11"),
        ("%m", FULL, "POST"),
        ("%U", FULL, "/app/p q"),
        ("%q", FULL, "?a=1&b"),
        ("%q", {}, ""),
        ("[%q]", {"QUERY_STRING": ""}, "[]"),
        ("%H", {"SERVER_PROTOCOL": "HTTP/1.0"}, "HTTP/1.0"),
        ("%{user-agent}i", {"HTTP_USER_AGENT": "UA/1"}, "UA/1"),
        ("%{USER-AGENT}i", {"HTTP_USER_AGENT": "UA/1"}, "UA/1"),
        ("%{X-Forwarded-Proto}i", {"HTTP_X_FORWARDED_PROTO": "https"}, "https"),
        ("%{Content-Type}i", {"CONTENT_TYPE": "text/x"}, "text/x"),
        ("%{content-length}i", {"CONTENT_LENGTH": "12"}, "12"),
        ("%{X-Absent}i", {}, "-"),
        ("<%{X-Empty}i>", {"HTTP_X_EMPTY": ""}, "<>"),
        ("%{X-Multi}o", {}, "a=1, b=2"),
        ("%{x-one}o", {}, "v"),
        ("%{CONTENT-type}o", {}, "text/html; charset=utf-8"),
        ("%{X-Absent}o", {}, "-"),
        ("%{myapp.count}e", {"myapp.count": 42}, "42"),
        ("%{myapp.tuple}e", {"myapp.tuple": ("a", 1)}, "('a', 1)"),
        ("%{myapp.none}e", {"myapp.none": None}, "None"),
        ("%{myapp.text}e", {"myapp.text": "plain"}, "plain"),
        ("%{SERVER_NAME}e", {}, "127.0.0.1"),
        ("%{server_name}e", {}, "-"),
        ("%{myapp.absent}e", {}, "-"),
        ("%%", {}, "%"),
        ("100%% %m", {}, "100% GET"),
        ('method=%m status=%>s "%U"', {}, 'method=GET status=404 "/"'),
        ("\u2192%m\u2190 caf\xe9", {}, "\u2192GET\u2190 caf\xe9"),
    ],
)
def test_directive(fmt, environ, expected):
    assert render(fmt, ListApp(**DIRECTIVE_APP), env(environ=environ)) == expected


@pytest.mark.parametrize("status, b, big_b", [("200 OK", "-", "0"), ("404 Not Found", "-", "0")])
def test_b_dash_and_big_b_zero_for_empty_body(status, b, big_b):
    for chunks in ([], [b""], [b"", b""]):
        line = render("%b|%B|%>s", ListApp(chunks, status=status))
        assert line == f"{b}|{big_b}|{status[:3]}"


def test_b_and_big_b_count_every_chunk():
    line = render("%b %B", EarlyStartStreamApp([b"a", b"", b"bcd", b"e" * 1000]))
    assert line == "1004 1004"


def test_u_is_read_when_the_response_ends():
    line = render("%u", RouteApp(route=None, extra={"REMOTE_USER": "alice"}))
    assert line == "alice"
    assert parse(line, "%u").remote_user == "alice"


def test_u_empty_is_two_quote_chars_as_apachelogs_expects():
    line = render(COMMON, environ=env(environ={"REMOTE_USER": ""}))
    assert parse(line, COMMON).remote_user == ""


def test_e_is_read_when_the_response_ends_and_non_str_is_str():
    app = RouteApp(route="/r/{x}", extra={"myapp.user_id": 7, "myapp.flag": True})
    line = render("%{wsgi_mw.route}e %{myapp.user_id}e %{myapp.flag}e", app)
    assert line == "/r/{x} 7 True"


def test_missing_environ_values_print_dashes_except_q_and_u():
    # No validator: wsgiref.validate insists on REQUEST_METHOD and friends.
    environ = {
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    buf = io.StringIO()
    fmt = "[%h][%a][%l][%u][%m][%H][%U][%q][%{X-A}i][%{X-B}o][%{x.y}e][%>s]"
    drive(Logger(ListApp(), format=fmt, sink=buf), environ)
    assert split_lines(buf.getvalue()) == ["[-][-][-][-][-][-][][][-][-][-][200]"]


def test_d_and_t_durations_and_t_is_the_request_start():
    """%D microseconds and %T whole seconds from the call to close(); %t the call's start."""
    buf = io.StringIO()
    wsgi = validator(Logger(validator(EarlyStartStreamApp([b"x"])), format="%t %D %T", sink=buf))
    before = time.time()
    server, result = step(wsgi, env())
    after_call = time.time()
    for chunk in result:
        server.take(chunk)
    time.sleep(1.05)
    result.close()
    (line,) = split_lines(buf.getvalue())
    stamp, d, t = line.rsplit(" ", 2)
    assert int(d) >= 1_050_000, line
    assert int(t) == int(d) // 1_000_000 >= 1, line
    assert stamp in {apache_stamp(s) for s in range(int(before), int(after_call) + 1)}, line
    entry = parse(line, "%t %D %T")
    assert entry.request_duration_microseconds == int(d)
    assert entry.request_duration_seconds == int(t)


def test_d_counts_until_close_not_until_the_last_item():
    buf = io.StringIO()
    wsgi = validator(Logger(validator(ListApp([b"x"])), format="%D %T", sink=buf))
    server, result = step(wsgi, env())
    for chunk in result:
        server.take(chunk)
    time.sleep(0.12)
    result.close()
    (line,) = split_lines(buf.getvalue())
    d, t = map(int, line.split())
    assert d >= 120_000
    assert t == d // 1_000_000


# --------------------------------------------------------------------------- format errors


@pytest.mark.parametrize(
    "fmt, named",
    [
        ("%Z", "%Z"),
        ('%h %Z "%r"', "%Z"),
        ("%A", "%A"),
        ("%{Foo}z", "%{Foo}z"),
        ("%{%Y-%m-%d}t", "%{%Y-%m-%d}t"),
        ("%h %", None),
        ("%", None),
        ("%h %{Foo", None),
        ("%{Foo}", None),
    ],
)
def test_unknown_directive_raises_value_error_naming_it(fmt, named):
    with pytest.raises(ValueError) as info:
        Logger(ListApp(), format=fmt, sink=[].append)
    message = str(info.value)
    assert "format" in message, message
    if named is not None:
        assert named in message, message


@pytest.mark.parametrize("fmt", ["combinded", "comon", "jsonl", "apache", "", "plain text"])
def test_format_without_any_directive_is_a_typo(fmt):
    with pytest.raises(ValueError) as info:
        Logger(ListApp(), format=fmt, sink=[].append)
    assert "format" in str(info.value)


@pytest.mark.parametrize("fmt", [None, b"combined", 1, ["%h"], ("json",)])
def test_non_str_format_is_type_error(fmt):
    with pytest.raises(TypeError) as info:
        Logger(ListApp(), format=fmt, sink=[].append)
    assert "format" in str(info.value)


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize("zone", ZONES, indirect=True)
def test_t_is_local_time_with_numeric_offset_and_english_month(zone):
    buf = io.StringIO()
    wsgi = validator(Logger(validator(ListApp()), format="%t", sink=buf))
    before = time.time()
    server, result = step(wsgi, env())
    after_call = time.time()
    for chunk in result:
        server.take(chunk)
    result.close()
    (line,) = split_lines(buf.getvalue())
    assert line in {apache_stamp(s) for s in range(int(before), int(after_call) + 1)}, line
    assert re.fullmatch(r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]", line), line
    when = parse(line, "%t").request_time
    local_offset = time.localtime(when.timestamp()).tm_gmtoff
    assert when.utcoffset() == datetime.timedelta(seconds=local_offset)
    assert int(before) <= when.timestamp() <= after_call


@pytest.mark.parametrize("zone", ZONES, indirect=True)
def test_json_time_is_local_iso_with_milliseconds_and_offset(zone):
    buf = io.StringIO()
    wsgi = validator(Logger(validator(ListApp()), format="json", sink=buf))
    before = time.time()
    server, result = step(wsgi, env())
    after_call = time.time()
    for chunk in result:
        server.take(chunk)
    time.sleep(0.05)  # the time is the call's start, not the end
    result.close()
    (line,) = split_lines(buf.getvalue())
    stamp = json.loads(line)["time"]
    assert ISO_MS.fullmatch(stamp), stamp
    when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    local_offset = time.localtime(when.timestamp()).tm_gmtoff
    assert when.utcoffset() == datetime.timedelta(seconds=local_offset)
    assert before - 0.0015 <= when.timestamp() <= after_call + 0.0015, (before, stamp, after_call)


def test_callable_time_and_apache_time_agree_on_the_request_start():
    records = []
    buf = io.StringIO()
    inner = Logger(validator(ListApp()), format="%t", sink=buf)
    wsgi = validator(Logger(validator(inner), sink=records.append))
    run(wsgi, env())
    (line,) = split_lines(buf.getvalue())
    outer = datetime.datetime.fromisoformat(records[0]["time"].replace("Z", "+00:00"))
    inner_time = parse(line, "%t").request_time
    # The outer Logger's call starts first; both stamps are in the same or adjacent seconds.
    assert 0 <= inner_time.timestamp() - int(outer.timestamp()) <= 1


# --------------------------------------------------------------------------- request line

PATHS = [
    ("", "/"),
    ("", "/a b"),
    ("", "/100%"),
    ("", "/%41%2F"),
    ("", "/caf\xc3\xa9"),
    ("", "/\xe9\xff"),
    ("/app", "/x"),
    ("/app", ""),
    ("/m n", "/o"),
    ("", "/" + SAFE + "-._~"),
    ("", "/a?b#c"),
    ("", '/q"\\<>^`{|}'),
    ("", "/\x00\x01\n\r\t\x7f"),
    ("", "//double//slash/"),
]


@pytest.mark.parametrize("script, path", PATHS)
def test_request_line_path_is_percent_encoded_like_urllib_quote(script, path):
    environ = env(path, environ={"SCRIPT_NAME": script})
    _, line = log_one(ListApp(), environ)
    expected = f"GET {quoted(script + path)} HTTP/1.1"
    assert parse(line).request_line == expected
    assert parse(line, encoding="bytes").request_line == expected.encode("ascii")
    _, record = record_one(ListApp(), env(path, environ={"SCRIPT_NAME": script}))
    assert record["path"] == quoted(script + path)


def test_percent_itself_becomes_25():
    assert render("%r", environ=env("/100%/x%2F")) == "GET /100%25/x%252F HTTP/1.1"


@pytest.mark.parametrize(
    "query",
    ["a=1&b=%20", "x=%zz%", "caf\xc3\xa9=\xe9", "q=a+b&q=/?:@", "s=a b", 'dq="quoted"'],
)
def test_query_appended_raw_not_requoted(query):
    _, line = log_one(ListApp(), env("/p", query=query))
    assert parse(line).request_line == f"GET /p?{query} HTTP/1.1"
    _, record = record_one(ListApp(), env("/p", query=query))
    assert record["query"] == json_text(query)
    assert record["path"] == "/p"


def test_empty_query_adds_no_question_mark():
    _, line = log_one(ListApp(), env("/p", query=""))
    assert parse(line).request_line == "GET /p HTTP/1.1"
    _, record = record_one(ListApp(), env("/p", query=""))
    assert record["query"] == ""


def test_request_line_read_when_the_call_starts():
    def changing(environ, start_response):
        environ["REQUEST_METHOD"] = "DELETE"
        environ["PATH_INFO"] = "/changed"
        environ["SCRIPT_NAME"] = "/moved"
        environ["SERVER_PROTOCOL"] = "HTTP/1.0"
        start_response("200 OK", [("Content-Type", TEXT)])
        return [b"ok"]

    _, line = log_one(changing, env("/orig", "POST"))
    assert parse(line).request_line == "POST /orig HTTP/1.1"
    _, record = record_one(changing, env("/orig", "POST"))
    assert (record["method"], record["path"], record["protocol"]) == ("POST", "/orig", "HTTP/1.1")


def test_u_directive_is_the_raw_path_escaped_not_quoted():
    environ = env("/caf\xc3\xa9 x%41", environ={"SCRIPT_NAME": "/s"})
    line = render("%U", environ=environ)
    assert line == "/s/caf\\xc3\\xa9 x%41"
    assert parse(line, "%U").request_uri == "/s/caf\xc3\xa9 x%41"


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "value, escaped",
    [
        ("plain ~!", "plain ~!"),
        ('"', '\\"'),
        ("\\", "\\\\"),
        ("\b", "\\b"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x0b", "\\v"),
        ("\x0c", "\\x0c"),
        ("\x00", "\\x00"),
        ("\x1f", "\\x1f"),
        ("\x7f", "\\x7f"),
        ("\x80", "\\x80"),
        ("\xe9", "\\xe9"),
        ("\xff", "\\xff"),
        ("caf\xc3\xa9", "caf\\xc3\\xa9"),
        ("\u2603", "\\xe2\\x98\\x83"),
        ("\xe9\u2603", "\\xc3\\xa9\\xe2\\x98\\x83"),
        ("\U0001f600", "\\xf0\\x9f\\x98\\x80"),
        ('a"b\\c\nd', 'a\\"b\\\\c\\nd'),
    ],
)
def test_escaping_like_ap_escape_logitem(value, escaped):
    line = render("<%{X-Test}i>", environ=env(x_test=value))
    assert line == f"<{escaped}>"
    assert parse(line, "<%{X-Test}i>", encoding="bytes").headers_in["X-Test"] == wire_bytes(value)


HOSTILE = [
    'quote " and \\ backslash',
    "line\nbreak and\rreturn and\ttab",
    "nul\x00 bell\x07 esc\x1b del\x7f vt\x0b bs\x08",
    "caf\xc3\xa9 (UTF-8 bytes as PEP 3333 latin-1)",
    "caf\xe9 latin-1",
    "snow \u2603 and \U0001f600 given as text",
    '"',
    "\\",
    '\\"',
    "",
    " ",
    (
        'x" 200 0 "-" "-"\n203.0.113.9 - - [01/Jan/2026:00:00:00 +0000] '
        '"GET /admin HTTP/1.1" 200 1 "-" "forged'
    ),
]


def test_hostile_user_agent_and_referer_round_trip_through_apachelogs(tmp_path):
    path = tmp_path / "access.log"
    mw = Logger(validator(ListApp([b"ok"])), format="combined", sink=str(path))
    wsgi = validator(mw)
    for i, value in enumerate(HOSTILE):
        referer = HOSTILE[-1 - i]
        run(wsgi, env(f"/h{i}", user_agent=value, referer=referer))
    mw.flush()
    lines = file_lines(path)
    assert len(lines) == len(HOSTILE), lines
    for i, line in enumerate(lines):
        assert line.isascii() and line.isprintable(), line
        entry = parse(line, COMBINED, encoding="bytes")
        assert entry.remote_host == CLIENT.encode()
        assert entry.request_line == f"GET /h{i} HTTP/1.1".encode()
        assert entry.final_status == 200
        assert entry.headers_in["User-Agent"] == wire_bytes(HOSTILE[i])
        assert entry.headers_in["Referer"] == wire_bytes(HOSTILE[-1 - i])


def test_forged_line_stays_inside_its_field():
    forged = HOSTILE[-1]
    _, line = log_one(ListApp(), env("/real", user_agent=forged))
    entry = parse(line)
    assert entry.request_line == "GET /real HTTP/1.1"
    assert entry.headers_in["User-Agent"] == forged
    assert "\n" not in line and "\r" not in line


@pytest.mark.parametrize(
    "fmt, environ, headers, expected",
    [
        ("%u", {"REMOTE_USER": 'a b"\\'}, [], 'a b\\"\\\\'),
        ("%H", {"SERVER_PROTOCOL": "HTTP/1.1\r\nX: y"}, [], "HTTP/1.1\\r\\nX: y"),
        ("%U", {"PATH_INFO": '/a"\\\xe9'}, [], '/a\\"\\\\\\xe9'),
        ("%q", {"QUERY_STRING": 'a="b"&c=\xe9'}, [], '?a=\\"b\\"&c=\\xe9'),
        ("%r", {"QUERY_STRING": 'a="b"\n'}, [], 'GET /?a=\\"b\\"\\n HTTP/1.1'),
        ("%{X-Out}o", {}, [("X-Out", 'v"\xe9\\')], 'v\\"\\xe9\\\\'),
        ("%{my.key}e", {"my.key": "\u2603\n"}, [], "\\xe2\\x98\\x83\\n"),
        ("%m", {"REQUEST_METHOD": 'G"T\n'}, [], 'G\\"T\\n'),
    ],
)
def test_every_value_is_escaped(fmt, environ, headers, expected):
    # No validator: it rejects the odd methods and protocols used here.
    buf = io.StringIO()
    drive(Logger(ListApp(headers=headers), format=fmt, sink=buf), env(environ=environ))
    assert split_lines(buf.getvalue()) == [expected]


def test_h_from_forwarded_entry_is_escaped():
    environ = env(environ={"REMOTE_ADDR": "10.0.0.1"}, x_forwarded_for='ev"il\nx, 10.0.0.2')
    line = render("%h", environ=environ, trusted_proxies=["10.0.0.0/8"])
    assert line == 'ev\\"il\\nx'


# --------------------------------------------------------------------------- json


def json_one(app, environ=None, **options):
    _, line = log_one(app, environ or env(), format="json", **options)
    assert line.isascii(), line
    assert "\n" not in line and "\r" not in line
    return json.loads(line), line


def test_json_keys_order_types_and_values():
    app = ListApp([b"Hello", b" world"], status="404 Not Found")
    obj, _ = json_one(app, env("/p q", "POST", "a=1", referer="http://r/", user_agent="UA/2"))
    assert list(obj) == JSON_KEYS
    assert obj["remote_addr"] == CLIENT
    assert obj["method"] == "POST"
    assert obj["path"] == "/p%20q"
    assert obj["query"] == "a=1"
    assert obj["protocol"] == "HTTP/1.1"
    assert obj["status"] == 404 and type(obj["status"]) is int
    assert obj["bytes"] == 11 and type(obj["bytes"]) is int
    assert type(obj["duration_us"]) is int and obj["duration_us"] >= 0
    assert obj["referer"] == "http://r/"
    assert obj["user_agent"] == "UA/2"
    assert obj["route"] is None
    assert type(obj["time"]) is str and ISO_MS.fullmatch(obj["time"])


def test_json_nulls_for_absent_values():
    obj, _ = json_one(ListApp(), env("/"))
    assert obj["referer"] is None and obj["user_agent"] is None and obj["route"] is None
    assert "request_id" not in obj


def test_json_nulls_for_missing_environ_keys():
    # No validator: it insists on REQUEST_METHOD and SERVER_PROTOCOL.
    environ = {
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "",
    }
    buf = io.StringIO()
    drive(Logger(ListApp([b"abc"]), format="json", sink=buf), environ)
    (line,) = split_lines(buf.getvalue())
    obj = json.loads(line)
    assert list(obj) == JSON_KEYS
    assert obj["remote_addr"] is None
    assert obj["method"] is None
    assert obj["protocol"] is None
    assert obj["path"] == ""
    assert obj["query"] == ""
    assert obj["status"] == 200
    assert obj["bytes"] == 3


def test_json_ascii_only_with_unicode_escapes():
    obj, line = json_one(ListApp(), env(user_agent='caf\xe9 \u2603 "q" \\ \n\x00'))
    assert obj["user_agent"] == 'caf\xe9 \u2603 "q" \\ \n\x00'
    assert "\\u00e9" in line.lower() and "\\u2603" in line.lower()


@pytest.mark.parametrize(
    "sent, expected",
    [
        ("caf\xc3\xa9", "caf\xe9"),  # UTF-8 bytes (what a client sends) -> decoded
        ("caf\xe9", "caf\xe9"),  # not valid UTF-8 -> latin-1
        ("\xc3", "\xc3"),  # truncated UTF-8 -> latin-1
        ("\u2603 direct", "\u2603 direct"),  # not latin-1: taken as UTF-8
        ("", ""),
        ("-", "-"),
    ],
)
def test_json_text_values_utf8_else_latin1(sent, expected):
    environ = env("/t", query=sent, referer=sent, user_agent=sent)
    obj, _ = json_one(ListApp(), environ)
    assert obj["user_agent"] == expected
    assert obj["referer"] == expected
    assert obj["query"] == expected


@pytest.mark.parametrize(
    "request_header, response_header, expected",
    [
        (None, None, None),
        ("req-1", None, "req-1"),
        (None, "resp-2", "resp-2"),
        ("req-1", "resp-2", "req-1"),
        ("", None, ""),
    ],
)
def test_json_request_id_only_when_a_header_has_one(request_header, response_header, expected):
    headers = [] if response_header is None else [("X-Request-ID", response_header)]
    obj, _ = json_one(ListApp(headers=headers), env(x_request_id=request_header))
    if expected is None:
        assert list(obj) == JSON_KEYS
    else:
        assert list(obj) == [*JSON_KEYS, "request_id"]
        assert obj["request_id"] == expected


def test_json_route_read_when_the_response_ends():
    obj, _ = json_one(RouteApp("/users/{id}"))
    assert obj["route"] == "/users/{id}"
    _, record = record_one(RouteApp("/users/{id}"))
    assert record["route"] == "/users/{id}"


def test_json_route_from_a_real_router():
    def user(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        return [b"user"]

    router = Router()
    router.add("GET", "/users/{id:int}", user)
    records = []
    wsgi = validator(Logger(validator(router), sink=records.append))
    run(wsgi, env("/users/42"))
    run(wsgi, env("/nope"))
    run(wsgi, env("/users/42", "POST"))
    assert [(r["route"], r["status"], r["path"]) for r in records] == [
        ("/users/{id:int}", 200, "/users/42"),
        (None, 404, "/nope"),
        (None, 405, "/users/42"),
    ]
    line = render("%{wsgi_mw.route}e %>s", router, env("/users/7"))
    assert line == "/users/{id:int} 200"


@pytest.mark.parametrize("fmt", ["json", "combined", "common", "%h"])
def test_callable_sink_gets_the_json_fields_regardless_of_format(fmt):
    app_args = {"chunks": [b"abc"], "headers": [("X-Request-ID", "r9")]}
    environ = {"path": "/c%", "query": "k=v", "referer": "ref", "user_agent": "caf\xc3\xa9"}
    _, record = record_one(ListApp(**app_args), env(**environ), format=fmt)
    assert type(record) is dict
    assert list(record) == [*JSON_KEYS, "request_id"]
    assert record["remote_addr"] == CLIENT
    assert record["method"] == "GET"
    assert record["path"] == "/c%25"
    assert record["query"] == "k=v"
    assert record["protocol"] == "HTTP/1.1"
    assert record["status"] == 200 and type(record["status"]) is int
    assert record["bytes"] == 3 and type(record["bytes"]) is int
    assert type(record["duration_us"]) is int and record["duration_us"] >= 0
    assert record["referer"] == "ref"
    assert record["user_agent"] == "caf\xe9"
    assert record["route"] is None
    assert record["request_id"] == "r9"
    assert type(record["time"]) is str and ISO_MS.fullmatch(record["time"])
    # The json line of the same request holds the same values.
    obj, _ = json_one(ListApp(**app_args), env(**environ))
    assert list(obj) == list(record)
    for key in obj:
        if key not in ("time", "duration_us"):
            assert obj[key] == record[key], key


def test_callable_sink_none_values():
    _, record = record_one(LateStartApp([b"x"]), env(), validate=True)
    assert record["referer"] is None and record["user_agent"] is None
    assert record["route"] is None and "request_id" not in record


# --------------------------------------------------------------------------- when and what

SHAPES = {
    "list": lambda chunks: ListApp(chunks),
    "late": lambda chunks: LateStartApp(chunks),
    "stream": lambda chunks: EarlyStartStreamApp(chunks),
    "write": lambda chunks: WriteApp(written=chunks[:1], chunks=chunks[1:]),
    "generator": lambda chunks: generator_app(chunks),
    "file_wrapper": lambda chunks: FileWrapperApp(chunks, blksize=3),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_one_line_written_at_close_not_before(shape):
    records = []
    wsgi = validator(Logger(validator(SHAPES[shape]([b"ab", b"cd"])), sink=records.append))
    server, result = step(wsgi, env())
    assert records == [], "logged before the body was sent"
    server.take(next(result))
    assert records == [], "logged after the first item"
    for chunk in result:
        server.take(chunk)
    assert records == [], "logged when the iterable ended, before close()"
    result.close()
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (200, 4)


def test_close_twice_logs_once_and_closes_the_inner_iterable_once():
    records = []
    app = EarlyStartStreamApp([b"a", b"b"])
    server, result = step(Logger(validator(app), sink=records.append), env())
    for chunk in result:
        server.take(chunk)
    result.close()
    result.close()
    assert len(records) == 1
    assert app.body.closed == 1


@pytest.mark.parametrize(
    "app", [RaiseBeforeStartApp(), RaiseAfterStartApp()], ids=["before", "after"]
)
def test_app_raising_in_the_call_logs_500_and_the_exception_propagates(app):
    records = []
    buf = io.StringIO()
    inner = Logger(validator(app), format="%>s %b %B", sink=buf)
    wsgi = validator(Logger(inner, sink=records.append))
    with pytest.raises(RuntimeError, match="boom"):
        wsgi(env(), Server().start_response)
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (500, 0)
    assert split_lines(buf.getvalue()) == ["500 - 0"]


@pytest.mark.parametrize("after_start", [False, True])
def test_first_next_raising_logs_500_at_once_and_closes_once(after_start):
    app = LateRaiseApp(after_start=after_start)
    records = []
    wsgi = validator(Logger(validator(app), sink=records.append))
    _, result = step(wsgi, env())
    assert records == []
    with pytest.raises(RuntimeError, match="boom in first next"):
        next(result)
    assert len(records) == 1, "the line is written when iteration raised"
    assert (records[0]["status"], records[0]["bytes"]) == (500, 0)
    result.close()
    assert len(records) == 1
    assert app.body.closed == 1


def test_raise_mid_stream_logs_the_status_sent_and_the_bytes_so_far():
    app = RaiseMidIterationApp([b"Hello ", b"world"], status="201 Created")
    records = []
    buf = io.StringIO()
    inner = Logger(validator(app), format="%>s %b", sink=buf)
    wsgi = validator(Logger(inner, sink=records.append))
    server, result = step(wsgi, env())
    server.take(next(result))
    with pytest.raises(RuntimeError, match="boom mid-iteration"):
        next(result)
    result.close()
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (201, 6)
    assert split_lines(buf.getvalue()) == ["201 6"]
    assert app.body.closed == 1


def test_app_returning_none_logs_one_500_line_and_raises():
    def none_app(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        nothing = None
        return nothing

    records = []
    mw = Logger(none_app, sink=records.append)
    server = Server()
    with pytest.raises(Exception):  # noqa: B017 - which exception is the plumbing's choice
        result = mw(env(), server.start_response)
        try:
            for chunk in result:
                server.take(chunk)
        finally:
            result.close()
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (500, 0)


def test_generator_app_calling_start_response_late():
    response, record = record_one(generator_app([b"g1", b"", b"g22"], status="202 Accepted"))
    assert response.body == b"g1g22"
    assert (record["status"], record["bytes"]) == (202, 5)


def test_write_callable_bytes_are_counted():
    app = WriteApp(written=[b"Hel", b"lo"], chunks=[b" wor", b"ld"])
    bare = run(validator(WriteApp(written=[b"Hel", b"lo"], chunks=[b" wor", b"ld"])), env())
    response, record = record_one(app)
    assert response.body == bare.body == b"Hello world"
    assert [c for c in response.chunks if c] == [c for c in bare.chunks if c]
    assert (response.status, response.headers) == (bare.status, bare.headers)
    assert record["bytes"] == 11
    assert app.body.closed == 1


def test_write_only_app_bytes_are_counted():
    def write_only(environ, start_response):
        write = start_response("200 OK", [("Content-Type", TEXT)])
        write(b"abc")
        write(b"de")
        return []

    response, record = record_one(write_only)
    assert response.body == b"abcde"
    assert (record["status"], record["bytes"]) == (200, 5)


def test_exc_info_replacement_before_output_logs_the_replacement():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT), ("X-Phase", "first")])
        try:
            raise ValueError("page failed")
        except ValueError:
            start_response(
                "503 Service Unavailable",
                [("Content-Type", TEXT), ("X-Phase", "error")],
                sys.exc_info(),
            )
        return [b"sorry"]

    bare = run(validator(app), env())
    response, line = log_one(app, env(), format="%>s %b %{X-Phase}o")
    assert response == bare
    assert line == "503 5 error"
    _, record = record_one(app)
    assert (record["status"], record["bytes"]) == (503, 5)


def test_exc_info_after_output_reraises_and_logs_the_status_sent():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        yield b"part"
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", TEXT)], sys.exc_info())
        yield b"never"

    records = []
    wsgi = validator(Logger(validator(app), sink=records.append))
    server, result = step(wsgi, env())
    server.take(next(result))
    with pytest.raises(ValueError, match="late failure"):
        next(result)
    result.close()
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (200, 4)


@pytest.mark.parametrize("taken", [0, 1, 2])
def test_client_disconnect_logs_the_bytes_handed_out_so_far(taken):
    chunks = [b"one", b"three", b"fiftyfive"]
    app = EarlyStartStreamApp(chunks)
    records = []
    wsgi = validator(Logger(validator(app), sink=records.append))
    server, result = step(wsgi, env())
    for _ in range(taken):
        server.take(next(result))
    result.close()
    assert len(records) == 1
    assert records[0]["status"] == 200
    assert records[0]["bytes"] == sum(map(len, chunks[:taken]))
    assert app.body.closed == 1


def test_bytes_are_counted_not_taken_from_content_length():
    # The app declares the whole length; the client leaves after the first item, or the app
    # fails after it: the log says what went out.
    chunks = [b"first", b"second"]
    for app in (
        EarlyStartStreamApp(chunks, content_length=True),
        RaiseMidIterationApp(chunks, content_length=True),
    ):
        records = []
        wsgi = validator(Logger(validator(app), sink=records.append))
        server, result = step(wsgi, env())
        server.take(next(result))
        if isinstance(app, RaiseMidIterationApp):
            with pytest.raises(RuntimeError):
                next(result)
        result.close()
        assert ("Content-Length", "11") in server.headers
        assert records[0]["bytes"] == 5, type(app).__name__


def test_close_before_start_response_logs_no_status():
    app = LateStartApp([b"x"])
    records = []
    buf = io.StringIO()
    inner = Logger(validator(app), format="%s|%>s|%b|%B", sink=buf)
    wsgi = validator(Logger(inner, sink=records.append))
    _, result = step(wsgi, env())
    result.close()
    assert len(records) == 1
    assert (records[0]["status"], records[0]["bytes"]) == (None, 0)
    assert split_lines(buf.getvalue()) == ["-|-|-|0"]
    assert app.body.closed == 1


@pytest.mark.parametrize("shape", ["list", "stream", "late", "generator"])
def test_head_logs_zero_bytes_and_sends_no_body(shape):
    # The app sends a body anyway; DESIGN.md rule 8 (as for every wsgi_mw middleware): a HEAD
    # response has no body. Status and headers are the app's.
    bare = run(validator(SHAPES[shape]([b"Hello"])), env(method="HEAD"))
    response, line = log_one(SHAPES[shape]([b"Hello"]), env(method="HEAD"), format="%b %B %>s")
    assert line == "- 0 200"
    assert (response.status, response.headers) == (bare.status, bare.headers)
    assert response.body == b""
    _, record = record_one(SHAPES[shape]([b"Hello"]), env(method="HEAD"))
    assert record["bytes"] == 0


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_no_body_statuses_log_zero_bytes(status):
    app = ListApp([], status=status, content_type=None, headers=[("ETag", '"e"')])
    _, line = log_one(app, env(), format="%b %B %>s")
    assert line == f"- 0 {status[:3]}"
    _, record = record_one(ListApp([], status=status, content_type=None))
    assert (record["status"], record["bytes"]) == (int(status[:3]), 0)


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_no_body_statuses_count_zero_even_if_the_app_sends_bytes(status):
    # No validator: the app is faulty on purpose.
    records = []
    drive(Logger(ListApp([b"oops"], status=status, content_type=None), sink=records.append), env())
    assert (records[0]["status"], records[0]["bytes"]) == (int(status[:3]), 0)


def test_duration_us_runs_from_the_call_to_close():
    records = []
    wsgi = validator(Logger(validator(ListApp([b"x"])), sink=records.append))
    server, result = step(wsgi, env())
    for chunk in result:
        server.take(chunk)
    time.sleep(0.1)
    result.close()
    assert records[0]["duration_us"] >= 100_000


def test_duration_us_includes_the_app_call():
    def slow(environ, start_response):
        time.sleep(0.08)
        start_response("200 OK", [("Content-Type", TEXT)])
        return [b"x"]

    _, record = record_one(slow)
    assert record["duration_us"] >= 80_000


# --------------------------------------------------------------------------- response unchanged

UNCHANGED = {
    "list": lambda: ListApp(
        [b"Hello", b"", b" world"], headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    ),
    "tuple": lambda: ListApp([b"Hel", b"lo"], body_type=tuple, content_length=True),
    "late": lambda: LateStartApp([b"a", b"", b"b"]),
    "stream": lambda: EarlyStartStreamApp([b"", b"x" * 70000, b"y"]),
    "generator": lambda: generator_app([b"g1", b"g2"], status="202 Accepted"),
    "file_wrapper": lambda: FileWrapperApp([b"0123456789"], blksize=4),
    "not_found": lambda: ListApp([b"nope"], status="404 Not Found"),
    "empty": lambda: ListApp([]),
    "no_content": lambda: ListApp([], status="204 No Content", content_type=None),
    "not_modified": lambda: ListApp(
        [], status="304 Not Modified", content_type=None, headers=[("ETag", '"v"')]
    ),
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("shape", UNCHANGED)
def test_response_unchanged_and_bytes_logged(shape, method):
    bare = run(validator(UNCHANGED[shape]()), env("/u", method))
    app = UNCHANGED[shape]()
    response, record = record_one(app, env("/u", method))
    assert response.status == bare.status
    assert response.headers == bare.headers
    code = int(bare.status[:3])
    if method == "HEAD" or code in (204, 304):
        # DESIGN.md rule 8: no body (the app's HEAD body is not sent); conftest's lockstep
        # rule allows one b"" after the inner iterable's end.
        assert response.body == b""
        assert len(response.chunks) <= len(bare.chunks) + 1
    else:
        assert response.body == bare.body
        assert response.chunks == bare.chunks
    assert record["status"] == code
    expected = 0 if method == "HEAD" or code in (204, 304) else len(bare.body)
    assert record["bytes"] == expected
    if isinstance(app, FileWrapperApp):
        assert app.file.close_calls == 1
    elif isinstance(getattr(app, "body", None), CountingIterable):
        assert app.body.closed == 1


@pytest.mark.parametrize("factory", [EarlyStartStreamApp, LateStartApp])
def test_one_item_out_per_item_in(factory):
    app = factory([b"a", b"", b"bc", b"d" * 5000])
    records = []
    wsgi = validator(Logger(validator(app), sink=records.append))
    response = run_lockstep(wsgi, app, env())
    assert response.chunks == [b"a", b"", b"bc", b"d" * 5000]
    assert records[0]["bytes"] == 5003


# --------------------------------------------------------------------------- remote address

PROXY_CASES = [
    # trusted_proxies, REMOTE_ADDR, X-Forwarded-For, client
    ((), "203.0.113.5", "198.51.100.1", "203.0.113.5"),
    (("10.0.0.0/8",), "203.0.113.5", "198.51.100.1", "203.0.113.5"),
    (("10.0.0.0/8",), "10.0.0.1", None, "10.0.0.1"),
    (("10.0.0.0/8",), "10.0.0.1", "", "10.0.0.1"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1", "198.51.100.1"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
    (("10.0.0.0/8",), "10.0.0.1", "10.0.0.3, 10.0.0.4", "10.0.0.3"),
    (("10.0.0.0/8",), "10.0.0.1", "  198.51.100.1  ,   10.0.0.9 ", "198.51.100.1"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1,10.0.0.9", "198.51.100.1"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1, unknown, 10.0.0.2", "unknown"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1, 10.0.0.2:8080", "198.51.100.1"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1:443", "198.51.100.1:443"),
    (("10.0.0.0/8",), "10.0.0.1", "198.51.100.1, ::ffff:10.0.0.7", "198.51.100.1"),
    (("::1",), "::1", "2001:db8::5, [::1]:8080", "2001:db8::5"),
    (("::1",), "::1", "[2001:db8::5]:80", "[2001:db8::5]:80"),
    (("::1",), "::1", "::1, ::1", "::1"),
    (("2001:db8::/32",), "2001:db8::1", "198.51.100.1, 2001:db8:ffff::1", "198.51.100.1"),
    (("2001:db8::/32",), "2001:db9::1", "198.51.100.1", "2001:db9::1"),
    (("192.0.2.1",), "192.0.2.1", "198.51.100.1", "198.51.100.1"),
    (("192.0.2.1",), "192.0.2.2", "198.51.100.1", "192.0.2.2"),
    (("10.1.2.3/8",), "10.200.0.1", "198.51.100.1", "198.51.100.1"),
    (
        ("10.0.0.0/8", "192.168.0.0/16"),
        "192.168.1.1",
        "198.51.100.1, 10.0.0.1, 192.168.5.5",
        "198.51.100.1",
    ),
    (("10.0.0.0/8",), "", "198.51.100.1", None),
]


@pytest.mark.parametrize("trusted, remote, xff, expected", PROXY_CASES)
def test_client_address(trusted, remote, xff, expected):
    def environ():
        return env(environ={"REMOTE_ADDR": remote}, x_forwarded_for=xff)

    _, record = record_one(ListApp(), environ(), trusted_proxies=trusted)
    assert record["remote_addr"] == expected
    shown = "-" if expected is None else expected
    assert render("%h|%a", environ=environ(), trusted_proxies=trusted) == f"{shown}|{shown}"


def test_absent_remote_addr_is_null_and_dash():
    environ = env()
    del environ["REMOTE_ADDR"]
    _, record = record_one(ListApp(), environ)
    assert record["remote_addr"] is None
    environ = env()
    del environ["REMOTE_ADDR"]
    assert render("%h", environ=environ) == "-"


def test_ipaddress_objects_are_accepted_as_trusted_proxies():
    trusted = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_address("::1")]
    environ = env(environ={"REMOTE_ADDR": "::1"}, x_forwarded_for="198.51.100.1, 10.9.9.9")
    _, record = record_one(ListApp(), environ, trusted_proxies=trusted)
    assert record["remote_addr"] == "198.51.100.1"


def test_forwarded_header_is_not_read():
    environ = env(environ={"REMOTE_ADDR": "10.0.0.1"}, forwarded="for=198.51.100.1")
    _, record = record_one(ListApp(), environ, trusted_proxies=["10.0.0.0/8"])
    assert record["remote_addr"] == "10.0.0.1"


@pytest.mark.parametrize(
    "given, expected",
    [
        ((), ()),
        (["10.0.0.0/8"], ("10.0.0.0/8",)),
        (["10.1.2.3/8"], ("10.0.0.0/8",)),
        (["192.0.2.1"], ("192.0.2.1/32",)),
        (["::1"], ("::1/128",)),
        (["2001:DB8::1/32"], ("2001:db8::/32",)),
        (("10.0.0.0/8", "192.0.2.1"), ("10.0.0.0/8", "192.0.2.1/32")),
        (
            [ipaddress.ip_address("192.0.2.1"), ipaddress.ip_network("fd00::/8")],
            ("192.0.2.1/32", "fd00::/8"),
        ),
        ((n for n in ["172.16.0.0/12"]), ("172.16.0.0/12",)),
    ],
)
def test_trusted_proxies_are_normalised_networks(given, expected):
    mw = Logger(ListApp(), sink=[].append, trusted_proxies=given)
    assert mw.trusted_proxies == expected
    assert type(mw.trusted_proxies) is tuple


def test_trusted_proxies_bare_str_is_type_error():
    with pytest.raises(TypeError) as info:
        Logger(ListApp(), sink=[].append, trusted_proxies="10.0.0.0/8")
    assert "trusted_proxies" in str(info.value)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not-an-ip", "1.2.3", "", "10.0.0.0/8/8"])
def test_trusted_proxies_invalid_entry_is_value_error_naming_it(entry):
    with pytest.raises(ValueError) as info:
        Logger(ListApp(), sink=[].append, trusted_proxies=["10.0.0.0/8", entry])
    message = str(info.value)
    assert "trusted_proxies" in message
    assert repr(entry) in message or f'"{entry}"' in message or (entry and entry in message)


# --------------------------------------------------------------------------- logging sinks


def test_logging_sink_default_logger_unconfigured(access_log):
    logger, records = access_log
    before = (list(logger.handlers), logger.level, logger.propagate, list(logger.filters))
    root_before = list(logging.getLogger().handlers)
    mw = Logger(validator(ListApp([b"abc"])))
    assert mw.sink is None
    run(validator(mw), env("/l%", user_agent="UA"))
    assert len(records) == 1
    record = records[0]
    assert record.name == "wsgi_mw.access"
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "\n" not in message
    entry = parse(message)
    assert entry.request_line == "GET /l%25 HTTP/1.1"
    assert entry.headers_in["User-Agent"] == "UA"
    assert entry.bytes_sent == 3
    after = (list(logger.handlers), logger.level, logger.propagate, list(logger.filters))
    assert after == before, "Logger must not configure logging"
    assert list(logging.getLogger().handlers) == root_before


@pytest.mark.parametrize(
    "logger_level, level, expected",
    [
        (logging.WARNING, logging.INFO, None),
        (logging.WARNING, "info", None),
        (logging.WARNING, "WARNING", logging.WARNING),
        (logging.WARNING, "Error", logging.ERROR),
        (logging.DEBUG, "debug", logging.DEBUG),
        (logging.INFO, 15, None),
        (logging.INFO, 25, 25),
    ],
)
def test_logging_sink_uses_level(access_log, logger_level, level, expected):
    logger, records = access_log
    logger.setLevel(logger_level)
    run(validator(Logger(validator(ListApp()), level=level)), env())
    if expected is None:
        assert records == []
    else:
        assert [r.levelno for r in records] == [expected]


class CountingLogger(logging.Logger):
    """A logging.Logger sink that records its log() calls."""

    def __init__(self, name, level):
        super().__init__(name, level)
        self.calls = []
        self.records = []
        self.addHandler(Recording(self.records))

    def log(self, level, msg, *args, **kwargs):
        self.calls.append(level)
        super().log(level, msg, *args, **kwargs)


def test_logger_instance_sink_logged_only_when_enabled(access_log):
    _, default_records = access_log
    quiet = CountingLogger("test_logger.quiet", logging.WARNING)
    run(validator(Logger(validator(ListApp()), sink=quiet, level=logging.INFO)), env())
    assert quiet.calls == [] and quiet.records == []
    loud = CountingLogger("test_logger.loud", logging.DEBUG)
    mw = Logger(validator(ListApp()), sink=loud, level="debug", format="json")
    assert mw.sink is loud
    run(validator(mw), env("/inst"))
    assert loud.calls == [logging.DEBUG]
    assert json.loads(loud.records[0].getMessage())["path"] == "/inst"
    assert default_records == [], "a given logger replaces wsgi_mw.access"


def test_level_is_ignored_by_non_logging_sinks():
    records = []
    buf = io.StringIO()
    run(validator(Logger(validator(ListApp()), sink=records.append, level="critical")), env())
    run(validator(Logger(validator(ListApp()), sink=buf, level=logging.CRITICAL)), env())
    assert len(records) == 1
    assert len(split_lines(buf.getvalue())) == 1


# --------------------------------------------------------------------------- write() and callable


class Recorder:
    def __init__(self):
        self.calls = []

    def write(self, text):
        self.calls.append(("write", text))
        return len(text)

    def flush(self):
        self.calls.append(("flush",))


class WriteOnly:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)


def test_write_sink_gets_the_line_and_newline_then_flush():
    sink = Recorder()
    mw = Logger(validator(ListApp([b"abc"])), sink=sink)
    assert mw.sink is sink
    run(validator(mw), env("/w"))
    assert len(sink.calls) == 2, sink.calls
    (kind, text), flushed = sink.calls
    assert kind == "write" and type(text) is str
    assert text.endswith("\n") and text.count("\n") == 1
    assert flushed == ("flush",)
    assert parse(text).request_line == "GET /w HTTP/1.1"
    assert mw.flush() is None
    assert sink.calls[2:] == [("flush",)]
    assert mw.reopen() is None
    assert len(sink.calls) == 3, "reopen() is a no-op for write() sinks"


def test_write_sink_without_flush():
    sink = WriteOnly()
    mw = Logger(validator(ListApp()), sink=sink, format="json")
    run(validator(mw), env("/wo"))
    assert mw.flush() is None
    assert mw.reopen() is None
    (text,) = sink.parts
    assert json.loads(text)["path"] == "/wo"


def test_text_stream_sink_is_flushed_after_each_line():
    raw = io.BytesIO()
    sink = io.TextIOWrapper(raw, encoding="ascii", newline="\n")
    run(validator(Logger(validator(ListApp()), sink=sink, format="json")), env("/tw"))
    # Only a flush() after the write gets the line through the TextIOWrapper's buffer.
    (line,) = split_lines(raw.getvalue().decode("ascii"))
    assert json.loads(line)["path"] == "/tw"


def test_object_with_write_and_call_is_a_write_sink():
    class Both(WriteOnly):
        def __init__(self):
            super().__init__()
            self.called = []

        def __call__(self, record):
            self.called.append(record)

    sink = Both()
    run(validator(Logger(validator(ListApp()), sink=sink)), env())
    assert len(sink.parts) == 1 and sink.called == []


def test_callable_sink_flush_and_reopen_do_nothing():
    records = []
    mw = Logger(validator(ListApp()), sink=records.append)
    assert mw.flush() is None and mw.reopen() is None
    assert records == []
    run(validator(mw), env())
    assert mw.flush() is None and mw.reopen() is None
    assert len(records) == 1


def test_logging_sink_flush_and_reopen_do_nothing(access_log):
    _, records = access_log
    mw = Logger(validator(ListApp()))
    assert mw.flush() is None and mw.reopen() is None
    assert records == []


@pytest.mark.parametrize(
    "make",
    [
        lambda d: io.BytesIO(),
        lambda d: open(d / "buffered.bin", "wb"),  # noqa: SIM115
        lambda d: open(d / "raw.bin", "wb", buffering=0),  # noqa: SIM115
        lambda d: io.BufferedWriter(io.BytesIO()),
        lambda d: 42,
        lambda d: 1.5,
        lambda d: object(),
        lambda d: ["a.log"],
        lambda d: {"path": "a.log"},
        lambda d: str(d / "x.log").encode(),
    ],
    ids=[
        "BytesIO",
        "BufferedWriter-file",
        "FileIO",
        "BufferedWriter",
        "int",
        "float",
        "object",
        "list",
        "dict",
        "bytes-path",
    ],
)
def test_bad_sink_is_type_error_naming_sink(tmp_path, make):
    sink = make(tmp_path)
    try:
        with pytest.raises(TypeError) as info:
            Logger(ListApp(), sink=sink)
        assert "sink" in str(info.value)
    finally:
        if hasattr(sink, "close"):
            sink.close()


# --------------------------------------------------------------------------- path sink


class PathLikeObject:
    def __init__(self, path):
        self.path = path

    def __fspath__(self):
        return self.path


def paths_in(path) -> list:
    return [json.loads(line)["path"] for line in file_lines(path)]


@pytest.mark.parametrize("kind", ["str", "Path", "PathLike"])
def test_path_sink_created_at_construction_then_lines_at_flush(tmp_path, kind):
    path = tmp_path / "access.log"
    given = {"str": str(path), "Path": path, "PathLike": PathLikeObject(str(path))}[kind]
    mw = Logger(validator(ListApp([b"abc"])), sink=given)
    assert mw.sink is given
    assert path.exists(), "the file is opened (created) at construction"
    assert path.read_bytes() == b""
    wsgi = validator(mw)
    run(wsgi, env("/1", user_agent="one"))
    run(wsgi, env("/2", user_agent="two"))
    assert mw.flush() is None
    lines = file_lines(path)
    assert [parse(line).request_line for line in lines] == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"]
    assert [parse(line).headers_in["User-Agent"] for line in lines] == ["one", "two"]
    assert all(parse(line).bytes_sent == 3 for line in lines)


def test_path_sink_appends_to_an_existing_file(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(b"an older line\n")
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    run(validator(mw), env("/new"))
    mw.flush()
    lines = file_lines(path)
    assert lines[0] == "an older line"
    assert [json.loads(line)["path"] for line in lines[1:]] == ["/new"]


def test_path_sink_missing_directory_raises_at_construction(tmp_path):
    with pytest.raises(FileNotFoundError):
        Logger(ListApp(), sink=str(tmp_path / "missing" / "access.log"))


def test_path_sink_on_a_directory_raises_at_construction(tmp_path):
    with pytest.raises(OSError):
        Logger(ListApp(), sink=str(tmp_path))


def test_path_sink_many_lines_past_the_buffer_size_whole_and_in_order(tmp_path):
    path = tmp_path / "access.log"
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    wsgi = validator(mw)
    for i in range(300):
        run(wsgi, env(f"/{i}", user_agent=f"{i}:" + "u" * 1000))
    mw.flush()
    lines = file_lines(path)
    assert [json.loads(line)["path"] for line in lines] == [f"/{i}" for i in range(300)]
    assert all(json.loads(line)["user_agent"].startswith(f"{i}:") for i, line in enumerate(lines))


def test_path_sink_flushed_in_the_background_without_flush(tmp_path):
    path = tmp_path / "access.log"
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    run(validator(mw), env("/bg"))
    assert wait_for(lambda: path.read_bytes().endswith(b"\n"), timeout=5.0), (
        "the line was not written within 5 s without flush()"
    )
    assert paths_in(path) == ["/bg"]
    del mw


def test_reopen_after_the_file_was_moved(tmp_path):
    path, moved = tmp_path / "access.log", tmp_path / "access.log.1"
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    wsgi = validator(mw)
    run(wsgi, env("/1"))
    mw.flush()
    os.rename(path, moved)
    run(wsgi, env("/2"))
    assert mw.reopen() is None
    assert path.exists(), "reopen() creates the file at the path"
    run(wsgi, env("/3"))
    mw.flush()
    old, new = paths_in(moved), paths_in(path)
    assert old[0] == "/1" and "/1" not in new
    assert "/3" in new and "/3" not in old
    assert sorted(old + new) == ["/1", "/2", "/3"], "no line lost or written twice"


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_rotation_without_reopen_detected_at_flush(tmp_path, how):
    path, moved = tmp_path / "access.log", tmp_path / "access.log.1"
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    wsgi = validator(mw)
    run(wsgi, env("/1"))
    mw.flush()
    if how == "moved":
        os.rename(path, moved)
    else:
        os.unlink(path)
    run(wsgi, env("/2"))
    mw.flush()
    assert paths_in(path) == ["/2"]
    if how == "moved":
        assert paths_in(moved) == ["/1"]


def test_rotation_without_reopen_detected_by_the_background_flush(tmp_path):
    path, moved = tmp_path / "access.log", tmp_path / "access.log.1"
    mw = Logger(validator(ListApp()), sink=str(path), format="json")
    wsgi = validator(mw)
    run(wsgi, env("/1"))
    mw.flush()
    os.rename(path, moved)
    run(wsgi, env("/2"))
    assert wait_for(lambda: path.exists() and path.read_bytes().endswith(b"\n"), timeout=5.0)
    assert paths_in(path) == ["/2"]
    assert paths_in(moved) == ["/1"]


def wait_child(pid, timeout=15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the child process hung")


def test_path_sink_after_fork_does_not_rewrite_the_parents_buffer(tmp_path):
    path = tmp_path / "access.log"
    mw = Logger(ListApp(), sink=str(path), format="json")
    run(mw, env("/parent-before"))  # still in the parent's buffer (no flush yet)
    pid = os.fork()
    if pid == 0:  # the child: log one request, flush, leave without any cleanup
        code = 1
        try:
            run(mw, env("/child"))
            mw.flush()
            code = 0
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    run(mw, env("/parent-after"))
    mw.flush()
    assert sorted(paths_in(path)) == ["/child", "/parent-after", "/parent-before"]


CHILD_PRELUDE = textwrap.dedent(
    """
    import sys
    from wsgi_mw import Logger

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def serve(logger, path, user_agent="child"):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": user_agent,
            "wsgi.errors": sys.stderr,
        }
        result = logger(environ, lambda status, headers, exc_info=None: lambda data: None)
        try:
            for _ in result:
                pass
        finally:
            if hasattr(result, "close"):
                result.close()
    """
)


def test_interpreter_exit_flushes_the_path_sink(tmp_path):
    path = tmp_path / "access.log"
    code = CHILD_PRELUDE + textwrap.dedent(
        """
        logger = Logger(app, format="json", sink=sys.argv[1])
        serve(logger, "/at-exit")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    assert paths_in(path) == ["/at-exit"]


def test_two_processes_appending_to_one_file_write_whole_lines(tmp_path):
    path = tmp_path / "access.log"
    requests = 400
    code = CHILD_PRELUDE + textwrap.dedent(
        """
        tag, n, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        logger = Logger(app, format="json", sink=target)
        pad = tag * 1500
        for i in range(n):
            serve(logger, f"/{tag}/{i}", pad)
            if i % 20 == 19:
                logger.flush()
        logger.flush()
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, tag, str(requests), str(path)],
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        for tag in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode(errors="replace")
    lines = file_lines(path)
    assert len(lines) == 2 * requests
    seen = set()
    for line in lines:
        obj = json.loads(line)  # a torn or interleaved line would not parse
        tag = obj["path"].split("/")[1]
        assert obj["user_agent"] == tag * 1500
        seen.add(obj["path"])
    assert seen == {f"/{tag}/{i}" for tag in "ab" for i in range(requests)}


# --------------------------------------------------------------------------- sink failures


class Switch:
    failing = True


@contextlib.contextmanager
def failing_sink(kind, switch, delivered):
    """A sink that raises "sink exploded 4711" while switch.failing; `delivered` gets what
    went through otherwise. Yields the sink argument for Logger."""
    message = "sink exploded 4711"
    if kind == "write":

        class WriteSink:
            def write(self, text):
                if switch.failing:
                    raise OSError(message)
                delivered.append(text)

        yield WriteSink()
    elif kind == "flush":

        class FlushSink:
            def write(self, text):
                self.pending = text

            def flush(self):
                if switch.failing:
                    raise OSError(message)
                delivered.append(self.pending)

        yield FlushSink()
    elif kind == "callable":

        def callback(record):
            if switch.failing:
                raise ValueError(message)
            delivered.append(record)

        yield callback
    elif kind in ("logging_filter", "logging_handler", "logger_instance"):
        logger = logging.getLogger(
            "test_logger.failing" if kind == "logger_instance" else "wsgi_mw.access"
        )
        saved = (logger.level, logger.propagate, list(logger.filters))

        def raising_filter(record):
            if switch.failing:
                raise RuntimeError(message)
            return True

        class RaisingHandler(logging.Handler):
            def emit(self, record):
                if switch.failing:
                    raise RuntimeError(message)
                delivered.append(record)

        handler = RaisingHandler() if kind != "logging_filter" else Recording(delivered)
        if kind == "logging_filter":
            logger.addFilter(raising_filter)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            yield logger if kind == "logger_instance" else None
        finally:
            logger.removeHandler(handler)
            logger.filters[:] = saved[2]
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["write", "flush", "callable", "logging_filter", "logging_handler", "logger_instance"]
)
def test_failing_sink_reported_once_response_unchanged_then_rearmed(kind):
    switch = Switch()
    delivered = []
    bare = run(validator(EarlyStartStreamApp([b"Hello", b" world"])), env())
    with failing_sink(kind, switch, delivered) as sink:
        app = EarlyStartStreamApp([b"Hello", b" world"])
        wsgi = validator(Logger(validator(app), sink=sink))

        def request(n):
            environ = env(f"/{n}")
            assert run(wsgi, environ) == bare
            assert app.body.closed == 1
            return environ

        first = request(1)
        text = one_error_line(first)
        assert "sink exploded 4711" in text
        for n in (2, 3):
            assert error_text(request(n)) == "", "later failures stay silent"
        switch.failing = False
        assert error_text(request(4)) == ""
        assert len(delivered) == 1
        switch.failing = True
        again = request(5)
        assert "sink exploded 4711" in one_error_line(again), "a new failure is reported again"
        assert error_text(request(6)) == ""


def test_failing_sink_when_the_app_raised_still_propagates_the_apps_error():
    def callback(record):
        raise ValueError("sink exploded 4711")

    environ = env()
    wsgi = validator(Logger(validator(RaiseBeforeStartApp()), sink=callback))
    with pytest.raises(RuntimeError, match="boom before start_response"):
        wsgi(environ, Server().start_response)
    assert "sink exploded 4711" in one_error_line(environ)


def flush_quietly(mw):
    # Whether flush() itself raises on a write error is not specified; the report on the
    # next request's wsgi.errors is.
    with contextlib.suppress(OSError):
        mw.flush()


def test_path_sink_disk_full_reported_once_then_rearmed(tmp_path):
    link, real = tmp_path / "access.log", tmp_path / "real.log"
    os.symlink("/dev/full", link)  # /dev/full: every write fails with ENOSPC
    mw = Logger(validator(ListApp([b"ok"])), sink=str(link), format="json")
    wsgi = validator(mw)

    def request(n):
        environ = env(f"/{n}")
        response = run(wsgi, environ)
        assert (response.status, response.body) == ("200 OK", b"ok")
        return environ

    request(1)
    flush_quietly(mw)  # the write fails
    text = one_error_line(request(2))
    assert "no space left" in text.lower(), text
    for n in (3, 4):
        flush_quietly(mw)
        assert error_text(request(n)) == "", "later failures stay silent"
    flush_quietly(mw)
    # The path now names a regular file: the next flush reopens it and succeeds.
    os.symlink(real, tmp_path / "tmp-link")
    os.replace(tmp_path / "tmp-link", link)
    assert error_text(request(5)) == ""
    mw.flush()
    assert paths_in(real) == ["/5"], "lines that could not be written are dropped"
    # Back to a full disk: reported again.
    os.symlink("/dev/full", tmp_path / "tmp-link")
    os.replace(tmp_path / "tmp-link", link)
    request(6)
    flush_quietly(mw)
    assert "wsgi_mw.Logger" in one_error_line(request(7))


def test_path_sink_directory_removed_reported_then_recreated(tmp_path):
    directory = tmp_path / "logs"
    directory.mkdir()
    path = directory / "access.log"
    mw = Logger(validator(ListApp([b"ok"])), sink=str(path), format="json")
    wsgi = validator(mw)

    def request(n):
        environ = env(f"/{n}")
        assert run(wsgi, environ).body == b"ok"
        return environ

    request(1)
    mw.flush()
    shutil.rmtree(directory)
    request(2)
    flush_quietly(mw)  # the path cannot be reopened
    text = one_error_line(request(3))
    assert "no such file" in text.lower(), text
    directory.mkdir()
    request(4)
    mw.flush()
    written = paths_in(path)
    assert "/4" in written
    assert "/1" not in written and "/2" not in written


# --------------------------------------------------------------------------- constructor


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        Logger(ListApp(), "json")


@pytest.mark.parametrize(
    "level, expected",
    [
        ("INFO", 20),
        ("info", 20),
        ("warning", 30),
        ("Warning", 30),
        ("ERROR", 40),
        ("critical", 50),
        ("DEBUG", 10),
        (logging.DEBUG, 10),
        (25, 25),
        (0, 0),
    ],
)
def test_level_names_and_ints(level, expected):
    mw = Logger(ListApp(), level=level)
    assert mw.level == expected and type(mw.level) is int


@pytest.mark.parametrize("level", ["nope", "", "INFOO"])
def test_unknown_level_name_is_value_error(level):
    with pytest.raises(ValueError) as info:
        Logger(ListApp(), level=level)
    assert "level" in str(info.value)


@pytest.mark.parametrize("level", [True, False, 1.5, None, b"INFO", [20]])
def test_bad_level_type_is_type_error(level):
    with pytest.raises(TypeError) as info:
        Logger(ListApp(), level=level)
    assert "level" in str(info.value)


# --------------------------------------------------------------------------- properties, repr


class NamedApp:
    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        return [b"ok"]

    def __repr__(self):
        return "NamedApp()"


def test_properties():
    app = NamedApp()
    buf = io.StringIO()
    mw = Logger(
        app, format="json", sink=buf, trusted_proxies=["10.1.2.3/8", "192.0.2.1"], level="warning"
    )
    assert mw.app is app
    assert mw.format == "json"
    assert mw.sink is buf
    assert mw.trusted_proxies == ("10.0.0.0/8", "192.0.2.1/32")
    assert mw.level == logging.WARNING
    plain = Logger(app)
    assert (plain.format, plain.sink, plain.trusted_proxies, plain.level) == (
        "combined",
        None,
        (),
        logging.INFO,
    )
    custom = Logger(app, format="%h %>s", sink=[].append)
    assert custom.format == "%h %>s"


@pytest.mark.parametrize("name", ["app", "format", "sink", "trusted_proxies", "level"])
def test_properties_are_read_only(name):
    mw = Logger(NamedApp(), sink=[].append)
    with pytest.raises(AttributeError):
        setattr(mw, name, None)


def test_repr():
    app = NamedApp()
    assert (
        repr(Logger(app))
        == "Logger(NamedApp(), format='combined', sink=None, trusted_proxies=(), level=20)"
    )
    buf = io.StringIO()
    assert (
        repr(Logger(app, format="json", sink=buf, trusted_proxies=["10.0.0.0/8"], level="WARNING"))
        == f"Logger(NamedApp(), format='json', sink={buf!r}, trusted_proxies=('10.0.0.0/8',), level=30)"
    )


# --------------------------------------------------------------------------- lone surrogates


def surrogate_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize("format", ["combined", "json"])
def test_values_with_lone_surrogates_are_escaped_not_dropped(format):
    # A server that decodes with surrogateescape hands \udcff for the byte 0xff: the line shows
    # that byte escaped (as for any non-printable byte), never "-" or null.
    environ = env("/caf\udcff", query="q=\udcff", user_agent="agent\udcff", referer="ref\ud800")
    _, [line] = log_lines(surrogate_app, environ, format=format, validate=False)
    if format == "json":
        record = json.loads(line)
        assert record["path"] != "-" and record["path"] is not None
        for field in ("user_agent", "referer"):
            assert record[field] is not None, record
        assert "\\udcff" not in line
    else:
        assert '"GET /caf%FF?q=\\xff HTTP/1.1"' in line, line
        assert '"agent\\xff"' in line, line
        assert '"ref\\xed\\xa0\\x80"' in line, line


# --------------------------------------------------------------------------- no logging setup

UNCONFIGURED = r"""
import io, json, logging, sys, time
from wsgi_mw import Logger

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

def request(mw, path):
    errors = io.StringIO()
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "h", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.1.2.3", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": errors, "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    body = b"".join(mw(environ, lambda status, headers, exc_info=None: None))
    return body, errors.getvalue()

mw = Logger(app)
before = request(mw, "/before")[1]
# The app configures logging later: within a second the lines go there instead.
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.INFO)
time.sleep(1.1)
after = request(mw, "/after")[1]
print(json.dumps({"before": before, "after": after, "records": records}))
"""


def test_without_any_logging_setup_the_default_sink_writes_to_wsgi_errors():
    # In a fresh interpreter: pytest itself puts handlers on the root logger.
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", UNCONFIGURED],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["before"].startswith("10.1.2.3 - - ["), seen
    assert '"GET /before HTTP/1.1" 200 2' in seen["before"]
    assert seen["before"].endswith("\n") and seen["before"].count("\n") == 1
    # Once a handler would get the line, logging has it and wsgi.errors nothing.
    assert seen["after"] == ""
    assert len(seen["records"]) == 1 and '"GET /after HTTP/1.1" 200 2' in seen["records"][0]


def test_build_logger_under_gunicorn_writes_lines_to_its_error_log(tmp_path):
    import pathlib
    import sys
    import urllib.request

    from conftest import server_process
    from redis_server import free_port

    (tmp_path / "logged_app.py").write_text(
        "from wsgi_mw import build\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n"
        "application = build(app, ['logger'])\n"
    )
    port = free_port()
    gunicorn = pathlib.Path(sys.executable).parent / "gunicorn"
    argv = [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "logged_app:application"]
    log = tmp_path / "gunicorn.log"
    with server_process("gunicorn", argv, {"PYTHONPATH": str(tmp_path)}, log) as url:
        urllib.request.urlopen(f"{url}/hello-log", timeout=10).read()
    lines = [line for line in log.read_text().splitlines() if "/hello-log" in line]
    assert len(lines) == 1, log.read_text()[-2000:]
    assert '"GET /hello-log HTTP/1.1" 200' in lines[0]
