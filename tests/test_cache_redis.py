"""Cache on a shared Redis store, against a real redis-server (tests/redis_server.py) and a
plain Redis client (redis-py) reading back what was written.

What is shared between instances (processes in production: two Caches here, two gunicorn
workers in test_cache_redis_servers), what is never written, the entry format and expiry,
purges and clear, fail-open through an outage and recovery, single-flight across instances,
the constructor. Every request goes through `wsgiref.validate.validator` on both sides.
"""

from __future__ import annotations

import threading
import time
from wsgiref.validate import validator

import pytest
from conftest import error_text, gunicorn_on_redis, header, make_environ, run
from redis_server import RedisServer, free_port

from wsgi_mw import Cache

HTML = "text/html; charset=utf-8"


class CountingApp:
    """A fixed response; counts its calls."""

    def __init__(self, body=b"<p>Hello</p>", headers=(), status="200 OK", delay=0.0):
        self.body = body
        self.headers = list(headers)
        self.status = status
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        start_response(self.status, [("Content-Type", HTML), *self.headers])
        return [self.body]


def cache(app, server, **options):
    """A Cache on `server`, with the validator on both sides."""
    return validator(Cache(validator(app), store=server.url, **options))


def get(mw, path="/", **environ):
    return run(mw, make_environ(PATH_INFO=path, **environ))


def entry_keys(client, prefix=b"wsgi_mw:"):
    return sorted(k for k in client.keys(prefix + b"e:*"))


def test_a_miss_in_one_cache_is_a_hit_in_another(redis_server):
    app = CountingApp()
    one, two = cache(app, redis_server), cache(app, redis_server)
    first = get(one)
    second = get(two)
    assert header(first.headers, "X-Cache") == "MISS"
    assert header(second.headers, "X-Cache") == "HIT"
    assert second.body == first.body == b"<p>Hello</p>"
    assert header(second.headers, "Content-Type") == HTML
    assert app.calls == 1


def test_entries_are_our_binary_format_with_an_expiry(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[("Cache-Control", "max-age=30"), ("Surrogate-Key", "t1 t2")])
    get(cache(app, redis_server))
    keys = entry_keys(client)
    assert len(keys) == 1
    value = client.get(keys[0])
    assert value.startswith(b"WMC\x01R"), value[:8]
    assert b"<p>Hello</p>" in value
    # Not a pickle (protocol 2+ starts with 0x80), whatever else it is.
    assert not value.startswith(b"\x80")
    assert 0 < client.pttl(keys[0]) <= 30_000
    # Every key this cache wrote expires: the entry, its path's and its tags' indexes.
    written = client.keys(b"*")
    tags, paths = client.keys(b"wsgi_mw:it:*"), client.keys(b"wsgi_mw:ip:*")
    assert len(tags) == 2 and len(paths) == 1
    for key in written:
        assert 0 < client.pttl(key) <= 30_000, key
    # An index member is scored by when its entry expires, in the server's clock (ms).
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    for index in [*tags, *paths]:
        ((member, score),) = client.zrange(index, 0, -1, withscores=True)
        assert member.startswith(keys[0].removeprefix(b"wsgi_mw:e:"))
        assert now_ms < score <= now_ms + 30_000


@pytest.mark.parametrize(
    "headers, environ",
    [
        ([("Set-Cookie", "session=secret-cookie")], {}),
        ([("Cache-Control", "private, max-age=60")], {}),
        ([("Cache-Control", "no-store")], {}),
        ([("Cache-Control", "no-cache")], {}),
        ([], {"HTTP_AUTHORIZATION": "Bearer secret-token"}),
        ([("Vary", "*")], {}),
    ],
)
def test_nothing_private_is_written(redis_server, headers, environ):
    client = redis_server.client()
    app = CountingApp(body=b"secret-body", headers=headers)
    mw = cache(app, redis_server)
    get(mw, **environ)
    get(mw, **environ)
    assert app.calls == 2
    for key in client.keys(b"*"):
        assert b"secret" not in key
        kind = client.type(key)
        if kind == b"string":
            assert b"secret" not in client.get(key)
        elif kind == b"set":
            assert all(b"secret" not in m for m in client.smembers(key))
    assert entry_keys(client) == []


