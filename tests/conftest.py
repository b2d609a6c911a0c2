from __future__ import annotations

import os

import pytest
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: runs in CI's second pass (DATABASE_URL)")
    # threads need a SQLite database on disk: the in-memory test database's shared cache
    # fails table locks at once instead of waiting (make test runs them in a second pass)
    on_disk = on_postgres or bool(os.environ.get("KANAT_TEST_SQLITE"))
    skip_threads = pytest.mark.skip(
        reason="threads on SQLite need a database on disk: make test's second pass "
        "(KANAT_TEST_SQLITE=FILE)"
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "concurrency" in item.keywords and not on_disk:
            item.add_marker(skip_threads)


@pytest.fixture
def vendor() -> str:
    return connection.vendor


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    """Tests make many users: a fast hasher (never used outside tests; the app keeps
    Django's PBKDF2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
