"""Static: files under a root, served the way WhiteNoise serves them.

Oracles: the files' own bytes and `os.stat` (what a response must say), RFC 9110's rules for
validators and ranges written out here, the gzip/brotli/zstd decoders, WhiteNoise itself on
the same tree (a differential), `wsgiref.validate.validator` on both sides, and real
servers (wsgiref, gunicorn, waitress) driven by real HTTP clients.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import http.client
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.validate import validator

import brotli
import pytest
import requests
from conftest import error_text, header, make_environ, run, server_process
from redis_server import free_port
from whitenoise import WhiteNoise

import wsgi_mw
from wsgi_mw import Cache, Compress, Logger, Static, build

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]

APP_BODY = b"from the app\n"
SECRET = b"outside the root: never served\n"
CSS = b"body { color: #333 }\n" * 20
JS = b"console.log('hashed');\n" * 200
BIG = bytes(range(256)) * 1200  # 300 KiB: streamed, not read in one block
PNG = b"\x89PNG\r\n\x1a\n" + bytes(4088)
INDEX = b"<h1>docs</h1>\n"


def fallback(environ, start_response):
    start_response(
        "404 Not Found",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(APP_BODY)))],
    )
    return [APP_BODY]


@pytest.fixture
def tree(tmp_path):
    """tmp/secret.txt outside the root; tmp/static/ the root."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "static"
    (root / "css").mkdir(parents=True)
    (root / "js").mkdir()
    (root / "docs").mkdir()
    (root / ".git").mkdir()
    (root / "css" / "site.css").write_bytes(CSS)
    js = root / "js" / "app.3f2a9c1d.js"
    js.write_bytes(JS)
    (root / "js" / "app.3f2a9c1d.js.gz").write_bytes(gzip.compress(JS))
    (root / "js" / "app.3f2a9c1d.js.br").write_bytes(brotli.compress(JS))
    (root / "js" / "app.3f2a9c1d.js.zst").write_bytes(zstd.compress(JS))
    (root / "big.bin").write_bytes(BIG)
    (root / "logo.png").write_bytes(PNG)
    (root / "notes.unknownext").write_bytes(b"?")
    (root / "docs" / "index.html").write_bytes(INDEX)
    (root / ".env").write_bytes(SECRET)
    (root / ".git" / "config").write_bytes(SECRET)
    (root / "linked.css").symlink_to(root / "css" / "site.css")
    (root / "loop").symlink_to(root)  # a directory link loop: scanned once
    return root


def get(app, path, method="GET", **headers):
    environ = make_environ(PATH_INFO=path, REQUEST_METHOD=method)
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    return run(validator(app), environ)


def static(root, **options):
    return Static(validator(fallback), root, **options)


def etag_of(path):
    st = os.stat(path)
    return f'"{int(st.st_mtime):x}-{st.st_size:x}"'


def last_modified_of(path):
    return formatdate(int(os.stat(path).st_mtime), usegmt=True)


# --------------------------------------------------------------------------- the constructor


def test_root_must_exist_and_be_a_directory(tree):
    with pytest.raises(ValueError, match=r"Static\(root=.*\): root does not exist"):
        Static(fallback, str(tree / "missing"))
    with pytest.raises(ValueError, match=r"Static\(root=.*\): root is not a directory"):
        Static(fallback, tree / "big.bin")
    with pytest.raises(TypeError, match=r"Static\(root=...\): root must be a str or path-like"):
        Static(fallback, 3)
    assert Static(fallback, tree).root == str(tree)  # path-like accepted


@pytest.mark.parametrize(
    "given, normal",
    [
        ("/static/", "/static/"),
        ("static", "/static/"),
        ("/assets", "/assets/"),
        ("/", "/"),
        ("", "/"),
        ("/a/b/", "/a/b/"),
    ],
)
def test_prefix_is_normalised(tree, given, normal):
    assert Static(fallback, tree, prefix=given).prefix == normal


@pytest.mark.parametrize(
    "prefix", ["/a/../b/", "/a//b/", "/a?b/", "/a#b", "/%2e/", "/a\\b/", "/a\x00/", "/./"]
)
def test_bad_prefix_is_refused_by_name(tree, prefix):
    with pytest.raises(ValueError, match=r"Static\(prefix=.*\): prefix must not"):
        Static(fallback, tree, prefix=prefix)


@pytest.mark.parametrize(
    "prefix", ["https://cdn.example.com/static/", "http://localhost:8000/s/", "//cdn.example/s/"]
)
def test_a_url_given_as_prefix_is_told_a_prefix_is_a_path(tree, prefix):
    with pytest.raises(ValueError, match=r"prefix is a URL path such as \"/static/\", not a URL"):
        Static(fallback, tree, prefix=prefix)


