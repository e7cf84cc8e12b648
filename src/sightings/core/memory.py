"""Allocator settings for long-running servers: keep freed working buffers instead of mapping them afresh.

RootSIFT's scale space is ~10 MB of 1-MB float images per extraction, the detector and the image kernels allocate
buffers of the same order, and a server does this on every request. glibc adapts its thresholds to what a process
allocated before. In the API server the result was that these buffers were mapped and unmapped (``mmap``/``munmap``)
at every call, so every page was faulted in and zeroed again. Measured on this 2-core machine (docs/wildlife.md):

* about 3,000 minor page faults per RootSIFT extraction once the animal detector's interpreter had been created, and
  13.7 ms per extraction instead of 8.2 ms;
* about 90,000 page faults a second in the server under 20 clients; fixing the thresholds saved about 2.8 ms of CPU
  per two-stage request (35.3 and 36.0 ms → 33.1 and 32.5 ms in interleaved runs).

:func:`keep_freed_memory` fixes both thresholds (``mallopt``), so buffers below ``mmap_threshold`` come from the heap
and freed memory is handed back only above ``trim_threshold``. It is the same setting as
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…:glibc.malloc.trim_threshold=…``, done from inside the process. The cost
is memory: each allocator arena may keep up to ``trim_threshold`` of free memory instead of returning it at once.
The answers do not change.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

__all__ = ["keep_freed_memory"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_MIB = 1 << 20


def keep_freed_memory(*, mmap_threshold: int = 32 * _MIB, trim_threshold: int = 64 * _MIB) -> bool:
    """Fix glibc's mmap and trim thresholds for this process; ``True`` when they were set.

    ``False`` (and nothing changes) off Linux/glibc, e.g. on macOS or musl. glibc caps the mmap threshold at 32 MiB
    on 64-bit systems. Call it once, early, in a server process.
    """
    if not 0 < mmap_threshold <= trim_threshold:
        raise ValueError(f"need 0 < mmap_threshold <= trim_threshold, got {mmap_threshold}, {trim_threshold}")
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # glibc only: musl's mallopt does nothing
    except (OSError, AttributeError):
        log.debug("no glibc mallopt in %s: allocator thresholds left as they are", name)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    gnu_get_libc_version.restype = ctypes.c_char_p
    ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1)
    ok = ok and bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1)
    if not ok:
        log.warning("glibc %s refused the allocator thresholds", gnu_get_libc_version().decode())
    return ok
