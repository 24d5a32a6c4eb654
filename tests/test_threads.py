"""One Rewrite instance shared by many threads, as under gunicorn gthread, waitress or uWSGI.

The per-charset rule cache is filled concurrently here (several charsets at once, first use
racing between threads) and big chunks go through the GIL-released path, so a lock held
across Python or a data race would show up as a wrong body, a deadlock or a crash.
"""

from __future__ import annotations

import re
import threading

from conftest import EarlyStartStreamApp, ListApp, make_environ, run

from wsgi_mw import Rewrite

THREADS = 8
REQUESTS = 150

# (charset, body bytes as the app sends them, expected bytes after Rewrite)
CASES = [
    ("utf-8", "Hello café Hello".encode(), b"Bye cafe Bye"),
    ("latin-1", "Hello café".encode("latin-1"), b"Bye cafe"),
    ("cp1252", "Hello café €".encode("cp1252"), "Bye cafe EUR".encode("cp1252")),
    ("iso-8859-15", "café €".encode("iso-8859-15"), "cafe EUR".encode("iso-8859-15")),
]
RULES = [("Hello", "Bye"), ("é", "e"), ("€", "EUR")]


def test_shared_instance_many_threads_many_charsets():
    apps = {
        charset: ListApp([body], content_type=f"text/plain; charset={charset}")
        for charset, body, _ in CASES
    }

    # One instance per app shape would hide the shared cache; route by PATH_INFO instead.
    def site(environ, start_response):
        return apps[environ["PATH_INFO"].strip("/")](environ, start_response)

    mw = Rewrite(site, RULES)
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def worker(offset: int) -> None:
        start.wait()
        for i in range(REQUESTS):
            charset, _, expected = CASES[(i + offset) % len(CASES)]
            body = run(mw, make_environ(PATH_INFO=f"/{charset}")).body
            if body != expected:
                failures.append(f"{charset}: {body!r} != {expected!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    assert failures == []


def test_large_streamed_chunks_from_threads_match_reference():
    # 64 KiB chunks run the replacer without the GIL; matches straddle every boundary.
    chunk = (b"xxHel" + b"lo yy" * 6000)[: 64 * 1024]
    chunks = [chunk] * 8
    expected = re.sub(rb"Hello", b"Bye", b"".join(chunks))
    mw = Rewrite(EarlyStartStreamApp(chunks), [(b"Hello", b"Bye")])
    results: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            body = run(mw).body
            with lock:
                results.append(body)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 80
    assert all(body == expected for body in results)
