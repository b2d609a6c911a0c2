"""Formatting a long text on several cores: pieces after the first are formatted by
forked child processes into temporary files while this process formats the first.

For command-line runs only (``kanat forecast``): a forked web-server worker would
inherit its threads and connections. The children never touch the database; they exit
with ``os._exit`` so nothing of the parent (connections, buffers) is closed or flushed
twice.
"""

from __future__ import annotations

import io
import os
import tempfile
import traceback
from collections.abc import Callable, Iterator

import numpy as np

#: below this many items a second process costs more than it saves
MIN_ITEMS_PER_PROCESS = 100_000
READ_SIZE = 1 << 22


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def forked_text(
    order: np.ndarray,
    produce: Callable[[np.ndarray], Iterator[str]],
    *,
    processes: int,
    sep: str = "",
) -> Iterator[str]:
    """The text of ``produce`` over consecutive pieces of ``order``, joined by ``sep``,
    exactly as one process would write it."""
    pieces = min(processes, order.shape[0] // MIN_ITEMS_PER_PROCESS)
    if pieces <= 1 or not hasattr(os, "fork"):
        yield from produce(order)
        return
    parts = np.array_split(order, pieces)
    children: list[tuple[int, io.BufferedRandom]] = []
    try:
        for part in parts[1:]:
            spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally)
            pid = os.fork()
            if pid == 0:  # the child: format its piece, then leave without cleanup
                code = 0
                try:
                    with open(spool.fileno(), "w", encoding="utf-8", closefd=False) as out:
                        for text in produce(part):
                            out.write(text)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            children.append((pid, spool))
        yield from produce(parts[0])
        for pid, spool in children:
            _, status = os.waitpid(pid, 0)
            if status != 0:
                raise RuntimeError(f"the formatting process {pid} failed (status {status})")
            yield sep
            spool.seek(0)
            reader = io.TextIOWrapper(spool, encoding="utf-8")
            while text := reader.read(READ_SIZE):
                yield text
            reader.detach()
    finally:
        for pid, spool in children:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            spool.close()
