"""keep_freed_memory: glibc keeps request-sized buffers in the heap instead of mapping them anew every call."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from sightings.core import memory
from sightings.core.memory import keep_freed_memory

# A child process: first the state the server was in (a small, fixed mmap threshold: every 4-MB buffer is mapped and
# unmapped, so each of its pages faults again), then keep_freed_memory; prints the page faults per buffer for both.
_CHILD = textwrap.dedent(
    """
    import ctypes, resource
    import numpy as np
    from sightings.core.memory import keep_freed_memory

    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-3, 128 * 1024) == 1  # M_MMAP_THRESHOLD: 128 KiB, adaptive threshold off

    def faults_per_buffer(n=40):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(n):
            buf = np.empty(4 << 20, np.uint8)
            buf[::4096] = 1  # touch every page
            del buf
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n

    faults_per_buffer(2)
    small = faults_per_buffer()
    assert keep_freed_memory()
    faults_per_buffer(2)
    print(small, faults_per_buffer())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_buffers_are_reused_not_faulted_in_again() -> None:
    # NumPy asks for transparent huge pages on large buffers; where one is granted (it depends on where the
    # mapping lands) a 4-MB buffer faults in 2 pages, not 1024, and "mapped afresh" cannot be told from "reused"
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "0"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60, check=True, env=env
    )
    before, after = (float(v) for v in out.stdout.split())
    assert before > 100  # each 4-MB buffer mapped afresh: hundreds of faults (~510 here)
    assert after < before / 10


def test_rejects_inconsistent_thresholds() -> None:
    with pytest.raises(ValueError, match="mmap_threshold"):
        keep_freed_memory(mmap_threshold=64 << 20, trim_threshold=32 << 20)
    with pytest.raises(ValueError):
        keep_freed_memory(mmap_threshold=0)


def test_off_linux_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert keep_freed_memory() is False