def test_a_cookie_a_response_varies_on_is_never_written_in_the_clear(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[("Vary", "Cookie")])
    mw = cache(app, redis_server)
    get(mw, HTTP_COOKIE="theme=dark-secret-value")
    hit = get(mw, HTTP_COOKIE="theme=dark-secret-value")
    other = get(mw, HTTP_COOKIE="theme=light")
    assert header(hit.headers, "X-Cache") == "HIT"
    assert header(other.headers, "X-Cache") == "MISS"
    for key in client.keys(b"*"):
        assert b"dark-secret" not in key
        if client.type(key) == b"string":
            assert b"dark-secret" not in client.get(key)


def test_head_304_and_vary_variants_come_from_the_shared_store(redis_server):
    app = CountingApp(headers=[("ETag", '"v1"'), ("Vary", "Accept-Language")])
    one, two = cache(app, redis_server), cache(app, redis_server)
    get(one, HTTP_ACCEPT_LANGUAGE="fr")
    head = get(two, REQUEST_METHOD="HEAD", HTTP_ACCEPT_LANGUAGE="fr")
    assert head.status == "200 OK" and head.body == b""
    assert header(head.headers, "X-Cache") == "HIT"
    not_modified = get(two, HTTP_ACCEPT_LANGUAGE="fr", HTTP_IF_NONE_MATCH='"v1"')
    assert not_modified.status.startswith("304")
    assert header(not_modified.headers, "X-Cache") == "HIT"
    assert header(get(two, HTTP_ACCEPT_LANGUAGE="de").headers, "X-Cache") == "MISS"
    assert app.calls == 2


def test_an_unsafe_method_in_one_cache_invalidates_for_all(redis_server):
    app = CountingApp()
    one, two = cache(app, redis_server), cache(app, redis_server)
    get(one, "/post", QUERY_STRING="page=2")
    assert header(get(two, "/post", QUERY_STRING="page=2").headers, "X-Cache") == "HIT"
    get(two, "/post", QUERY_STRING="page=2", REQUEST_METHOD="POST")
    assert header(get(one, "/post", QUERY_STRING="page=2").headers, "X-Cache") == "MISS"


def test_purge_reaches_every_cache_sharing_the_store(redis_server):
    app = CountingApp()
    one, two = Cache(app, store=redis_server.url), Cache(app, store=redis_server.url)
    for query in ("", "a=1"):
        get(one, "/blog/post", QUERY_STRING=query)
        get(one, "/blog/post", QUERY_STRING=query, HTTP_HOST="other.example:8000")
    get(one, "/blog/other")
    assert two.purge("/blog/post", host="other.example") == 2
    assert (
        header(get(one, "/blog/post", HTTP_HOST="other.example:8000").headers, "X-Cache") == "MISS"
    )
    assert header(get(one, "/blog/post").headers, "X-Cache") == "HIT"
    assert two.purge("http://127.0.0.1/blog/post?ignored=1") == 2
    assert header(get(one, "/blog/post").headers, "X-Cache") == "MISS"
    assert header(get(one, "/blog/other").headers, "X-Cache") == "HIT"


def test_clear_removes_only_the_prefix_and_never_uses_keys_or_flushdb(redis_server):
    client = redis_server.client()
    client.set("someone-else:key", "kept")
    client.set("wsgi_mw_other:key", "kept")
    app = CountingApp()
    mine = Cache(app, store=redis_server.url)
    theirs = Cache(app, store=redis_server.url, key_prefix="theirs:")
    for path in ("/a", "/b", "/c"):
        get(mine, path)
        get(theirs, path)
    client.config_resetstat()
    mine.clear()
    stats = client.info("commandstats")
    assert "cmdstat_keys" not in stats and "cmdstat_flushdb" not in stats
    assert "cmdstat_flushall" not in stats
    assert stats["cmdstat_scan"]["calls"] >= 1
    assert client.keys(b"wsgi_mw:*") == []
    assert client.get("someone-else:key") == b"kept"
    assert client.get("wsgi_mw_other:key") == b"kept"
    assert header(get(theirs, "/a").headers, "X-Cache") == "HIT"
    assert header(get(mine, "/a").headers, "X-Cache") == "MISS"


