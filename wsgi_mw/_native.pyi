"""Type stubs for the compiled module ``wsgi_mw._native`` (the public API is re-exported by
``wsgi_mw``)."""

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Literal, Protocol, TypedDict, TypeVar, final

from typing_extensions import Self, TypeAlias

__all__ = [
    "Cache",
    "Compress",
    "Gzip",
    "Logger",
    "Rewrite",
    "RouteDecorator",
    "Router",
    "Static",
    "__version__",
    "fusion_enabled",
    "set_fusion",
]
__version__: str

def set_fusion(enabled: bool) -> None:
    """Fuse nested wsgi_mw layers into one pipeline per request (the default), or call each
    layer through Python as a separate WSGI hop (``False``: for A/B runs and bisecting).
    Applies to requests that start from now on. ``WSGI_MW_FUSION=0`` in the environment
    turns it off at import."""

def fusion_enabled() -> bool:
    """Whether nested wsgi_mw layers run fused (see ``set_fusion``)."""

_StartResponse: TypeAlias = Callable[..., Callable[[bytes], object]]
_WSGIApp: TypeAlias = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]
_Text: TypeAlias = str | bytes
# An ordered collection of pairs (a set is rejected: order decides which identical pattern wins).
_Rules: TypeAlias = (
    Mapping[_Text, _Text] | Sequence[tuple[_Text, _Text]] | Iterable[tuple[_Text, _Text]]
)

class _CacheStats(TypedDict):
    """What :meth:`Cache.stats` returns."""

    hits: int
    misses: int
    bypasses: int
    stores: int
    evictions: int
    entries: int | None
    bytes: int | None
    store_errors: int
    stale: int
    refused_records: int

