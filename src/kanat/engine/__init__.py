"""The Django-free computational core: plain Python and numpy.

Everything here takes arrays or dataclasses and returns them. Nothing imports
Django, and the tests of this package need no database.

Importing it turns off numpy's transparent-huge-page advice for large arrays (unless
``NUMPY_MADVISE_HUGEPAGE`` says otherwise): the core writes its outputs a chunk at a time,
and on the virtual machines Kanat runs on, zeroing a fresh 2 MB page at each first touch
cost more than the page-table savings (measured: the fleet forecast's core 1.8-2.5 s
instead of 3.6 s in a fresh process; docs/benchmarks.md).
"""

from __future__ import annotations

import os

import numpy as np

if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
    _set = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    if _set is not None:
        _set(False)