def test_a_stampede_across_caches_calls_the_app_once(redis_server):
    app = CountingApp(delay=0.3)
    caches = [Cache(app, store=redis_server.url) for _ in range(2)]
    results = []
    barrier = threading.Barrier(6)

    environs = []

    def request(mw):
        environ = make_environ(PATH_INFO="/slow")
        environs.append(environ)
        barrier.wait()
        results.append(run(validator(mw), environ))

    threads = [threading.Thread(target=request, args=(caches[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = sorted(header(r.headers, "X-Cache") for r in results)
    assert app.calls == 1, (labels, [error_text(e) for e in environs])
    assert sorted(header(r.headers, "X-Cache") for r in results) == ["HIT"] * 5 + ["MISS"]
    assert all(r.body == b"<p>Hello</p>" for r in results)
    # The lock is released by compare-and-delete, not left to expire.
    assert redis_server.client().keys(b"wsgi_mw:l:*") == []


def test_fail_open_through_an_outage_then_recovery():
    server = RedisServer().start()
    try:
        app = CountingApp()
        mw = Cache(app, store=server.url, store_timeout=0.2)
        assert header(get(validator(mw)).headers, "X-Cache") == "MISS"
        assert header(get(validator(mw)).headers, "X-Cache") == "HIT"
        server.stop()
        environs = [make_environ() for _ in range(5)]
        for environ in environs:
            response = run(validator(mw), environ)
            assert response.status == "200 OK"
            assert response.body == b"<p>Hello</p>"
            assert header(response.headers, "X-Cache") == "BYPASS"
        lines = "".join(error_text(e) for e in environs).splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("wsgi_mw.Cache: the shared store is unreachable")
        assert mw.stats()["store_errors"] >= 1
        with pytest.raises(ConnectionError, match=r"Cache\.purge\(\)"):
            mw.purge("/")
        server.start()
        # The backoff after the first failure is 0.5 s, doubling: recovery within a few.
        deadline = time.monotonic() + 10
        label = None
        while time.monotonic() < deadline:
            label = header(get(validator(mw)).headers, "X-Cache")
            if label == "HIT" or label == "MISS":
                break
            time.sleep(0.1)
        assert label in ("HIT", "MISS")
        assert header(get(validator(mw)).headers, "X-Cache") == "HIT"
    finally:
        server.stop()


def test_an_unreachable_store_at_start_is_an_outage_like_any_other():
    port = free_port()  # nothing listens there
    app = CountingApp()
    mw = Cache(app, store=f"redis://127.0.0.1:{port}/0", store_timeout=0.1)
    environ = make_environ()
    response = run(validator(mw), environ)
    assert response.body == b"<p>Hello</p>"
    assert header(response.headers, "X-Cache") == "BYPASS"
    assert "wsgi_mw.Cache: the shared store is unreachable" in error_text(environ)


def test_foreign_values_under_the_prefix_are_misses_not_errors(redis_server):
    client = redis_server.client()
    app = CountingApp()
    mw = cache(app, redis_server)
    get(mw)
    (key,) = entry_keys(client)
    client.set(key, b"\x80\x04\x95garbage-pickle")
    assert header(get(mw).headers, "X-Cache") == "MISS"
    client.set(key, client.get(key)[:3])
    assert header(get(mw).headers, "X-Cache") == "MISS"
    assert app.calls == 3


@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"store": "http://localhost"}, ValueError, "store"),
        ({"store": "memcached://localhost"}, ValueError, "store"),
        ({"store": 6379}, TypeError, "store"),
        ({"store": "redis://localhost", "key_prefix": ""}, ValueError, "key_prefix"),
        ({"store": "redis://localhost", "key_prefix": "has space"}, ValueError, "key_prefix"),
        ({"store": "redis://localhost", "key_prefix": 3}, TypeError, "key_prefix"),
        ({"store": "redis://localhost", "store_timeout": 0}, ValueError, "store_timeout"),
        ({"store": "redis://localhost", "store_timeout": "1"}, TypeError, "store_timeout"),
        ({"store": "redis://localhost", "store_timeout": True}, TypeError, "store_timeout"),
    ],
)
def test_bad_store_options_name_the_parameter(options, error, words):
    with pytest.raises(error, match=words):
        Cache(CountingApp(), **options)


