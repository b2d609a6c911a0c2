"""Racing real threads against the database (tests marked ``concurrency``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

from kanat.core.errors import Conflict


def race(*calls: Callable[[], Any]) -> list[str]:
    """Start every call at the same instant, each on its own connection: "won", or
    "conflict: <message>" per call. Anything else a call raises fails the race."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return outcomes