@final
class Cache:
    """An RFC 9111 shared cache for WSGI apps, in memory or on Redis: single-flight, hits without copying the stored body."""

    def __new__(
        cls,
        app: _WSGIApp,
        *,
        store: str | None = None,
        key_prefix: str = "wsgi_mw:",
        store_timeout: float = 0.25,
        stale_while_revalidate: int = 0,
        stale_if_error: int = 0,
        tag_header: str | None = "Surrogate-Key",
        max_bytes: int = 67108864,
        max_entry_bytes: int = 1048576,
        default_ttl: int = 60,
        statuses: Iterable[int] | None = (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501),
        status_header: str | None = "X-Cache",
        single_flight: bool = True,
        single_flight_timeout: float = 10.0,
        request_directives: Literal["ignore", "honor"] = "ignore",
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    def purge(self, url_or_path: str, *, host: str | None = None) -> int: ...
    def purge_tag(self, tag: str) -> int: ...
    def clear(self) -> None: ...
    def stats(self) -> _CacheStats: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def store(self) -> str | None: ...
    @property
    def key_prefix(self) -> str: ...
    @property
    def store_timeout(self) -> float: ...
    @property
    def max_bytes(self) -> int: ...
    @property
    def max_entry_bytes(self) -> int: ...
    @property
    def default_ttl(self) -> int: ...
    @property
    def statuses(self) -> tuple[int, ...]: ...
    @property
    def status_header(self) -> str | None: ...
    @property
    def single_flight(self) -> bool: ...
    @property
    def single_flight_timeout(self) -> float: ...
    @property
    def request_directives(self) -> Literal["ignore", "honor"]: ...
    @property
    def tag_header(self) -> str | None: ...
    @property
    def stale_while_revalidate(self) -> int: ...
    @property
    def stale_if_error(self) -> int: ...

@final
class Compress:
    """Compress WSGI responses with zstd, brotli or gzip, whichever the client prefers."""

    DEFAULT_CONTENT_TYPES: tuple[str, ...]

    def __new__(
        cls,
        app: _WSGIApp,
        *,
        encodings: Iterable[Literal["zstd", "br", "gzip"]] = ("zstd", "br", "gzip"),
        min_size: int = 500,
        gzip_level: int = 6,
        brotli_quality: int = 4,
        zstd_level: int = 3,
        content_types: Iterable[str] | None = None,
        stream_types: Iterable[str] | None = None,
        breach_padding: int = 0,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def encodings(self) -> list[str]: ...
    @property
    def min_size(self) -> int: ...
    @property
    def gzip_level(self) -> int: ...
    @property
    def brotli_quality(self) -> int: ...
    @property
    def zstd_level(self) -> int: ...
    @property
    def content_types(self) -> list[str]: ...
    @property
    def stream_types(self) -> list[str]: ...
    @property
    def breach_padding(self) -> int: ...

@final
class Gzip:
    """Compress WSGI responses with gzip when the client accepts it, streaming, off the GIL."""

    DEFAULT_CONTENT_TYPES: tuple[str, ...]

    def __new__(
        cls,
        app: _WSGIApp,
        *,
        level: int = 6,
        min_size: int = 500,
        content_types: Iterable[str] | None = None,
        stream_types: Iterable[str] | None = None,
        breach_padding: int = 0,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def level(self) -> int: ...
    @property
    def min_size(self) -> int: ...
    @property
    def content_types(self) -> list[str]: ...
    @property
    def stream_types(self) -> list[str]: ...
    @property
    def breach_padding(self) -> int: ...

class _LogFields(TypedDict, total=False):
    """What a callable ``Logger`` sink receives for each request (``request_id`` only when the
    request or the response has an ``X-Request-ID``)."""

    time: str
    remote_addr: str | None
    method: str | None
    path: str
    query: str
    protocol: str | None
    status: int | None
    bytes: int
    duration_us: int
    referer: str | None
    user_agent: str | None
    route: str | None
    request_id: str

class _TextStream(Protocol):
    def write(self, text: str, /) -> object: ...

_LogSink: TypeAlias = (
    logging.Logger | str | os.PathLike[str] | _TextStream | Callable[[_LogFields], object] | None
)
_Proxy: TypeAlias = str | IPv4Address | IPv6Address | IPv4Network | IPv6Network

@final
class Logger:
    """Access logs (Apache common/combined, any LogFormat, JSON lines) written when the
    response really ended."""

    def __new__(
        cls,
        app: _WSGIApp,
        *,
        format: Literal["combined", "common", "json"] | str = "combined",
        sink: _LogSink = None,
        trusted_proxies: Iterable[_Proxy] = (),
        level: int | str = 20,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    def flush(self) -> None: ...
    def reopen(self) -> None: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def format(self) -> str: ...
    @property
    def sink(self) -> _LogSink: ...
    @property
    def trusted_proxies(self) -> tuple[str, ...]: ...
    @property
    def level(self) -> int: ...

@final
class Rewrite:
    """Replace text in WSGI response bodies, literal or regex, streaming."""

    DEFAULT_CONTENT_TYPES: tuple[str, ...]

    def __new__(
        cls,
        app: _WSGIApp,
        rules: _Rules,
        *,
        regex: bool = False,
        content_types: Iterable[str] | None = None,
        max_buffer: int = 8388608,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def rules(self) -> tuple[tuple[_Text, _Text], ...]: ...
    @property
    def regex(self) -> bool: ...
    @property
    def content_types(self) -> list[str]: ...
    @property
    def max_buffer(self) -> int: ...

@final
class Router:
    """Method + path dispatch to WSGI apps, with prefix mounts (Werkzeug-grade matching)."""

    def __new__(
        cls,
        routes: Iterable[tuple[str | Iterable[str], str, _WSGIApp]] | None = None,
        *,
        default: _WSGIApp | None = None,
        redirect_slashes: bool = True,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    def add(
        self,
        methods: str | Iterable[str],
        path: str,
        app: _WSGIApp,
        *,
        name: str | None = None,
    ) -> None: ...
    def route(
        self, path: str, *, methods: str | Iterable[str] | None = None, name: str | None = None
    ) -> RouteDecorator: ...
    def mount(self, prefix: str, app: _WSGIApp) -> None: ...
    def url_for(self, name: str, /, **params: object) -> str: ...
    def __len__(self) -> int: ...
    @property
    def default(self) -> _WSGIApp | None: ...
    @property
    def redirect_slashes(self) -> bool: ...

@final
class Static:
    """Serve static files from Rust: precompressed siblings, ranges, validators, far-future
    caching for hashed names, and everything else passed to the app."""

    def __new__(
        cls,
        app: _WSGIApp,
        root: str | os.PathLike[str],
        *,
        prefix: str = "/static/",
        max_age: int = 60,
        immutable_max_age: int = 31536000,
        index_file: bool = False,
        autorefresh: bool = False,
        encodings: Iterable[Literal["zstd", "br", "gzip"]] = ("zstd", "br", "gzip"),
        mimetypes: dict[str, str] | None = None,
        max_files: int = 1000000,
    ) -> Self: ...
    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def root(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def max_age(self) -> int: ...
    @property
    def immutable_max_age(self) -> int: ...
    @property
    def index_file(self) -> bool: ...
    @property
    def autorefresh(self) -> bool: ...
    @property
    def encodings(self) -> list[str]: ...
    @property
    def mimetypes(self) -> dict[str, str]: ...
    @property
    def max_files(self) -> int: ...
    @property
    def files(self) -> int | None: ...

_F = TypeVar("_F", bound=_WSGIApp)

@final
class RouteDecorator:
    """What :meth:`Router.route` returns: adds the decorated app and returns it unchanged."""

    def __call__(self, app: _F) -> _F: ...