def test_store_options_are_readable():
    mw = Cache(CountingApp(), store="redis://127.0.0.1:1/2", key_prefix="site:", store_timeout=1)
    assert mw.store == "redis://127.0.0.1:1/2"
    assert mw.key_prefix == "site:"
    assert mw.store_timeout == 1.0
    assert "store='redis://127.0.0.1:1/2'" in repr(mw)
    plain = Cache(CountingApp())
    assert plain.store is None and plain.key_prefix == "wsgi_mw:" and plain.store_timeout == 0.25
    assert mw.stats()["entries"] is None


def test_entries_expire_after_their_lifetime_in_redis_and_in_the_cache(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[("Cache-Control", "max-age=1")])
    mw = cache(app, redis_server)
    get(mw)
    assert header(get(mw).headers, "X-Cache") == "HIT"
    time.sleep(1.2)
    assert header(get(mw).headers, "X-Cache") == "MISS"
    assert app.calls == 2
    time.sleep(1.2)
    # Redis dropped the entry itself (PX), not only the cache's freshness check.
    assert entry_keys(client) == []


# --------------------------------------------------------------------------- two workers


@pytest.fixture
def two_workers(redis_server, tmp_path):
    """gunicorn -w 2 (sync workers: one request at a time each, so while one renders, the
    other takes the next request) serving tests/cache_redis_app.py."""
    server, _ = gunicorn_on_redis(
        redis_server.url, tmp_path, "cache_redis_app", "--worker-class", "sync"
    )
    with server as url:
        yield url, redis_server.client()


def test_two_gunicorn_workers_share_the_store_purges_and_single_flight(two_workers):
    import concurrent.futures

    import requests

    url, client = two_workers
    # A stampede across both workers: the app is called once (the other worker waits on the
    # Redis lock, then reads the stored entry).
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: requests.get(f"{url}/slow", timeout=10), range(8)))
    assert {r.status_code for r in responses} == {200}
    assert {r.text for r in responses} == {"/slow call 1"}
    assert int(client.get("test-calls:/slow")) == 1
    assert len({r.headers["X-Worker"] for r in responses}) == 2, "both workers answered"
    assert sorted(r.headers["X-Cache"] for r in responses) == ["HIT"] * 7 + ["MISS"]

    # A page cached by one worker is a hit in both; a purge through either reaches both.
    seen = {}
    deadline = time.monotonic() + 20
    while len(seen) < 2 and time.monotonic() < deadline:
        r = requests.get(f"{url}/page", timeout=5, headers={"Connection": "close"})
        seen.setdefault(r.headers["X-Worker"], r.headers["X-Cache"])
    assert len(seen) == 2
    assert int(client.get("test-calls:/page")) == 1
    purged = requests.get(f"{url}/purge", timeout=5, headers={"Connection": "close"})
    assert purged.text == "1"
    after = []
    while len({r.headers["X-Worker"] for r in after}) < 2 and len(after) < 200:
        after.append(requests.get(f"{url}/page", timeout=5, headers={"Connection": "close"}))
    assert len({r.headers["X-Worker"] for r in after}) == 2
    assert [r.headers["X-Cache"] for r in after] == ["MISS"] + ["HIT"] * (len(after) - 1)
    assert {r.text for r in after} == {"/page call 2"}