def test_every_attribute_has_a_docstring():
    for name, value in vars(Static).items():
        if isinstance(value, type(Static.app)):
            assert value.__doc__, name


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"prefix": 3}, TypeError, r"Static\(prefix=...\): prefix must be a str"),
        ({"max_age": -1}, ValueError, r"Static\(max_age=-1\): max_age must be between"),
        ({"max_age": True}, TypeError, r"Static\(max_age=...\): max_age must be an int"),
        ({"max_age": "60"}, TypeError, r"max_age must be an int"),
        ({"immutable_max_age": 2**40}, ValueError, r"immutable_max_age must be between"),
        (
            {"max_age": 2**200},
            ValueError,
            r"Static\(max_age=...\): max_age must be between 0 and 2147483648 \(seconds\)",
        ),
        ({"max_files": 0}, ValueError, r"Static\(max_files=0\): max_files must be between 1 and"),
        ({"max_files": -5}, ValueError, r"Static\(max_files=-5\): max_files must be between 1"),
        ({"max_files": 2**64}, ValueError, r"max_files must be between 1 and \d+ \(files\)"),
        ({"max_files": True}, TypeError, r"Static\(max_files=...\): max_files must be an int"),
        ({"max_files": "10"}, TypeError, r"Static\(max_files=...\): max_files must be an int"),
        ({"max_files": None}, TypeError, r"Static\(max_files=...\): max_files must be an int"),
        ({"max_files": 1e6}, TypeError, r"Static\(max_files=...\): max_files must be an int"),
        ({"encodings": "gzip"}, TypeError, r"Static\(encodings=...\): expected an iterable"),
        ({"encodings": ["gzip", "deflate"]}, ValueError, r'unknown encoding "deflate"'),
        ({"encodings": ["gzip", "gzip"]}, ValueError, r'"gzip" is given twice'),
        ({"mimetypes": [("webp", "image/webp")]}, TypeError, r"mimetypes must be a dict"),
        ({"mimetypes": {"": "image/webp"}}, ValueError, r"is not a file extension"),
        ({"mimetypes": {".a/b": "image/webp"}}, ValueError, r"is not a file extension"),
        ({"mimetypes": {".webp": "webp"}}, ValueError, r"is not a media type"),
        ({"mimetypes": {".x": "text/x\r\nSet-Cookie: a=b"}}, ValueError, r"is not a media type"),
        ({"mimetypes": {".x": "text/x;\tcharset=a"}}, ValueError, r"is not a media type"),
        ({"mimetypes": {".x": 3}}, TypeError, r"every media type must be a str"),
        ({"index_file": 1}, TypeError, r"Static\(index_file=...\): index_file must be True or"),
        ({"autorefresh": "yes"}, TypeError, r"Static\(autorefresh=...\): autorefresh must be"),
    ],
)
def test_bad_options_are_refused_by_name(tree, options, error, message):
    with pytest.raises(error, match=message):
        Static(fallback, tree, **options)


def test_a_scan_past_max_files_is_refused_naming_the_root_and_the_way_out(tree):
    # The tree holds 10 files (siblings and the link to a file included): exactly 10 is fine.
    assert Static(fallback, tree, max_files=10).files == 10
    with pytest.raises(ValueError) as raised:
        Static(fallback, tree, max_files=9)
    message = str(raised.value)
    assert message.startswith(f'Static(root="{tree}", max_files=9): '), message
    assert "root holds more than 9 files" in message, message
    assert "point root at the directory of the static files" in message, message
    assert "raise max_files" in message, message
    # autorefresh scans nothing, so there is nothing to count.
    assert Static(fallback, tree, max_files=1, autorefresh=True).max_files == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/root"), reason="needs Linux's /proc")
def test_a_root_that_reaches_the_whole_machine_fails_at_start_up():
    # /proc/self/root links to "/", and every /proc/<pid>/root again: without a bound the
    # scan never ends. With a bound it ends with the error. The default (1 000 000, asserted
    # in test_attributes_and_repr) takes about a minute and 1.3 GB to get there (debug
    # build, docs/static.md); 20 000 shows the same ending in a second or two. The timeout
    # only guards against a scan that never ends.
    code = (
        "import wsgi_mw\n"
        "try:\n"
        "    wsgi_mw.Static(lambda environ, start_response: [], '/proc/self', max_files=20000)\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert 'Static(root="/proc/self", max_files=20000): ' in done.stdout, done.stdout


def test_app_must_be_callable(tree):
    with pytest.raises(TypeError, match=r"Static\(app=...\): app must be a WSGI application"):
        Static(None, tree)


def test_attributes_and_repr(tree):
    layer = Static(
        fallback,
        tree,
        prefix="assets",
        max_age=5,
        encodings=("gzip",),
        mimetypes={".WEBP": "image/webp"},
        index_file=True,
    )
    assert (layer.app, layer.prefix, layer.max_age, layer.immutable_max_age) == (
        fallback,
        "/assets/",
        5,
        31536000,
    )
    assert (layer.index_file, layer.autorefresh, layer.encodings) == (True, False, ["gzip"])
    assert layer.mimetypes == {"webp": "image/webp"}
    # Every regular file not under a dot-name, the siblings included, links followed once.
    assert layer.files == 10
    assert Static(fallback, tree, autorefresh=True).files is None
    assert repr(layer).startswith(f"Static({fallback!r}, {str(tree)!r}, prefix='/assets/'")
    assert layer.max_files == 1_000_000
    assert repr(layer).endswith(
        "encodings=('gzip',), mimetypes={'webp': 'image/webp'}, max_files=1000000)"
    )
    assert "Static" in wsgi_mw.__all__ and "root" in (Static.__doc__ or "")


# --------------------------------------------------------------------------- 200 and its head


def test_a_file_is_served_with_its_validators(tree):
    response = get(static(tree), "/static/css/site.css")
    path = tree / "css" / "site.css"
    assert response.status == "200 OK"
    assert response.body == CSS
    assert header(response.headers, "Content-Type") == "text/css; charset=utf-8"
    assert header(response.headers, "Content-Length") == str(len(CSS))
    assert header(response.headers, "ETag") == etag_of(path)
    assert header(response.headers, "Last-Modified") == last_modified_of(path)
    assert header(response.headers, "Cache-Control") == "public, max-age=60"
    assert header(response.headers, "Accept-Ranges") == "bytes"
    assert header(response.headers, "Vary") is None  # no siblings
    assert header(response.headers, "Content-Encoding") is None


def test_etag_is_the_same_in_every_instance(tree):
    tags = {header(get(static(tree), "/static/big.bin").headers, "ETag") for _ in range(3)}
    assert tags == {etag_of(tree / "big.bin")}


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("css/site.css", "text/css; charset=utf-8"),
        ("logo.png", "image/png"),
        ("js/app.3f2a9c1d.js", "text/javascript; charset=utf-8"),
        ("notes.unknownext", "application/octet-stream"),
        ("docs/index.html", "text/html; charset=utf-8"),
    ],
)
def test_content_types(tree, name, content_type):
    response = get(static(tree), "/static/" + name)
    assert header(response.headers, "Content-Type") == content_type


