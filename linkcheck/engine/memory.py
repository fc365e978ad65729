"""Memory during a long run: freed heap given back to the system (glibc's ``malloc_trim``)
and the cyclic garbage collector run rarely.

A run keeps every URL's outcome while reading bodies and TLS records by the
megabyte; the freed buffers sit between long-lived objects, and glibc keeps such
memory rather than returning it. Measured on the benchmark's 20,000 seeds, peak
RSS is 262 MB without trimming and 209 MB with a trim every two seconds, for no
measurable CPU (a fixed ``M_MMAP_THRESHOLD`` gave the same RSS for ~25% more CPU).
Elsewhere (musl, macOS) there is nothing to call and nothing is done.

The cyclic collector's default thresholds (a young collection per 700 new container
objects) cost a run 12% of its CPU at 100,000 seeds: 20,337 collections, 105 of them
full, each full one walking every outcome kept so far (52 of 418 s). The run's objects
are freed by reference counting as they go; few form cycles. With a young collection
per 50,000 objects, 20,000 seeds took 17 collections (0.44 s, against 4,856 and
7.8 s) for the same peak RSS.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import contextlib
import ctypes
import functools
import gc
import sys
from collections.abc import Callable, Iterator

#: Seconds between trims.
TRIM_SECONDS = 2.0
#: The collector's thresholds during a run (the interpreter's default is 700, 10, 10).
RUN_GC_THRESHOLDS = (50_000, 20, 100)
#: Bytes of each TLS connection's socket read buffer (asyncio's default is 256 KiB).
TLS_READ_BUFFER = 64 * 1024


@contextlib.contextmanager
def collecting_rarely() -> Iterator[None]:
    """Run the cyclic garbage collector at :data:`RUN_GC_THRESHOLDS` inside, as before after."""
    before = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def small_tls_buffers() -> None:
    """Give each TLS connection a :data:`TLS_READ_BUFFER` socket read buffer.

    asyncio allocates its 256 KiB buffer (``SSLProtocol.max_size``) per connection and
    zeroes it, so all of it is resident, and a run keeps hundreds of connections open.
    At 20,000 seeds peak RSS went from 202 to 162 MB, the CPU time unchanged: a body is
    read in more, smaller reads, and linkcheck reads few bytes of each. This sets a
    class attribute, so only processes that are linkcheck's own call it (the command
    and its workers), never a library caller's.
    """
    protocol = asyncio.sslproto.SSLProtocol
    if getattr(protocol, "max_size", 0) > TLS_READ_BUFFER:
        protocol.max_size = TLS_READ_BUFFER


@functools.cache
def trimmer() -> Callable[[], None] | None:
    """What returns free heap memory to the system, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter already uses
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def release() -> None:
        trim(0)

    return release


async def trim_regularly() -> None:
    """Trim every :data:`TRIM_SECONDS` until cancelled; at once done where nothing trims."""
    trim = trimmer()
    if trim is None:
        return
    while True:
        await asyncio.sleep(TRIM_SECONDS)
        trim()
