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


@pytest.fixture(scope="module")
def demo_log(django_db_setup: object, django_db_blocker: object) -> object:
    """The demo loaded once for a module (it takes seconds), its log returned; each test of
    the module runs in a savepoint of the module's transaction, rolled back at the end."""
    import io

    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        out = io.StringIO()
        call_command("demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
