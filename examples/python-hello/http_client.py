"""A small blocking HTTP client over `wasi:http/outgoing-handler`, for a connector.

componentize-py's examples send requests with an asyncio event loop (`poll_loop.py`) built on
`wasi:io/poll`. A connector makes one or two requests per call and has nothing else to do
meanwhile, so this client blocks instead: it waits on a request's pollable with
`Pollable.block()` and reads and writes streams with their `blocking_*` calls.

The host lets a connector reach only the hosts its operator listed (`allowed_hosts`); a
refused destination fails with `HttpError(refused=True)`.

Naming trap: the world imports two interfaces called `types` (the contract's and
`wasi:http/types`), so componentize-py names the generated modules
`wit_world.imports.switchboard_connector_types` and `wit_world.imports.wasi_http_types`, and
the `poll_loop.py` that `componentize-py bindings` writes (which imports
`wit_world.imports.types`) does not import in this world.
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.wasi_http_types import (
    ErrorCode_HttpRequestDenied,
    ErrorCode_InternalError,
    Fields,
    IncomingBody,
    Method_Delete,
    Method_Get,
    Method_Other,
    Method_Patch,
    Method_Post,
    Method_Put,
    OutgoingBody,
    OutgoingRequest,
    Scheme_Http,
    Scheme_Https,
)

# `blocking-write-and-flush` takes at most 4096 bytes at a time.
_WRITE_CHUNK = 4096
_READ_CHUNK = 16 * 1024

_METHODS = {
    "GET": Method_Get(),
    "POST": Method_Post(),
    "PUT": Method_Put(),
    "PATCH": Method_Patch(),
    "DELETE": Method_Delete(),
}


class HttpError(Exception):
    """The request failed before a response arrived; `refused` if the host refused it."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass
class Response:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes


def _error(code) -> HttpError:
    """The host reports a destination outside `allowed_hosts` as `internal-error` naming it."""
    if isinstance(code, ErrorCode_HttpRequestDenied):
        return HttpError("the host denied the destination", refused=True)
    if isinstance(code, ErrorCode_InternalError) and code.value and "allowed_hosts" in code.value:
        return HttpError(code.value, refused=True)
    return HttpError(f"request failed: {code}")


def request(method: str, url: str, headers: List[Tuple[str, str]], body: bytes = b"") -> Response:
    """Sends one request and reads the whole response."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpError(f"not an http(s) URL: {url}")
    fields = [(name.lower(), value.encode()) for name, value in headers]
    # A known length rather than chunked transfer: some provider APIs refuse chunked bodies.
    if body and not any(name == "content-length" for name, _ in fields):
        fields.append(("content-length", str(len(body)).encode()))

    outgoing = OutgoingRequest(Fields.from_list(fields))
    outgoing.set_method(_METHODS.get(method.upper()) or Method_Other(method.upper()))
    outgoing.set_scheme(Scheme_Https() if parts.scheme == "https" else Scheme_Http())
    outgoing.set_authority(parts.netloc)
    outgoing.set_path_with_query(parts.path + ("?" + parts.query if parts.query else "") or "/")
    outgoing_body = outgoing.body()

    # Hand the request to the host first, then write the body: the host reads the body while
    # it sends, so a body larger than the stream's buffer cannot block forever.
    try:
        future = outgoing_handler.handle(outgoing, None)
    except Err as e:
        raise _error(e.value) from None
    if body:
        stream = outgoing_body.write()
        try:
            for start in range(0, len(body), _WRITE_CHUNK):
                stream.blocking_write_and_flush(body[start:start + _WRITE_CHUNK])
        except Err as e:
            raise HttpError(f"the request body could not be sent: {e.value}") from None
        finally:
            stream.__exit__(None, None, None)  # a stream is dropped before its body
    OutgoingBody.finish(outgoing_body, None)

    # Wait for the response head.
    while (answer := future.get()) is None:
        pollable = future.subscribe()
        pollable.block()
        pollable.__exit__(None, None, None)
    if isinstance(answer, Err):
        raise HttpError("the response was already taken")
    if isinstance(answer.value, Err):
        raise _error(answer.value.value)
    response = answer.value.value
    try:
        status = response.status()
        header_fields = response.headers()
        response_headers = [(n, v.decode("utf-8", "replace")) for n, v in header_fields.entries()]
        header_fields.__exit__(None, None, None)
        return Response(status, response_headers, _read_body(response.consume()))
    finally:
        response.__exit__(None, None, None)
        future.__exit__(None, None, None)


def _read_body(incoming: IncomingBody) -> bytes:
    stream = incoming.stream()
    chunks = []
    try:
        while True:
            try:
                chunks.append(stream.blocking_read(_READ_CHUNK))
            except Err as e:
                if isinstance(e.value, StreamError_Closed):
                    break  # the end of the body
                raise HttpError(f"the response body could not be read: {e.value}") from None
    finally:
        stream.__exit__(None, None, None)  # the stream before its body
    IncomingBody.finish(incoming).__exit__(None, None, None)
    return b"".join(chunks)
