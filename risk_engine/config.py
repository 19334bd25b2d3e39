"""Typed settings, built by a function from the environment; no module-level singleton."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Everything the CLI and the API read from the environment."""

    data_dir: Path = Path(".risk-engine")
    database_url: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_batch_records: int = 100
    aggregate_min_members: int = 5
    rate_limit_per_minute: int = 6000
    request_timeout_s: float = 30.0
    jobs_per_tenant: int = 2
    snapshot_dir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'risk_engine.sqlite3').resolve()}"


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``RISK_ENGINE_*`` environment variables, then apply keyword overrides."""
    source = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    if "RISK_ENGINE_DATA_DIR" in source:
        values["data_dir"] = Path(source["RISK_ENGINE_DATA_DIR"])
    if source.get("RISK_ENGINE_DATABASE_URL"):
        values["database_url"] = source["RISK_ENGINE_DATABASE_URL"]
    if "RISK_ENGINE_MAX_UPLOAD_BYTES" in source:
        values["max_upload_bytes"] = int(source["RISK_ENGINE_MAX_UPLOAD_BYTES"])
    if "RISK_ENGINE_AGGREGATE_MIN_MEMBERS" in source:
        values["aggregate_min_members"] = int(source["RISK_ENGINE_AGGREGATE_MIN_MEMBERS"])
    if "RISK_ENGINE_RATE_LIMIT_PER_MINUTE" in source:
        values["rate_limit_per_minute"] = int(source["RISK_ENGINE_RATE_LIMIT_PER_MINUTE"])
    if source.get("RISK_ENGINE_SNAPSHOT_DIR"):
        values["snapshot_dir"] = Path(source["RISK_ENGINE_SNAPSHOT_DIR"])
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
