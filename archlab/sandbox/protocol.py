"""Length-prefixed frames over pipe file descriptors: JSON messages and raw byte blobs.

Workers talk to the parent on dedicated descriptors, not stdin/stdout, so a
candidate that prints cannot corrupt the channel. A frame is a 4-byte
big-endian length followed by that many bytes; a message is a frame of UTF-8
JSON. Bulk data (an evaluation's raw reply, a weights file) travels as its own
frame right after the message that announces its size. The standard library
suffices: a framing layer this small is clearer than a dependency.

`receive_frame` reads exactly one frame and never more, so whatever the peer
sent after it stays in the kernel's pipe buffer (the zygote relies on this: a
nonce sent right after a request is still unread when it forks).
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 2**20  # a reply with logits is a few hundred kB; anything near this is corruption


class ChannelClosed(EOFError):
    """The other end closed its descriptor (the process died or exited), or the channel is corrupt."""


class ChannelTimeout(TimeoutError):
    """No complete frame arrived before the deadline."""


def send(fd: int, message: dict) -> None:
    """Write one JSON message; raises ChannelClosed if the reader is gone."""
    send_frame(fd, json.dumps(message, separators=(",", ":")).encode())


def send_frame(fd: int, body: bytes) -> None:
    """Write one frame of raw bytes; raises ChannelClosed if the reader is gone."""
    if len(body) > MAX_MESSAGE:
        raise ChannelClosed(f"refusing to send a frame of {len(body)} bytes (limit {MAX_MESSAGE})")
    data = memoryview(HEADER.pack(len(body)) + body)
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except OSError as exc:
        raise ChannelClosed(f"channel closed while sending: {exc}") from None


def receive(fd: int, deadline: float | None = None) -> dict:
    """Read one JSON message; `deadline` is a `time.monotonic()` value (None waits forever)."""
    body = receive_frame(fd, deadline)
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ChannelClosed(f"corrupt channel: a message is not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise ChannelClosed("corrupt channel: a message is not a JSON object")
    return message


def receive_frame(fd: int, deadline: float | None = None, limit: int = MAX_MESSAGE) -> bytes:
    """Read one frame of at most `limit` bytes."""
    (length,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if length > limit:
        raise ChannelClosed(f"corrupt channel: frame of {length} bytes announced (limit {limit})")
    return _read_exact(fd, length, deadline)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChannelTimeout("no reply before the deadline")
        try:
            chunk = os.read(fd, min(remaining, 1 << 20))
        except OSError as exc:
            raise ChannelClosed(f"channel closed while reading: {exc}") from None
        if not chunk:
            raise ChannelClosed("channel closed by the other end")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
