"""Server-to-client WebSocket text frames (RFC 6455 section 5.2), built once per message.

The hub writes the same bytes to every subscriber's transport instead of having the
`websockets` protocol object frame each copy: with 200 subscribers that framing, a
lock and a task switch per copy were most of a fan-out's cost. Server frames are never
masked, and Sanic negotiates no extensions (no permessage-deflate), so a frame is a
fixed header and the payload; `tests/http/test_wsframe.py` holds it to `websockets`'
own serializer.
"""

from __future__ import annotations

FIN_TEXT = 0x81
"""FIN set, no RSV bits, opcode 1 (text)."""


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame carrying `payload` (UTF-8 JSON).

    A new bytes object of exactly the frame's size: orjson hands out its output in a
    buffer of at least 4 KiB, so keeping the frame instead of orjson's bytes (the hub
    keeps 2000 messages a topic) saves ~4 KiB a message."""
    size = len(payload)
    if size < 126:
        return bytes((FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return bytes((FIN_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((FIN_TEXT, 127)) + size.to_bytes(8, "big") + payload
