"""Length-prefixed JSON messages over a pair of pipe file descriptors.

Workers talk to the parent on dedicated descriptors, not stdin/stdout, so a
candidate that prints cannot corrupt the channel. A message is a 4-byte
big-endian length followed by that many bytes of UTF-8 JSON. The standard
library suffices: a framing layer this small is clearer than a dependency.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 2**20  # a Result with a long curve is a few kB; anything near this is corruption


class ChannelClosed(EOFError):
    """The other end closed its descriptor (the process died or exited)."""


class ChannelTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


def send(fd: int, message: dict) -> None:
    """Write one message; raises ChannelClosed if the reader is gone."""
    body = json.dumps(message, separators=(",", ":")).encode()
    data = HEADER.pack(len(body)) + body
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    except (BrokenPipeError, OSError) as exc:
        raise ChannelClosed(f"channel closed while sending: {exc}") from None


def receive(fd: int, deadline: float | None = None) -> dict:
    """Read one message; `deadline` is a `time.monotonic()` value (None waits forever)."""
    (length,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if length > MAX_MESSAGE:
        raise ChannelClosed(f"corrupt channel: message of {length} bytes announced")
    return json.loads(_read_exact(fd, length, deadline))


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