def test_mimetypes_come_before_the_table(tree):
    layer = static(tree, mimetypes={"unknownext": "text/x-notes", ".png": "image/x-mine"})
    assert header(get(layer, "/static/notes.unknownext").headers, "Content-Type") == (
        "text/x-notes; charset=utf-8"
    )
    assert header(get(layer, "/static/logo.png").headers, "Content-Type") == "image/x-mine"


def test_big_file_streams_whole_and_in_blocks(tree):
    environ = make_environ(PATH_INFO="/static/big.bin")
    del environ["wsgi.file_wrapper"]
    response = run(validator(static(tree)), environ)
    assert response.body == BIG
    assert header(response.headers, "Content-Length") == str(len(BIG))
    assert len(response.chunks) > 1 and max(map(len, response.chunks)) <= 64 * 1024


def test_whole_big_file_goes_to_the_servers_file_wrapper(tree):
    handed = []

    class Wrapper:
        def __init__(self, filelike, block=8192):
            handed.append((filelike, block))
            self.filelike = filelike

        def __iter__(self):
            while data := self.filelike.read(8192):
                yield data

        def close(self):
            self.filelike.close()

    environ = make_environ(PATH_INFO="/static/big.bin", **{"wsgi.file_wrapper": Wrapper})
    result = Static(fallback, tree)(environ, lambda status, headers, exc=None: None)
    assert type(result) is Wrapper
    assert b"".join(result) == BIG
    result.close()
    assert len(handed) == 1 and handed[0][1] == 64 * 1024
    assert handed[0][0].closed  # its close() closed our file
    # A small file, a range, and a HEAD do not use it.
    for path, extra in [
        ("/static/logo.png", {}),
        ("/static/big.bin", {"HTTP_RANGE": "bytes=0-9"}),
        ("/static/big.bin", {"REQUEST_METHOD": "HEAD"}),
    ]:
        environ = make_environ(PATH_INFO=path, **{"wsgi.file_wrapper": Wrapper}, **extra)
        result = Static(fallback, tree)(environ, lambda status, headers, exc=None: None)
        assert type(result) is not Wrapper
        getattr(result, "close", lambda: None)()
    assert len(handed) == 1


def test_head_has_the_head_and_no_body(tree):
    response = get(static(tree), "/static/big.bin", method="HEAD")
    assert response.status == "200 OK" and response.body == b""
    assert header(response.headers, "Content-Length") == str(len(BIG))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_on_a_file_get_405(tree, method):
    response = get(static(tree), "/static/css/site.css", method=method)
    assert response.status == "405 Method Not Allowed"
    assert header(response.headers, "Allow") == "GET, HEAD"
    # ...and on a missing file, the app answers.
    assert get(static(tree), "/static/nope.css", method=method).body == APP_BODY


# --------------------------------------------------------------------------- what goes to the app


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static",
        "/staticx/css/site.css",
        "/css/site.css",
        "/static/",
        "/static/css",
        "/static/css/",
        "/static/missing.css",
        "/static/docs/",
        "/static/.env",
        "/static/.git/config",
        "/static/css/site.css/",
        "/static/ĉ.css",
    ],
)
def test_everything_else_goes_to_the_app(tree, path):
    response = get(static(tree), path)
    assert (response.status, response.body) == ("404 Not Found", APP_BODY)


def test_prefix_slash_serves_from_the_site_root(tree):
    layer = static(tree, prefix="/")
    assert get(layer, "/css/site.css").body == CSS
    assert get(layer, "/missing").body == APP_BODY


def test_environ_without_path_info_goes_to_the_app(tree):
    environ = make_environ()
    del environ["PATH_INFO"]
    assert run(Static(fallback, tree), environ).body == APP_BODY


# --------------------------------------------------------------------------- lifetimes


def test_hashed_names_are_immutable_and_ages_are_options(tree):
    layer = static(tree, max_age=7, immutable_max_age=99)
    assert header(get(layer, "/static/js/app.3f2a9c1d.js").headers, "Cache-Control") == (
        "public, max-age=99, immutable"
    )
    assert header(get(layer, "/static/css/site.css").headers, "Cache-Control") == (
        "public, max-age=7"
    )


def test_django_manifest_names_count_as_hashed(tree):
    # ManifestStaticFilesStorage appends 12 hex digits of the MD5 of the content.
    (tree / "css" / "site.55e7cbb9ba48.css").write_bytes(CSS)
    (tree / "css" / "site.v2.css").write_bytes(CSS)
    layer = static(tree)
    assert "immutable" in header(
        get(layer, "/static/css/site.55e7cbb9ba48.css").headers, "Cache-Control"
    )
    assert "immutable" not in header(get(layer, "/static/css/site.v2.css").headers, "Cache-Control")


# --------------------------------------------------------------------------- siblings


@pytest.mark.parametrize(
    "accept, encodings, expected",
    [
        ("gzip", None, "gzip"),
        ("br", None, "br"),
        ("zstd", None, "zstd"),
        ("gzip, br, zstd", None, "zstd"),  # equal q: the order of `encodings`
        ("gzip, br, zstd", ("gzip", "br"), "gzip"),
        ("br;q=0.5, gzip;q=0.9", None, "gzip"),  # the client's q-values first
        ("*", None, "zstd"),
        ("*;q=0, gzip", None, "gzip"),
        ("zstd;q=0, br;q=0, gzip;q=0", None, None),
        ("identity", None, None),
        (None, None, None),
        ("gzip, br, zstd", (), None),
    ],
)
def test_sibling_negotiation(tree, accept, encodings, expected):
    options = {} if encodings is None else {"encodings": encodings}
    headers = {} if accept is None else {"accept_encoding": accept}
    response = get(static(tree, **options), "/static/js/app.3f2a9c1d.js", **headers)
    assert response.status == "200 OK"
    assert header(response.headers, "Content-Encoding") == expected
    decode = {
        None: bytes,
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": zstd.decompress,
    }[expected]
    assert decode(response.body) == JS
    assert header(response.headers, "Content-Type") == "text/javascript; charset=utf-8"
    assert header(response.headers, "Content-Length") == str(len(response.body))
    # Every response of a file with siblings varies, the uncompressed one included (unless
    # no sibling may be served: encodings=()).
    vary = None if encodings == () else "Accept-Encoding"
    assert header(response.headers, "Vary") == vary
    if expected:
        sibling = (
            tree / "js" / f"app.3f2a9c1d.js.{ {'gzip': 'gz', 'br': 'br', 'zstd': 'zst'}[expected] }"
        )
        assert header(response.headers, "ETag") == etag_of(sibling)


