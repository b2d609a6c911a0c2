"""Formatting on several processes writes exactly what one process writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kanat.maintenance import parallel


def produce(part: np.ndarray):
    for begin in range(0, part.shape[0], 7):
        if begin:
            yield ",\n"
        yield ",\n".join(json.dumps({"i": int(i)}) for i in part[begin : begin + 7])


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_forked_text_is_the_single_process_text(monkeypatch, processes):
    monkeypatch.setattr(parallel, "MIN_ITEMS_PER_PROCESS", 10)
    order = np.arange(95, dtype=np.int64)[::-1]
    one = "".join(produce(order))
    many = "".join(parallel.forked_text(order, produce, processes=processes, sep=",\n"))
    assert many == one
    assert [x["i"] for x in json.loads("[" + many + "]")] == order.tolist()


def test_a_failing_child_is_an_error_not_a_short_text(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ITEMS_PER_PROCESS", 10)
    first = np.arange(50)

    def boom(part: np.ndarray):
        if part[0] != first[0]:
            raise ValueError("formatting failed")
        yield "x"

    with pytest.raises(RuntimeError, match="formatting process"):
        "".join(parallel.forked_text(first, boom, processes=2))
