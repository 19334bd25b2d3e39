"""``risk-engine keys create|list|revoke``: manage API keys in the configured database."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from risk_engine.api.db import as_utc, make_engine, migrate, session_factory, utcnow
from risk_engine.api.repository import create_api_key, list_api_keys, revoke_api_key
from risk_engine.config import Settings, load_settings
from risk_engine.errors import InputError


def run_keys(args: argparse.Namespace, *, settings: Settings | None = None) -> int:
    """Run one ``keys`` action; the new key is printed once and never stored in plain text."""
    settings = settings or load_settings()
    engine = make_engine(settings)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        action = args.keys_command
        now = utcnow()
        if action == "create":
            days = int(args.expires_days)
            if days < 1:
                msg = "--expires-days must be at least 1"
                raise InputError(msg)
            with sessions.begin() as session:
                key, row = create_api_key(
                    session,
                    tenant=args.tenant,
                    role=args.role,
                    name=args.name or "",
                    expires_at=now + timedelta(days=days),
                    now=now,
                )
            print(key)
            print(
                f"prefix {row.prefix}  tenant {row.tenant}  role {row.role}  expires {row.expires_at:%Y-%m-%d}"
                "  (the key is shown only now; store it safely)",
                file=sys.stderr,
            )
            return 0
        if action == "list":
            with sessions() as session:
                rows = list_api_keys(session)
            print("prefix\ttenant\trole\tname\tcreated\texpires\tstatus")
            for r in rows:
                expires = as_utc(r.expires_at)
                status = (
                    "revoked" if r.revoked_at else ("expired" if expires and expires <= now else "active")
                )
                print(
                    f"{r.prefix}\t{r.tenant}\t{r.role}\t{r.name}\t{as_utc(r.created_at):%Y-%m-%d}\t"
                    f"{'' if expires is None else f'{expires:%Y-%m-%d}'}\t{status}"
                )
            return 0
        if action == "revoke":
            with sessions.begin() as session:
                done = revoke_api_key(session, args.prefix, now=now)
            if not done:
                print(f"error: no active key with prefix {args.prefix!r}", file=sys.stderr)
                return 2
            print(f"revoked {args.prefix}", file=sys.stderr)
            return 0
        msg = f"unknown keys action {action!r}"
        raise InputError(msg)
    finally:
        engine.dispose()