def test_a_304_and_a_405_of_a_file_with_siblings_vary_too(tree):
    layer = static(tree)
    tag = header(get(layer, "/static/js/app.3f2a9c1d.js").headers, "ETag")
    not_modified = get(layer, "/static/js/app.3f2a9c1d.js", if_none_match=tag)
    assert not_modified.status == "304 Not Modified"
    assert header(not_modified.headers, "Vary") == "Accept-Encoding"
    refused = get(layer, "/static/js/app.3f2a9c1d.js", method="POST")
    assert header(refused.headers, "Vary") == "Accept-Encoding"


# --------------------------------------------------------------------------- 304


def test_conditional_requests(tree):
    layer = static(tree)
    path = tree / "css" / "site.css"
    tag, date = etag_of(path), last_modified_of(path)
    url = "/static/css/site.css"
    cases = [
        ({"if_none_match": tag}, "304 Not Modified"),
        ({"if_none_match": f'"other", {tag}'}, "304 Not Modified"),
        ({"if_none_match": f"W/{tag}"}, "304 Not Modified"),  # weak comparison (RFC 9110)
        ({"if_none_match": "*"}, "304 Not Modified"),
        ({"if_none_match": '"other"'}, "200 OK"),
        ({"if_modified_since": date}, "304 Not Modified"),
        ({"if_modified_since": formatdate(time.time() + 3600, usegmt=True)}, "304 Not Modified"),
        (
            {"if_modified_since": formatdate(int(os.stat(path).st_mtime) - 10, usegmt=True)},
            "200 OK",
        ),
        ({"if_modified_since": "not a date"}, "200 OK"),
        # If-None-Match decides when both are sent (RFC 9110 §13.1.3).
        ({"if_none_match": '"other"', "if_modified_since": date}, "200 OK"),
    ]
    for headers, status in cases:
        response = get(layer, url, **headers)
        assert response.status == status, headers
        if status.startswith("304"):
            assert response.body == b""
            assert header(response.headers, "ETag") == tag
            assert header(response.headers, "Content-Length") is None
        else:
            assert response.body == CSS


# --------------------------------------------------------------------------- ranges


SIZE = len(BIG)


@pytest.mark.parametrize(
    "range_header, first, last",
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-199", 100, 199),
        ("bytes=-10", SIZE - 10, SIZE - 1),  # a suffix
        ("bytes=-999999999", 0, SIZE - 1),  # a suffix longer than the file: all of it
        ("bytes=300000-", 300000, SIZE - 1),
        ("bytes=0-0", 0, 0),
        (f"bytes={SIZE - 1}-{SIZE + 500}", SIZE - 1, SIZE - 1),  # the end is clipped
        ("bytes=70000-200000", 70000, 200000),  # larger than a block: streamed
        (" bytes = 5 - 6 ", 5, 6),  # spaces around the parts: taken, as Werkzeug does
        ("bytes=0-9,20-29", None, None),  # several ranges: the whole file
        ("bytes=9-0", None, None),
        ("bits=0-9", None, None),
        ("bytes=abc", None, None),
    ],
)
def test_ranges(tree, range_header, first, last):
    response = get(static(tree), "/static/big.bin", range=range_header)
    if first is None:
        assert (response.status, response.body) == ("200 OK", BIG)
        assert header(response.headers, "Content-Range") is None
        return
    assert response.status == "206 Partial Content"
    assert response.body == BIG[first : last + 1]
    assert header(response.headers, "Content-Range") == f"bytes {first}-{last}/{SIZE}"
    assert header(response.headers, "Content-Length") == str(last - first + 1)


@pytest.mark.parametrize(
    "range_header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"]
)
def test_unsatisfiable_range_gets_416(tree, range_header):
    response = get(static(tree), "/static/big.bin", range=range_header)
    assert response.status == "416 Range Not Satisfiable"
    assert header(response.headers, "Content-Range") == f"bytes */{SIZE}"
    assert response.body == b""


def test_a_range_never_reads_past_what_was_asked(tree):
    environ = make_environ(PATH_INFO="/static/big.bin", HTTP_RANGE="bytes=70000-200000")
    result = Static(fallback, tree)(environ, lambda status, headers, exc=None: None)
    sent = b"".join(result)
    assert sent == BIG[70000:200001]
    # The file's own offset: where the last read stopped.
    assert result.tell() == 200001
    result.close()
    assert result.closed


def test_if_range(tree):
    layer = static(tree)
    path = tree / "big.bin"
    cases = [
        (etag_of(path), True),
        ('"stale"', False),
        (f"W/{etag_of(path)}", False),  # a weak tag never matches (RFC 9110 §13.1.5)
        (last_modified_of(path), True),
        (formatdate(int(os.stat(path).st_mtime) - 60, usegmt=True), False),
    ]
    for if_range, honoured in cases:
        response = get(layer, "/static/big.bin", range="bytes=0-9", if_range=if_range)
        assert response.status == ("206 Partial Content" if honoured else "200 OK"), if_range
        assert response.body == (BIG[:10] if honoured else BIG)


def test_a_range_gets_the_file_itself_never_a_sibling(tree):
    response = get(
        static(tree),
        "/static/js/app.3f2a9c1d.js",
        range="bytes=0-9",
        accept_encoding="gzip, br, zstd",
    )
    assert response.status == "206 Partial Content"
    assert response.body == JS[:10]
    assert header(response.headers, "Content-Encoding") is None


