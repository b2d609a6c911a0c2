"""The Django-free computational core: plain Python and numpy.

Everything here takes arrays or dataclasses and returns them. Nothing imports
Django, and the tests of this package need no database.

Importing it turns off numpy's transparent-huge-page advice for large arrays (unless
``NUMPY_MADVISE_HUGEPAGE`` says otherwise): the core writes its outputs a chunk at a time,
and on the virtual machines Kanat runs on, zeroing a fresh 2 MB page at each first touch
cost more than the page-table savings (measured: the fleet forecast's core 1.8-2.5 s
instead of 3.6 s in a fresh process; docs/benchmarks.md).

It also asks glibc's allocator (where it is the allocator) to keep the memory numpy frees:
blocks up to 32 MB come from the heap instead of fresh mappings, and up to 512 MB of free
heap is kept rather than handed back. The core's temporaries are a few hundred kB each,
made and freed thousands of times; by default each became a new mapping whose pages were
faulted in and zeroed again (measured: a fleet's counter queries took twice as long).
``KANAT_MALLOC_TUNING=0`` leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import numpy as np

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> bool:
    """mallopt(3): heap blocks up to 32 MB, 512 MB of free heap kept. True when set."""
    if not sys.platform.startswith("linux") or os.environ.get("KANAT_MALLOC_TUNING") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 512 << 20)
    )


MALLOC_TUNED = _keep_freed_memory()

if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
    _set = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    if _set is not None:
        _set(False)
