"""API keys: shown once, stored as salted hashes, prefix visible, revocable, expiring; the keys CLI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_testkit import Api
from sqlalchemy import select

from risk_engine.api.auth import KeyAuthenticator
from risk_engine.api.db import make_engine, migrate, session_factory, utcnow
from risk_engine.api.models import ApiKey
from risk_engine.api.problems import AuthenticationError
from risk_engine.api.repository import create_api_key, hash_key, revoke_api_key
from risk_engine.cli import main
from risk_engine.config import Settings

ENTITY = "/v1/entities/ent:BD:0001"


def test_key_is_stored_only_as_a_salted_hash(api: Api) -> None:
    k1, k2 = api.key("acme"), api.key("acme")
    with api.app.state.api.sessions() as session:
        rows = session.scalars(select(ApiKey)).all()
    assert len(rows) == 2
    for key, row in zip((k1, k2), rows, strict=True):
        assert key.startswith(f"rk_{row.prefix}_")
        assert key not in (row.secret_hash, row.salt, row.name)
        assert key.split("_", 2)[2] not in row.secret_hash
        assert row.secret_hash == hash_key(row.salt, key)
    assert rows[0].salt != rows[1].salt


def test_valid_key_works_and_scheme_is_case_insensitive(api: Api) -> None:
    key = api.key("acme", "auditor")
    assert api.client.get(ENTITY, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert api.client.get(ENTITY, headers={"Authorization": f"bearer {key}"}).status_code == 200


def test_tampered_secret_is_rejected(api: Api) -> None:
    key = api.key("acme")
    last = "A" if key[-1] != "A" else "B"
    r = api.client.get(ENTITY, headers={"Authorization": f"Bearer {key[:-1]}{last}"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_revoked_key_is_rejected(api: Api) -> None:
    key = api.key("acme")
    headers = {"Authorization": f"Bearer {key}"}
    assert api.client.get(ENTITY, headers=headers).status_code == 200
    with api.app.state.api.sessions.begin() as session:
        assert revoke_api_key(session, key.split("_")[1], now=utcnow())
    api.app.state.api.auth.forget()  # another process revoking is seen after CACHE_TTL_S
    assert api.client.get(ENTITY, headers=headers).status_code == 401


def test_expired_key_is_rejected(api: Api) -> None:
    live = api.key("acme", expires_in_s=600)
    expired = api.key("acme", expires_in_s=-1)
    assert api.client.get(ENTITY, headers={"Authorization": f"Bearer {live}"}).status_code == 200
    r = api.client.get(ENTITY, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_cache_expires_so_other_processes_revocations_apply(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        key, row = create_api_key(session, tenant="t", role="member", name="", expires_at=None, now=utcnow())
    auth = KeyAuthenticator(sessions, ttl_s=0.05)
    assert auth.authenticate(f"Bearer {key}", set()).tenant == "t"
    with sessions.begin() as session:
        revoke_api_key(session, row.prefix, now=utcnow())
    time.sleep(0.06)
    with pytest.raises(AuthenticationError):
        auth.authenticate(f"Bearer {key}", set())
    engine.dispose()


def test_keys_cli_create_list_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISK_ENGINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RISK_ENGINE_DATABASE_URL", raising=False)
    assert main(["keys", "create", "--tenant", "acme", "--role", "member", "--name", "ci"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    prefix = key.split("_")[1]
    assert key.startswith("rk_") and prefix in out.err

    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert prefix in listing and "acme" in listing and "active" in listing
    assert key not in listing and key.split("_", 2)[2] not in listing

    assert main(["keys", "revoke", prefix]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", prefix]) == 2  # already revoked
    assert main(["keys", "create", "--tenant", "bad tenant!", "--role", "member"]) == 2
    assert main(["keys", "create", "--tenant", "acme", "--role", "member", "--expires-days", "0"]) == 2


def test_cli_keys_work_against_the_server_database(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings: Settings = api.app.state.api.settings
    monkeypatch.setenv("RISK_ENGINE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("RISK_ENGINE_DATABASE_URL", settings.database_url)
    assert main(["keys", "create", "--tenant", "acme", "--role", "auditor"]) == 0
    key = capsys.readouterr().out.strip()
    assert api.client.get(ENTITY, headers={"Authorization": f"Bearer {key}"}).status_code == 200