def test_a_head_ignores_range(tree):
    # RFC 9110 §14.2: range handling is defined for GET only.
    response = get(static(tree), "/static/big.bin", method="HEAD", range="bytes=0-9")
    assert (response.status, response.body) == ("200 OK", b"")
    assert header(response.headers, "Content-Length") == str(SIZE)
    assert header(response.headers, "Content-Range") is None


def test_if_match_and_if_unmodified_since(tree):
    layer = static(tree)
    path = tree / "big.bin"
    tag, mtime = etag_of(path), int(os.stat(path).st_mtime)
    cases = [
        ({"if_match": tag}, "200 OK"),
        ({"if_match": f'"other", {tag}'}, "200 OK"),
        ({"if_match": "*"}, "200 OK"),
        ({"if_match": '"other"'}, "412 Precondition Failed"),
        ({"if_match": f"W/{tag}"}, "412 Precondition Failed"),  # strong comparison
        ({"if_unmodified_since": formatdate(mtime, usegmt=True)}, "200 OK"),
        ({"if_unmodified_since": formatdate(mtime - 60, usegmt=True)}, "412 Precondition Failed"),
        ({"if_unmodified_since": "not a date"}, "200 OK"),
        # If-Match decides alone, and before If-None-Match (RFC 9110 §13.2.2).
        ({"if_match": tag, "if_unmodified_since": formatdate(0, usegmt=True)}, "200 OK"),
        ({"if_match": '"other"', "if_none_match": tag}, "412 Precondition Failed"),
    ]
    for headers, status in cases:
        response = get(layer, "/static/big.bin", **headers)
        assert response.status == status, headers
        if status.startswith("412"):
            assert response.body == b"Precondition Failed\n"


def test_a_304_beats_a_range(tree):
    tag = etag_of(tree / "big.bin")
    response = get(static(tree), "/static/big.bin", range="bytes=0-9", if_none_match=tag)
    assert response.status == "304 Not Modified"


# --------------------------------------------------------------------------- index files


def test_index_file(tree):
    layer = static(tree, index_file=True)
    served = get(layer, "/static/docs/")
    assert (served.status, served.body) == ("200 OK", INDEX)
    assert header(served.headers, "Content-Type") == "text/html; charset=utf-8"
    to_slash = get(layer, "/static/docs")
    assert to_slash.status == "302 Found"
    assert header(to_slash.headers, "Location") == "docs/"
    from_index = get(layer, "/static/docs/index.html")
    assert from_index.status == "302 Found"
    assert header(from_index.headers, "Location") == "./"
    assert get(layer, "/static/css/").body == APP_BODY  # no index.html there
    assert get(layer, "/static/css").body == APP_BODY
    assert get(static(tree), "/static/docs/").body == APP_BODY  # off by default


# --------------------------------------------------------------------------- the index


