"""permessage-deflate that compresses a large message once for every connection.

uvicorn compresses each WebSocket message on each connection: a snapshot-mode
message of 10,000 tasks (3 MB of JSON) costs about 13 ms of deflate per
dashboard, so 50 dashboards spend 650 ms of the event loop on the same bytes.
Here a message of at least :data:`SHARED_MIN` bytes is compressed with a fresh
compressor, which makes the output the same on every connection whose
parameters match, so the last one is kept and reused (a ``bytes`` comparison,
about 0.1 ms per MB, tells it is the same message).

A fresh compressor refers to nothing sent before, which the client's
decompressor accepts whether or not context takeover was negotiated; where it
was, the connection's compressor starts afresh after such a message too, so
later messages never refer to bytes the client's window did not get from it.
Smaller messages (deltas) keep the connection's own context as before.

:class:`WebSocketProtocol` is uvicorn's default WebSocket protocol with this
extension in place of websockets' own; ``progressista serve`` uses it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.base import Extension, ServerExtensionFactory
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.typing import ExtensionParameter

__all__ = ["SHARED", "SHARED_MIN", "Shared", "SharedDeflate", "SharedDeflateFactory", "WebSocketProtocol"]

#: Messages at least this long (bytes, before compression) are compressed once for all connections.
SHARED_MIN = 64 * 1024

_EMPTY_BLOCK = b"\x00\x00\xff\xff"  # ends a sync flush; RFC 7692 drops it from the message


class Shared:
    """The last large message compressed, for the next connection that sends it; counts what it did."""

    def __init__(self) -> None:
        self._last: tuple[bytes, int, tuple[tuple[Any, Any], ...], bytes] | None = None
        self.made = 0  # messages compressed
        self.reused = 0  # sends that took the last one's compression

    def compressed(self, data: bytes, window_bits: int, settings: dict[Any, Any]) -> bytes:
        """``data`` as one permessage-deflate message from a fresh compressor; the last answer is reused.

        >>> shared, message = Shared(), b'{"tasks":{}}' * 10_000
        >>> shared.compressed(message, 12, {}) is shared.compressed(bytes(message), 12, {}), shared.made, shared.reused
        (True, 1, 1)
        >>> zlib.decompressobj(wbits=-12).decompress(shared.compressed(message, 12, {}) + _EMPTY_BLOCK) == message
        True
        >>> _ = shared.compressed(message, 15, {}); shared.made  # other parameters: compressed again
        2
        """
        options = tuple(sorted(settings.items()))
        last = self._last
        if last is not None and last[1] == window_bits and last[2] == options and last[0] == data:
            self.reused += 1
            return last[3]
        encoder = zlib.compressobj(wbits=-window_bits, **settings)
        out = encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(_EMPTY_BLOCK)
        self._last = (data, window_bits, options, out[:-4])
        self.made += 1
        return self._last[3]


#: The process's one cache: every connection of a server shares it (one event loop, no locking needed).
SHARED = Shared()


class SharedDeflate(PerMessageDeflate):
    """websockets' permessage-deflate, compressing large messages once, through :data:`SHARED`."""

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode not in (Opcode.TEXT, Opcode.BINARY) or not frame.fin or len(frame.data) < SHARED_MIN:
            return super().encode(frame)  # control frames, fragments and small messages: as before
        data = SHARED.compressed(bytes(frame.data), self.local_max_window_bits, self.compress_settings)
        if not self.local_no_context_takeover:
            # What follows must not refer to bytes the client's window holds from another compressor.
            self.encoder = zlib.compressobj(wbits=-self.local_max_window_bits, **self.compress_settings)
        return Frame(frame.opcode, data, True, True, frame.rsv2, frame.rsv3)


class SharedDeflateFactory(ServerPerMessageDeflateFactory):
    """Negotiates as websockets' factory does; the extension it makes is a :class:`SharedDeflate`."""

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, made = super().process_request_params(params, accepted_extensions)
        return response, SharedDeflate(
            made.remote_no_context_takeover,
            made.local_no_context_takeover,
            made.remote_max_window_bits,
            made.local_max_window_bits,
            made.compress_settings,
        )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol; its permessage-deflate offer (same settings) is a :class:`SharedDeflateFactory`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn.available_extensions = [_shared(factory) for factory in self.conn.available_extensions or ()]


def _shared(factory: ServerExtensionFactory) -> ServerExtensionFactory:
    if type(factory) is not ServerPerMessageDeflateFactory:
        return factory
    return SharedDeflateFactory(
        server_no_context_takeover=factory.server_no_context_takeover,
        client_no_context_takeover=factory.client_no_context_takeover,
        server_max_window_bits=factory.server_max_window_bits,
        client_max_window_bits=factory.client_max_window_bits,
        compress_settings=factory.compress_settings,
        require_client_max_window_bits=factory.require_client_max_window_bits,
    )