# --------------------------------------------------------------------------- TLS


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    import subprocess

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=wsgi_mw test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


def test_rediss_stores_over_tls_and_verifies_the_server(tmp_path, monkeypatch):
    import shutil
    import subprocess

    ca, cert, key = make_certificates(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(ca),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(ca))
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server with TLS did not start"
                time.sleep(0.05)
        url = f"rediss://127.0.0.1:{port}/0"
        # Not trusted by the system's store: the certificate is refused, which is an
        # outage (fail open).
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        untrusted = Cache(CountingApp(), store=url, store_timeout=1)
        environ = make_environ()
        assert header(run(validator(untrusted), environ).headers, "X-Cache") == "BYPASS"
        assert "unreachable" in error_text(environ)
        assert client.keys(b"wsgi_mw:*") == []
        # Trusted through SSL_CERT_FILE, as for any rustls-native-certs client.
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        app = CountingApp()
        mw = Cache(app, store=url, store_timeout=1)
        assert header(get(validator(mw)).headers, "X-Cache") == "MISS"
        assert header(get(validator(mw)).headers, "X-Cache") == "HIT"
        assert app.calls == 1
        assert len(client.keys(b"wsgi_mw:e:*")) == 1
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_leader_that_died_lets_its_lock_expire(redis_server):
    client = redis_server.client()
    app = CountingApp()
    mw = Cache(app, store=redis_server.url, single_flight_timeout=5)
    get(validator(mw), "/orphan")  # learn the key digest this path uses
    (entry,) = entry_keys(client)
    client.delete(entry)
    lock = entry.replace(b"wsgi_mw:e:", b"wsgi_mw:l:")
    # A process that took the lock and died: nobody will release it.
    client.set(lock, "dead-leader", px=400)
    started = time.monotonic()
    response = get(validator(mw), "/orphan")
    waited = time.monotonic() - started
    assert header(response.headers, "X-Cache") == "MISS"
    assert app.calls == 2
    # It waited for the dead leader's lock to expire (0.4 s) before calling the app.
    assert waited >= 0.35, waited


def test_a_hit_of_a_variant_is_one_round_trip(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[("Vary", "Accept-Encoding")])
    mw = cache(app, redis_server)
    assert header(get(mw, HTTP_ACCEPT_ENCODING="gzip").headers, "X-Cache") == "MISS"
    assert header(get(mw, HTTP_ACCEPT_ENCODING="gzip").headers, "X-Cache") == "HIT"

    def commands():
        stats = client.info("commandstats")
        # Without this test's own CONFIG RESETSTAT and INFO.
        calls = {
            name: stat["calls"]
            for name, stat in stats.items()
            if not name.startswith(("cmdstat_config", "cmdstat_info"))
        }
        client.config_resetstat()
        return calls

    commands()
    hit = get(mw, HTTP_ACCEPT_ENCODING="gzip")
    assert header(hit.headers, "X-Cache") == "HIT"
    # One command: the URI's Vary record and the variant together.
    assert commands() == {"cmdstat_mget": 1}
    other = get(mw, HTTP_ACCEPT_ENCODING="br")
    assert header(other.headers, "X-Cache") == "MISS"
    assert app.calls == 2
    # A purge drops the URI's record: the kept Vary names do not make a stale hit.
    Cache(app, store=redis_server.url).purge("/")
    assert header(get(mw, HTTP_ACCEPT_ENCODING="gzip").headers, "X-Cache") == "MISS"


def test_an_invalidation_the_store_missed_is_reported_on_that_requests_errors():
    server = RedisServer().start()
    try:
        mw = Cache(CountingApp(), store=server.url, store_timeout=0.2)
        assert header(get(validator(mw), "/post").headers, "X-Cache") == "MISS"
        server.stop()
        environ = make_environ(PATH_INFO="/post", REQUEST_METHOD="POST")
        response = run(validator(mw), environ)
        assert response.status == "200 OK"
        assert "wsgi_mw.Cache: the shared store is unreachable" in error_text(environ)
    finally:
        server.stop()