def wire(text):
    """A path as a PEP 3333 server puts it in PATH_INFO: its UTF-8 bytes as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def test_a_redirect_is_never_read_as_a_scheme(tree):
    (tree / "a:b").mkdir()
    (tree / "a:b" / "index.html").write_bytes(INDEX)
    moved = get(static(tree, index_file=True), "/static/a:b")
    assert header(moved.headers, "Location") == "a%3Ab/"


def test_a_root_whose_name_is_not_utf8(tmp_path):
    root = os.fsdecode(bytes(tmp_path) + b"/r\xff")
    os.mkdir(root)
    pathlib.Path(root, "a.css").write_bytes(CSS)
    layer = static(root)
    assert layer.root == root
    assert get(layer, "/static/a.css").body == CSS
    with pytest.raises(TypeError, match=r"Static\(root=...\): root must be a str or path-like"):
        Static(fallback, bytes(tmp_path))


def test_non_ascii_names_prefixes_and_redirects(tree):
    (tree / "café").mkdir()
    (tree / "café" / "index.html").write_bytes(INDEX)
    (tree / "naïve.css").write_bytes(CSS)
    layer = static(tree, index_file=True)
    assert get(layer, wire("/static/naïve.css")).body == CSS
    moved = get(layer, wire("/static/café"))
    assert header(moved.headers, "Location") == "caf%C3%A9/"
    assert get(layer, wire("/static/café/")).body == INDEX
    accented = static(tree, prefix="/fichiers-é/")
    assert accented.prefix == "/fichiers-é/"
    assert get(accented, wire("/fichiers-é/naïve.css")).body == CSS


def test_a_deleted_sibling_falls_back_to_the_file(tree):
    layer = static(tree)
    (tree / "js" / "app.3f2a9c1d.js.zst").unlink()
    response = get(layer, "/static/js/app.3f2a9c1d.js", accept_encoding="zstd")
    assert response.status == "200 OK" and response.body == JS
    assert header(response.headers, "Content-Encoding") is None
    # ...and the next one is answered from the entry read again.
    response = get(layer, "/static/js/app.3f2a9c1d.js", accept_encoding="zstd, gzip")
    assert header(response.headers, "Content-Encoding") == "gzip"


@pytest.mark.parametrize("autorefresh", [False, True])
def test_changes_are_seen_within_a_second_by_every_kind_of_answer(tree, autorefresh):
    layer = static(tree, autorefresh=autorefresh)
    path = tree / "css" / "site.css"
    old_tag = etag_of(path)
    assert get(layer, "/static/css/site.css").body == CSS  # its bytes are now held
    # Rewritten in place to the same size within the same second: the held bytes are not
    # this version's (the inode's change time and the nanoseconds differ).
    same_size = CSS.replace(b"#333", b"#444")
    stat = os.stat(path)
    path.write_bytes(same_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even the same mtime
    time.sleep(1.1)
    assert get(layer, "/static/css/site.css").body == same_size
    # A client holding an old ETag gets the new file, not a 304.
    path.write_bytes(b"new\n")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    time.sleep(1.1)
    response = get(layer, "/static/css/site.css", if_none_match=old_tag)
    assert (response.status, response.body) == ("200 OK", b"new\n")
    assert header(response.headers, "ETag") == etag_of(path) != old_tag
    head = get(layer, "/static/css/site.css", method="HEAD")
    assert header(head.headers, "Content-Length") == "4"
    path.unlink()
    time.sleep(1.1)
    assert get(layer, "/static/css/site.css", method="HEAD").body == APP_BODY


def test_a_file_deleted_and_copied_back_comes_back(tree):
    # collectstatic --clear, or rm then cp, during a deploy.
    layer = static(tree)
    path = tree / "css" / "site.css"
    path.unlink()
    time.sleep(1.1)
    assert get(layer, "/static/css/site.css").body == APP_BODY
    assert layer.files == 9
    path.write_bytes(b"back\n")
    time.sleep(1.1)
    assert get(layer, "/static/css/site.css").body == b"back\n"
    assert layer.files == 10


def test_without_autorefresh_new_files_are_not_seen_but_changes_are(tree):
    layer = static(tree)
    (tree / "late.css").write_bytes(CSS)
    assert get(layer, "/static/late.css").body == APP_BODY
    # A file rewritten since the scan: its current bytes, length and validators.
    path = tree / "css" / "site.css"
    os.utime(path, (1_000_000_000, 1_000_000_000))
    path.write_bytes(b"changed\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    response = get(layer, "/static/css/site.css")
    assert response.body == b"changed\n"
    assert header(response.headers, "ETag") == etag_of(path)
    # A file deleted since the scan: the app answers.
    (tree / "logo.png").unlink()
    assert get(layer, "/static/logo.png").body == APP_BODY


def test_autorefresh_sees_files_added_and_changed(tree):
    layer = static(tree, autorefresh=True)
    assert get(layer, "/static/late.css").body == APP_BODY
    (tree / "late.css").write_bytes(b"late\n")
    assert get(layer, "/static/late.css").body == b"late\n"
    (tree / "late.css").write_bytes(b"later, longer\n")
    assert get(layer, "/static/late.css").body == b"later, longer\n"
    assert get(layer, "/static/.env").body == APP_BODY


def test_a_directory_linked_twice_is_served_under_both_paths_in_every_instance(tree):
    (tree / "latest").symlink_to(tree / "js")
    for _ in range(10):  # each scan, as each worker process would make it
        layer = static(tree)
        assert get(layer, "/static/js/app.3f2a9c1d.js").body == JS
        assert get(layer, "/static/latest/app.3f2a9c1d.js").body == JS


def test_symlinks_under_the_root_are_followed(tree):
    # Django's collectstatic --link puts links under STATIC_ROOT: they are served.
    assert get(static(tree), "/static/linked.css").body == CSS
    assert get(static(tree), "/static/loop/css/site.css").body == APP_BODY  # the loop: once
    assert get(static(tree, autorefresh=True), "/static/linked.css").body == CSS


# --------------------------------------------------------------------------- security

TRAVERSALS = [
    "/static/../secret.txt",
    "/static/css/../../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/.%2e/secret.txt",
    "/static/%252e%252e/secret.txt",  # encoded twice
    "/static/..%2fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/css%2f..%2f..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/css\\..\\..\\secret.txt",
    "/static//etc/passwd",
    "/static///etc/passwd",
    "/static/%2fetc/passwd",
    "/static/css/site.css%00.png",
    "/static/css/site.css\x00",
    "/static/./css/site.css",
    "/static/css/./site.css",
    "/static/.env",
    "/static/%2eenv",
    "/static/.git/config",
    "/static/" + "a/" * 40 + "x.css",
    "/static/" + "a" * 300 + ".css",
    "/static/" + "ab/" * 400,
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_in_process(tree, path):
    response = get(static(tree, autorefresh=True), path)
    assert response.body == APP_BODY
    response = get(static(tree), path)
    assert response.body == APP_BODY


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def wsgiref_url(tree):
    server = make_server("127.0.0.1", 0, Static(fallback, tree), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def raw_get(port, target):
    """The request target sent byte for byte (no client normalises it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while part := sock.recv(65536):
            data += part
    return data


@pytest.mark.parametrize("path", [p for p in TRAVERSALS if "\x00" not in p])
def test_traversal_over_http(wsgiref_url, path):
    data = raw_get(wsgiref_url, path.encode("latin-1"))
    assert SECRET not in data
    assert data.startswith(b"HTTP/1.0 404") and data.endswith(APP_BODY)


def test_over_http_a_file_is_served(wsgiref_url):
    data = raw_get(wsgiref_url, b"/static/css/site.css")
    assert data.startswith(b"HTTP/1.0 200") and data.endswith(CSS)


HOSTILE = {
    "accept_encoding": lambda n: "gzip;q=0.5, " * n,
    "if_none_match": lambda n: '"x", ' * n,
    "if_match": lambda n: '"x", ' * n,
    "range": lambda n: "bytes=" + "0-1," * n,
    "if_range": lambda n: '"' + "x" * (5 * n) + '"',
    "if_modified_since": lambda n: "Mon, " * n,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_header_costs_linear_time(tree, name):
    layer = Static(fallback, tree)
    make = HOSTILE[name]

    def cost(n):
        environ = make_environ(
            PATH_INFO="/static/js/app.3f2a9c1d.js",
            HTTP_RANGE="bytes=0-9" if name == "if_range" else "",
        )
        environ["HTTP_" + name.upper()] = make(n)
        start = time.perf_counter()
        for _ in range(5):
            run(layer, environ)
        return time.perf_counter() - start

    # Not a timing assertion: a ratio. 8x the input must stay far below quadratic (64x).
    small = min(cost(20_000) for _ in range(3))
    large = min(cost(160_000) for _ in range(3))
    assert large / small < 24, (small, large)


# --------------------------------------------------------------------------- stacks


def test_through_logger_compress_and_cache(tree, tmp_path):
    log = tmp_path / "access.log"
    for fused in (True, False):
        wsgi_mw.set_fusion(fused)
        try:
            logger = Logger(Static(Cache(Compress(fallback)), tree), sink=str(log), format="%B")
            environ = make_environ(PATH_INFO="/static/big.bin")
            del environ["wsgi.file_wrapper"]
            response = run(validator(logger), environ)
            assert response.body == BIG and response.status == "200 OK"
            ranged = get(logger, "/static/big.bin", range="bytes=10-19")
            assert ranged.body == BIG[10:20]
            logger.flush()
        finally:
            wsgi_mw.set_fusion(True)
    lines = log.read_text().splitlines()
    assert lines == [str(len(BIG)), "10"] * 2

    # Compress outside Static: a text file without siblings is compressed, one with
    # siblings is sent as its sibling (already encoded: Compress leaves it alone).
    (tree / "big.txt").write_bytes(b"text " * 60000)
    outer = Compress(Static(fallback, tree))
    response = get(outer, "/static/big.txt", accept_encoding="gzip")
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == b"text " * 60000
    response = get(outer, "/static/js/app.3f2a9c1d.js", accept_encoding="br")
    assert brotli.decompress(response.body) == JS
    ranged = get(outer, "/static/big.txt", range="bytes=0-4", accept_encoding="gzip")
    assert (ranged.status, ranged.body) == ("206 Partial Content", b"text ")

    # Cache outside Static stores a file and replays it.
    cached = Cache(Static(fallback, tree))
    first = get(cached, "/static/css/site.css")
    second = get(cached, "/static/css/site.css")
    assert first.body == second.body == CSS
    assert header(second.headers, "X-Cache") == "HIT"


def test_build_and_the_spec(tree):
    app = build(fallback, ["logger", ("static", {"root": str(tree), "prefix": "/s/"}), "cache"])
    assert type(app) is Logger and type(app.app) is Static
    assert get(app, "/s/css/site.css").body == CSS


def test_files_are_closed(tree):
    fds = pathlib.Path("/proc/self/fd")
    if not fds.exists():
        pytest.skip("needs /proc/self/fd to count open files")
    layer = Static(fallback, tree)
    before = len(list(fds.iterdir()))
    for i in range(50):
        environ = make_environ(PATH_INFO="/static/big.bin")
        del environ["wsgi.file_wrapper"]
        result = layer(environ, lambda status, headers, exc=None: None)
        if i % 2:
            next(iter(result))  # a client that went away after one block
        else:
            b"".join(result)
        result.close()
        get(layer, "/static/logo.png")
        get(layer, "/static/big.bin", range="bytes=0-100000")
    assert len(list(fds.iterdir())) == before


def test_threads_read_their_own_bytes(tree):
    layer = Static(fallback, tree)

    def one(i):
        first = (i * 997) % (SIZE - 70000)
        response = get(layer, "/static/big.bin", range=f"bytes={first}-{first + 69999}")
        return response.body == BIG[first : first + 70000]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(64)))


