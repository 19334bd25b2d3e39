"""Where the time of one ``POST /v1/score`` goes: matcher stages and the in-process request path.

    .venv/bin/python bench/profile_api.py --ref 1000000 --lookups 500 [--index DIR] [--cprofile]

Builds (or loads, with ``--index``) the entity index over the generated reference set of
``bench/gen_names.py``, then times, per single-record lookup, each stage of ``EntityIndex.lookup``
and, per request, the whole ``POST /v1/score`` path in-process (Starlette TestClient, the real app,
auth, rate limit, audit log, SQLite). Prints milliseconds per stage (p50 / mean / p99).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from risk_engine.matching.index import EntityIndex  # noqa: E402


def _ms(values: list[float]) -> str:
    a = np.asarray(values) * 1000
    return f"p50 {np.percentile(a, 50):6.2f}  mean {a.mean():6.2f}  p99 {np.percentile(a, 99):6.2f} ms"


def stage_times(index: EntityIndex, rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """The lookup's stages, timed one by one (the same calls ``EntityIndex.lookup`` makes)."""
    from risk_engine.matching.compare import PairVectors, compare_pairs
    from risk_engine.matching.identifiers import SCHEMES
    from risk_engine.matching.records import prepare_records

    out: dict[str, list[float]] = {}
    cand = index.candidates
    for record in rows:
        t0 = time.perf_counter()
        row = {"id": "_query", "name": record.get("name")}
        for col in ("country", "address", "native_name", *SCHEMES):
            if record.get(col) is not None:
                row[col] = str(record[col])
        q = prepare_records(pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)), side="record")
        t1 = time.perf_counter()
        qg, qt = cand.query_matrices(q.core, q.key)
        t2 = time.perf_counter()
        block = cand.blocks.get(q.country[0] or "", cand.everything)
        part = np.zeros(1, np.int64)
        sel, tsel = cand._select(qg, qt)
        qi, ri, _ = cand._search(
            block, (sel.indptr, sel.indices, sel.data), (tsel.indptr, tsel.indices, tsel.data), part
        )
        t3 = time.perf_counter()
        eq = cand.exact.get(q.key[0], ()) if cand.exact else ()
        if eq:
            qi = np.concatenate([qi, np.zeros(len(eq), np.int64)])
            ri = np.concatenate([ri, np.asarray(eq, np.int64)])
        t4 = time.perf_counter()
        feats = compare_pairs(q, index.ref, qi, ri, PairVectors(qg, cand.gram_matrix, qt, cand.token_matrix))
        t5 = time.perf_counter()
        index.model.predict_proba(feats)
        t6 = time.perf_counter()
        index.model.contributions(feats)
        t7 = time.perf_counter()
        for name, value in (
            ("prepare (frame + normalise)", t1 - t0),
            ("query matrices", t2 - t1),
            ("candidate search", t3 - t2),
            ("exact keys", t4 - t3),
            ("features (compare_pairs)", t5 - t4),
            ("model probability", t6 - t5),
            ("model contributions", t7 - t6),
            ("sum of stages", t7 - t0),
            ("candidates per query", len(ri) / 1000),
        ):
            out.setdefault(name, []).append(value)
    for record in rows:
        t = time.perf_counter()
        index.lookup(record)
        out.setdefault("EntityIndex.lookup (whole)", []).append(time.perf_counter() - t)
    fast = getattr(index, "lookup_many", None)
    if fast is not None:
        for record in rows:
            t = time.perf_counter()
            fast([record])
            out.setdefault("EntityIndex.lookup_many, 1 record", []).append(time.perf_counter() - t)
    return out


