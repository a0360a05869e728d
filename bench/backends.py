"""What the benchmarks share: the best-of timer, and the two stores they run against —
SQLite in a temporary file, PostgreSQL in a fresh schema (skipped with a message when
the server is unreachable; its schema is dropped afterwards).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from warn.store import Store

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@contextmanager
def sqlite_store() -> Iterator[Store]:
    """A migrated store in a temporary SQLite file."""
    with tempfile.TemporaryDirectory() as folder, Store.connect(f"sqlite:///{Path(folder) / 'bench.sqlite'}") as store:
        store.upgrade()
        yield store


@contextmanager
def postgresql_store(url: str) -> Iterator[Store | None]:
    """A migrated store in a fresh schema at ``url``; ``None`` (with a message) when unreachable."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:  # noqa: BLE001 (report and skip an unreachable server)
        print(f"postgresql skipped: not reachable at {url}: {str(err).splitlines()[0]}")
        admin.dispose()
        yield None
        return
    try:
        sep = "&" if "?" in url else "?"
        with Store.connect(f"{url}{sep}options=-csearch_path%3D{schema}") as store:
            store.upgrade()
            yield store
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def on_each_backend(run: Callable[[str, Store], None], pg_url: str) -> None:
    """Call ``run(name, store)`` on SQLite, then on PostgreSQL when it is reachable."""
    with sqlite_store() as store:
        run("sqlite", store)
    with postgresql_store(pg_url) as store:
        if store is not None:
            run("postgresql", store)