# --------------------------------------------------------------------------- WhiteNoise


DIFF_REQUESTS = [
    ("GET", "/static/css/site.css", {}),
    ("HEAD", "/static/css/site.css", {}),
    ("GET", "/static/logo.png", {}),
    ("GET", "/static/big.bin", {}),
    ("GET", "/static/notes.unknownext", {}),
    ("GET", "/static/js/app.3f2a9c1d.js", {}),
    ("GET", "/static/js/app.3f2a9c1d.js", {"accept_encoding": "gzip"}),
    ("GET", "/static/js/app.3f2a9c1d.js", {"accept_encoding": "br"}),
    ("GET", "/static/js/app.3f2a9c1d.js", {"accept_encoding": "gzip, deflate, br"}),
    ("HEAD", "/static/js/app.3f2a9c1d.js", {"accept_encoding": "gzip"}),
    ("GET", "/static/css/site.css", {"if_none_match": "ETAG"}),
    ("GET", "/static/css/site.css", {"if_none_match": '"nope"'}),
    ("GET", "/static/css/site.css", {"if_modified_since": "LASTMOD"}),
    ("GET", "/static/big.bin", {"range": "bytes=0-99"}),
    ("GET", "/static/big.bin", {"range": "bytes=-100"}),
    ("GET", "/static/big.bin", {"range": "bytes=299000-"}),
    ("GET", "/static/big.bin", {"range": f"bytes={SIZE + 10}-"}),
    ("POST", "/static/css/site.css", {}),
    ("DELETE", "/static/big.bin", {}),
    ("GET", "/static/missing.css", {}),
    ("GET", "/elsewhere", {}),
    ("GET", "/static/docs/", {}),
]

# The headers both must agree on. Cache-Control is compared as a set of directives.
COMPARED = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "ETag",
    "Last-Modified",
    "Content-Range",
    "Allow",
)


def directives(value):
    return None if value is None else {d.strip() for d in value.split(",")}


