"""Fixtures of the API tests: both databases (SQLite, PostgreSQL in its own schema), settings, apps."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_testkit import PG_URL, Api, TestClient, make_snapshot
from sqlalchemy import create_engine, text

from risk_engine.api.app import create_app
from risk_engine.config import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.sqlite3'}"
        return
    # Each test gets its own schema: parallel pytest workers never see each other's rows.
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_per_minute=60_000,
        max_upload_bytes=2 * 1024 * 1024,
        aggregate_min_members=2,
    )


@pytest.fixture
def make_api(settings: Settings) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> Api:
        import dataclasses

        app = create_app(dataclasses.replace(settings, **overrides), snapshot=make_snapshot())
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Api(app, client)

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