def request_times(index: EntityIndex, ref: pl.DataFrame, rows: list[dict[str, Any]], profile: bool) -> None:
    """The whole ``POST /v1/score`` in-process (ASGI called directly), and with the matcher stubbed."""
    import asyncio
    import json
    import types

    from risk_engine.api import batching
    from risk_engine.api.app import create_app
    from risk_engine.api.db import make_engine, migrate, session_factory, utcnow
    from risk_engine.api.repository import create_api_key
    from risk_engine.api.snapshot import FrameSnapshot, SnapshotInfo
    from risk_engine.config import Settings

    scores = ref.select(pl.col("id").alias("entity_id"), "name", "country").with_columns(
        score=pl.lit(0.3), band=pl.lit("high"), methodology=pl.lit("fl-v1")
    )
    snap = FrameSnapshot(
        scores, matcher=index, info=SnapshotInfo("profile", "profile", scores.height, "fl-v1", {})
    )
    work = Path(tempfile.mkdtemp(prefix="profile-api-"))
    settings = Settings(
        data_dir=work, database_url=f"sqlite:///{work / 'api.sqlite3'}", rate_limit_per_minute=10**9
    )
    engine = make_engine(settings)
    migrate(engine)
    with session_factory(engine).begin() as s:
        key = create_api_key(
            s, tenant="bench", role="auditor", name="profile", expires_at=None, now=utcnow()
        )[0]
    engine.dispose()
    app = create_app(settings, snapshot=snap)

    async def inline(fn: Callable[..., Any], *a: Any) -> Any:
        return fn(*a)

    # Run the batcher's thread hop inline, so one profiler sees the whole request.
    shim: Any = types.SimpleNamespace(
        to_thread=inline, get_running_loop=asyncio.get_running_loop, Future=asyncio.Future
    )
    batching.asyncio = shim

    def request(method: str, path: str, body: bytes | None) -> dict[str, Any]:
        headers = [(b"host", b"x"), (b"authorization", f"Bearer {key}".encode())]
        if body is not None:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

    async def call(method: str, path: str, body: bytes | None) -> int:
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body or b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(request(method, path, body), receive, send)  # type: ignore[arg-type]
        return status

    bodies = [
        json.dumps({"records": [{"key": "k", "name": r["name"], "country": r["country"]}]}).encode()
        for r in rows
    ]

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for b in bodies[:20]:
                await call("POST", "/v1/score", b)
            lat = []
            for _ in bodies:
                t = time.perf_counter()
                assert await call("GET", "/healthz", None) == 200
                lat.append(time.perf_counter() - t)
            print(f"{'GET /healthz (ASGI direct)':34s} {_ms(lat)}")
            prof = cProfile.Profile() if profile else None
            lat = []
            for b in bodies:
                t = time.perf_counter()
                if prof:
                    prof.enable()
                status = await call("POST", "/v1/score", b)
                if prof:
                    prof.disable()
                assert status == 200, status
                lat.append(time.perf_counter() - t)
            print(f"{'POST /v1/score 1 record':34s} {_ms(lat)}")
            if prof:
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(60)
                print(buf.getvalue())
            real = snap.matcher
            snap.matcher = _NoMatcher(ref["id"][0])
            lat = []
            for b in bodies:
                t = time.perf_counter()
                await call("POST", "/v1/score", b)
                lat.append(time.perf_counter() - t)
            snap.matcher = real
            print(f"{'POST /v1/score, matcher stubbed':34s} {_ms(lat)}")

    asyncio.run(run())


class _NoMatcher:
    def __init__(self, entity: str) -> None:
        self.entity = entity

    def lookup(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": self.entity, "probability": 0.95, "decision": "match"}]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=500)
    ap.add_argument(
        "--index", type=Path, default=None, help="saved index directory (load, or build and save)"
    )
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    from gen_names import load_or_generate, make_queries

    print(f"load average {os.getloadavg()}")
    ref = load_or_generate(args.ref)
    t = time.perf_counter()
    index = None
    if args.index is not None and (args.index / "manifest.json").exists():
        from risk_engine.matching.index_store import IndexArtifactError

        try:
            index = EntityIndex.load(args.index)
            print(f"index loaded in {time.perf_counter() - t:.1f} s")
        except IndexArtifactError as exc:
            print(f"rebuilding: {exc}")
    if index is None:
        index = EntityIndex.build(ref)
        print(f"index built in {time.perf_counter() - t:.1f} s")
        if args.index is not None:
            t = time.perf_counter()
            index.save(args.index)
            print(f"index saved in {time.perf_counter() - t:.1f} s")
    queries, _ = make_queries(ref, args.lookups, seed=99)
    rows = queries.drop("id").to_dicts()
    for r in rows[:20]:
        index.lookup(r)
    times = stage_times(index, rows)
    for name, values in times.items():
        if name == "candidates per query":
            a = np.asarray(values) * 1000
            print(f"{name:34s} mean {a.mean():.1f}  max {a.max():.0f}")
        else:
            print(f"{name:34s} {_ms(values)}")
    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        for r in rows:
            index.lookup(r)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(30)
        print(buf.getvalue())
    request_times(index, ref, rows, args.cprofile)
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