@pytest.fixture
def utc(monkeypatch):
    """The process in UTC: WhiteNoise makes its ETag with time.mktime, in local time."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_etag_does_not_depend_on_the_timezone(tree, monkeypatch):
    # WhiteNoise's does (time.mktime of its Last-Modified, local time): two servers in two
    # timezones would give one file two ETags. Ours is the epoch seconds, as nginx's.
    tags = set()
    for zone in ("UTC", "Asia/Kolkata", "America/Los_Angeles"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        tags.add(header(get(static(tree), "/static/css/site.css").headers, "ETag"))
    monkeypatch.undo()
    time.tzset()
    assert tags == {etag_of(tree / "css" / "site.css")}


@pytest.mark.parametrize("method, path, headers", DIFF_REQUESTS)
def test_the_same_answers_as_whitenoise(tree, utc, method, path, headers):
    # WhiteNoise serves dotfiles, offers no zstd and follows a link loop until the OS
    # refuses: the differential's tree has none of them.
    for name in (".env", ".git/config", "js/app.3f2a9c1d.js.zst", "loop"):
        (tree / name).unlink()
    target = tree / ("css/site.css" if "site.css" in path else "big.bin")
    headers = {
        k: v.replace("ETAG", etag_of(target)).replace("LASTMOD", last_modified_of(target))
        for k, v in headers.items()
    }
    peer = WhiteNoise(
        validator(fallback),
        root=str(tree),
        prefix="static/",
        max_age=60,
        immutable_file_test=r"\.[0-9a-f]{8,}\.",
    )
    # WhiteNoise's immutable lifetime is ten years.
    ours = Static(validator(fallback), tree, encodings=("br", "gzip"), immutable_max_age=315360000)
    environ = make_environ(PATH_INFO=path, REQUEST_METHOD=method)
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    # WhiteNoise's 405 and 416 have no Content-Type, which wsgiref.validate refuses: it is
    # run bare; ours is validated on both sides.
    theirs_response = run(peer, environ)
    ours_response = get(ours, path, method=method, **headers)
    # The codes: WhiteNoise's 416 says RFC 2616's "Requested Range Not Satisfiable",
    # RFC 9110 says "Range Not Satisfiable". Our 405 has a short text body, WhiteNoise's
    # none.
    status = ours_response.status[:3]
    assert status == theirs_response.status[:3]
    if status not in ("405", "416"):
        assert ours_response.status == theirs_response.status
        assert ours_response.body == theirs_response.body
    # A 304 needs no Last-Modified (RFC 9110 §15.4.5; we keep it, WhiteNoise drops it), and
    # WhiteNoise's 4xx carry only Allow or Content-Range.
    compared = {"304": ("ETag",), "405": ("Allow",), "416": ("Content-Range",)}.get(
        status, COMPARED
    )
    if header(ours_response.headers, "Content-Encoding"):
        # A sibling's validators are its own (as nginx's gzip_static sends them): another
        # representation, another ETag. WhiteNoise sends the original's.
        compared = tuple(n for n in compared if n not in ("ETag", "Last-Modified"))
        suffix = {"gzip": ".gz", "br": ".br"}[header(ours_response.headers, "Content-Encoding")]
        sibling = tree / (path.removeprefix("/static/") + suffix)
        assert header(ours_response.headers, "ETag") == etag_of(sibling)
    for name in compared:
        ours_value = header(ours_response.headers, name)
        theirs_value = header(theirs_response.headers, name)
        if name == "Content-Type" and theirs_value:
            theirs_value = theirs_value.replace('"', "")  # charset="utf-8", the same type
        assert ours_value == theirs_value, name
    if status in ("200", "206", "304"):
        assert directives(header(ours_response.headers, "Cache-Control")) == directives(
            header(theirs_response.headers, "Cache-Control")
        )


# --------------------------------------------------------------------------- real servers


BIN = pathlib.Path(sys.executable).parent
SERVERS = {
    "gunicorn": lambda port: [
        str(BIN / "gunicorn"),
        "-w",
        "1",
        "--worker-class",
        "sync",
        "-b",
        f"127.0.0.1:{port}",
        "static_app:application",
    ],
    "waitress": lambda port: [
        str(BIN / "waitress-serve"),
        "--listen",
        f"127.0.0.1:{port}",
        "static_app:application",
    ],
}
WRAPPERS = {
    "gunicorn": "gunicorn.http.wsgi.FileWrapper",
    "waitress": "waitress.buffers.ReadOnlyFileBasedBuffer",
}


@pytest.fixture(params=list(SERVERS))
def served(request, tree, tmp_path):
    name = request.param
    types = tmp_path / "types.txt"
    types.touch()
    env = {
        "WSGI_MW_TEST_STATIC_ROOT": str(tree),
        "WSGI_MW_TEST_STATIC_TYPES": str(types),
        "PYTHONPATH": str(pathlib.Path(__file__).parent),
    }
    argv = SERVERS[name](free_port())
    with server_process(name, argv, env, tmp_path / "server.log") as url:
        yield name, url, types


def test_real_server_round_trips(served, tree):
    name, url, types = served
    whole = requests.get(
        f"{url}/static/big.bin", headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert whole.status_code == 200 and whole.content == BIG
    assert whole.headers["Content-Length"] == str(SIZE)
    # The whole file went out through the server's own file_wrapper (gunicorn: sendfile).
    kinds = dict(line.split(" ", 1) for line in types.read_text().splitlines())
    assert kinds["/static/big.bin"] == WRAPPERS[name]

    ranged = requests.get(
        f"{url}/static/big.bin", headers={"Range": "bytes=1000-80999"}, timeout=10
    )
    assert ranged.status_code == 206 and ranged.content == BIG[1000:81000]
    assert ranged.headers["Content-Range"] == f"bytes 1000-80999/{SIZE}"

    # requests decodes gzip itself: the body it shows is the original.
    encoded = requests.get(
        f"{url}/static/js/app.3f2a9c1d.js", headers={"Accept-Encoding": "gzip"}, timeout=10
    )
    assert encoded.headers["Content-Encoding"] == "gzip" and encoded.content == JS

    tag = whole.headers["ETag"]
    again = requests.get(f"{url}/static/big.bin", headers={"If-None-Match": tag}, timeout=10)
    assert again.status_code == 304 and again.content == b""

    head = requests.head(f"{url}/static/big.bin", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(SIZE)

    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("GET", "/static/%2e%2e/secret.txt")
        response = conn.getresponse()
        assert (response.status, response.read()) == (404, APP_BODY)
    finally:
        conn.close()
    assert requests.post(f"{url}/static/css/site.css", timeout=10).status_code == 405


def test_errors_are_not_written_for_normal_requests(tree):
    environ = make_environ(PATH_INFO="/static/big.bin", HTTP_RANGE="bytes=0-9")
    run(Static(fallback, tree), environ)
    assert error_text(environ) == ""
