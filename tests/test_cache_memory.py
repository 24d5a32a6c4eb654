"""max_bytes bounds real memory: a store filled past its budget with responses of every shape
(many tiny chunks, many tiny headers, many tiny entries, pages, large bodies) grows the
process RSS by at most a small factor of max_bytes.

Each shape runs in a fresh interpreter so one shape's allocator state cannot hide another's.
The oracle is the kernel's VmRSS, not anything the cache reports about itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

MAX_BYTES = 8 * 1024 * 1024

# Twice the budget covers allocator slack and fragmentation (pymalloc arenas, malloc bins);
# before the fix, 200 tiny headers per entry grew RSS by 17x the budget and 2 000 two-byte
# chunks by 4x.
FACTOR = 2.0
# What the interpreter itself may allocate while serving thousands of requests.
FIXED = 4 * 1024 * 1024

PROBE = textwrap.dedent(
    """
    import gc, json, sys
    from wsgi_mw import Cache

    shape, max_bytes = sys.argv[1], int(sys.argv[2])

    def rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024

    def app(environ, start_response):
        headers = [("Content-Type", "text/plain"), ("Cache-Control", "max-age=600")]
        body = [b"x"]
        if shape == "tiny_headers":
            headers += [(f"X-H{i}", "v") for i in range(200)]
        elif shape == "tiny_chunks":
            body = [b"ab" for _ in range(2000)]
        elif shape == "tiny_chunks_generator":
            body = (b"ab" for _ in range(2000))
        elif shape == "page":
            body = [bytes(4096)]
        elif shape == "large":
            body = [bytes(65536)]
        start_response("200 OK", headers)
        return body

    cache = Cache(app, max_bytes=max_bytes)

    def get(i):
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": f"/p{i}", "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "h", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        body = cache(environ, lambda status, headers, exc_info=None: None)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()

    for i in range(5):
        get(-1 - i)
    cache.clear()
    gc.collect()
    before = rss()
    i = 0
    while True:
        get(i)
        i += 1
        stats = cache.stats()
        # Full, and turned over twice: every entry now is one stored after the store filled.
        if i > 100 and stats["evictions"] > 2 * stats["entries"]:
            break
    gc.collect()
    print(json.dumps({"growth": rss() - before, **stats}))
    """
)


@pytest.mark.parametrize(
    "shape",
    ["tiny_headers", "tiny_chunks", "tiny_chunks_generator", "tiny_entries", "page", "large"],
)
def test_a_full_store_stays_within_a_small_factor_of_max_bytes(shape):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, shape, str(MAX_BYTES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["bytes"] <= MAX_BYTES
    assert result["stores"] > result["entries"] > 0
    growth = result["growth"]
    assert growth <= FACTOR * MAX_BYTES + FIXED, (
        f"{shape}: RSS grew by {growth / MAX_BYTES:.1f}x max_bytes "
        f"({result['entries']} entries charged {result['bytes']} bytes)"
    )
