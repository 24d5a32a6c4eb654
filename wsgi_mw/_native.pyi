"""Type stubs for the compiled module ``wsgi_mw._native`` (the public API is re-exported by
``wsgi_mw``)."""

from types import TracebackType
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, Union

__version__: str

_ExcInfo = Tuple[Type[BaseException], BaseException, Optional[TracebackType]]
_StartResponse = Callable[..., Callable[[bytes], object]]
_WSGIApp = Callable[[Dict[str, Any], _StartResponse], Iterable[bytes]]
_Text = Union[str, bytes]
# An ordered collection of pairs (a set is rejected: order decides which identical pattern wins).
_Rules = Union[Mapping[_Text, _Text], Sequence[Tuple[_Text, _Text]], Iterable[Tuple[_Text, _Text]]]

class Rewrite:
    """Replace text in WSGI response bodies, literal or regex, streaming."""

    def __new__(
        cls,
        app: _WSGIApp,
        rules: _Rules,
        *,
        regex: bool = False,
        content_types: Optional[Iterable[str]] = None,
        max_buffer: int = 8388608,
    ) -> "Rewrite": ...
    def __call__(self, environ: Dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]: ...
    @property
    def app(self) -> _WSGIApp: ...
    @property
    def rules(self) -> Tuple[Tuple[_Text, _Text], ...]: ...
    @property
    def regex(self) -> bool: ...
    @property
    def content_types(self) -> List[str]: ...
    @property
    def max_buffer(self) -> int: ...

class StartResponse:
    """The ``start_response`` a wsgi_mw middleware passes to the app it wraps."""

    def __call__(
        self, status: str, headers: List[Tuple[str, str]], exc_info: Optional[_ExcInfo] = None
    ) -> "Write": ...

class Write:
    """The ``write()`` callable returned by :class:`StartResponse`."""

    def __call__(self, data: bytes) -> None: ...

class ResponseIterator(Iterator[bytes]):
    """The iterable a wsgi_mw middleware returns when it stays in the response loop."""

    def __iter__(self) -> "ResponseIterator": ...
    def __next__(self) -> bytes: ...
    def close(self) -> None: ...
