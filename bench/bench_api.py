"""Benchmark of the scoring API: `risk-engine serve` with N workers against a synthetic snapshot.

Starts the real server (pre-fork: the index is loaded once in the parent, workers are forked;
uvicorn, httptools, uvloop) on 127.0.0.1 after building and saving the snapshot's entity index, drives it with a small keep-alive
HTTP/1.1 load generator (raw asyncio sockets, so the generator costs little CPU), and reports
requests/s and latency percentiles for:

* baseline: ``GET /healthz`` on the same server, same run (the HTTP floor),
* ``POST /v1/score`` with one record (distinct records: every request a different supplier),
* ``POST /v1/score`` with 100 records,
* ``POST /v1/score`` with one record the snapshot does not hold (scored from its country and HS code).

Load is bounded in count and time and never leaves 127.0.0.1. Usage:

    .venv/bin/python bench/bench_api.py --entities 1000000 --workers 2 --connections 32 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

_PREFIX = [
    "Golden",
    "Silver",
    "Royal",
    "Eastern",
    "Western",
    "Northern",
    "Southern",
    "Pacific",
    "Atlantic",
    "Global",
    "United",
    "Sun",
    "Star",
    "Moon",
    "River",
    "Lake",
    "Mountain",
    "Green",
    "Blue",
    "Red",
    "Great",
    "New",
    "Grand",
    "Prime",
    "Smart",
    "Bright",
    "Fine",
    "Happy",
    "Lucky",
    "Rich",
    "Peace",
    "Harmony",
    "Unity",
    "Vision",
    "Delta",
    "Sigma",
    "Alpha",
    "Omega",
    "Crown",
    "Eagle",
    "Lotus",
    "Jade",
    "Pearl",
    "Coral",
    "Ocean",
    "Sky",
    "Cloud",
    "Rain",
    "Spring",
    "Autumn",
    "Summer",
    "Winter",
    "Dragon",
    "Phoenix",
    "Tiger",
    "Lion",
]
_PLACE = [
    "Dhaka",
    "Gazipur",
    "Chittagong",
    "Tiruppur",
    "Coimbatore",
    "Ludhiana",
    "Suzhou",
    "Ningbo",
    "Wuxi",
    "Kashgar",
    "Urumqi",
    "Aksu",
    "Hotan",
    "Karachi",
    "Lahore",
    "Faisalabad",
    "Istanbul",
    "Bursa",
    "Izmir",
    "Hanoi",
    "Saigon",
    "Danang",
    "Jakarta",
    "Bandung",
    "Surabaya",
    "Bangkok",
    "Chiang",
    "Phnom",
    "Yangon",
    "Colombo",
    "Kandy",
    "Nairobi",
    "Addis",
    "Lima",
    "Sao",
    "Paulo",
    "Leon",
    "Puebla",
]
_TRADE = [
    "Textile",
    "Garments",
    "Apparel",
    "Knitting",
    "Spinning",
    "Weaving",
    "Dyeing",
    "Cotton",
    "Yarn",
    "Fabrics",
    "Fashion",
    "Sportswear",
    "Denim",
    "Leather",
    "Footwear",
    "Polysilicon",
    "Solar",
    "Aluminium",
    "Steel",
    "Seafood",
    "Tomato",
    "Electronics",
    "Plastics",
    "Packaging",
    "Trading",
    "Industrial",
    "Manufacturing",
]
_FORM = [
    "Co., Ltd.",
    "Ltd",
    "Limited",
    "Pvt Ltd",
    "LLC",
    "GmbH",
    "S.A.",
    "Sdn Bhd",
    "PT",
    "Inc.",
    "JSC",
    "A.S.",
]
_COUNTRIES = [
    "BD",
    "IN",
    "CN",
    "PK",
    "TR",
    "VN",
    "ID",
    "TH",
    "KH",
    "MM",
    "LK",
    "ET",
    "KE",
    "PE",
    "BR",
    "MX",
    "US",
    "DE",
]
_BANDS = ["low", "medium", "high", "critical"]


def synthetic_snapshot(out: Path, n: int, seed: int = 7) -> Path:
    """Write a snapshot of ``n`` synthetic entities (scores, entities, manifest, _SUCCESS)."""
    if (out / "_SUCCESS").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [
        f"{_PREFIX[a]} {_PLACE[b]} {_TRADE[c]} {_TRADE[d]} {i:x} {_FORM[e]}"
        for i, (a, b, c, d, e) in enumerate(
            zip(
                rng.integers(0, len(_PREFIX), n),
                rng.integers(0, len(_PLACE), n),
                rng.integers(0, len(_TRADE), n),
                rng.integers(0, len(_TRADE), n),
                rng.integers(0, len(_FORM), n),
                strict=True,
            )
        )
    ]
    ids = [f"E{i:09d}" for i in range(n)]
    countries = [_COUNTRIES[k] for k in rng.integers(0, len(_COUNTRIES), n)]
    score = rng.beta(2, 6, n)
    band = np.where(
        score >= 0.5, "critical", np.where(score >= 0.25, "high", np.where(score >= 0.1, "medium", "low"))
    )
    pl.DataFrame({"entity_id": ids, "name": names, "country": countries}).write_parquet(
        out / "entities.parquet"
    )
    paths = json.dumps([{"path": ["E"], "share_of_hazard": 1.0, "kind": "local"}])
    pl.DataFrame(
        {
            "entity_id": ids,
            "name": names,
            "country": countries,
            "tier": rng.integers(1, 5, n),
            "score": score,
            "band": band,
            "score_low": score * 0.8,
            "score_high": np.minimum(score * 1.2, 1.0),
            "coverage": rng.uniform(0, 1, n),
            "flags": ["[]"] * n,
            "top_paths": [paths] * n,
            "top_indicators": ["[]"] * n,
            "methodology": ["fl-v1"] * n,
            "versions": ['{"params": "synthetic"}'] * n,
        }
    ).write_parquet(out / "scores.parquet")
    (out / "manifest.json").write_text(json.dumps({"run_id": f"synthetic-{n}", "methodology": "fl-v1"}))
    (out / "_SUCCESS").write_text("synthetic\n")
    return out


def prepare_index(snapshot: Path) -> float:
    """Build and save the snapshot's entity index unless a current one is saved; seconds spent."""
    from risk_engine.api.snapshot import load_saved_index, prepare_snapshot_index

    t = time.perf_counter()
    if load_saved_index(snapshot) is None:
        prepare_snapshot_index(snapshot)
        return time.perf_counter() - t
    return 0.0


def memory(server: psutil.Process) -> dict[str, list[float]]:
    """RSS, USS and PSS (MiB) of the parent and of each forked worker (same command line)."""
    procs = [server] + [
        c for c in server.children() if c.cmdline() == server.cmdline() and c.status() != psutil.STATUS_ZOMBIE
    ]
    out: dict[str, list[float]] = {"rss": [], "uss": [], "pss": []}
    for p in procs:
        info = p.memory_full_info()
        out["rss"].append(info.rss / 2**20)
        out["uss"].append(info.uss / 2**20)
        out["pss"].append(getattr(info, "pss", float("nan")) / 2**20)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def make_request(path: str, body: bytes | None, key: str) -> bytes:
    head = f"{'POST' if body is not None else 'GET'} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    return (head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _one_connection(
    port: int,
    requests: list[bytes],
    deadline: float,
    limit: int,
    lat: list[float],
    codes: dict[int, int],
    counter: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    i = random.randrange(len(requests))
    try:
        while time.perf_counter() < deadline and counter[0] < limit:
            counter[0] += 1
            req = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            codes[status] = codes.get(status, 0) + 1
    finally:
        writer.close()


async def drive(
    port: int, requests: list[bytes], *, connections: int, seconds: float, limit: int
) -> dict[str, float]:
    lat: list[float] = []
    codes: dict[int, int] = {}
    counter = [0]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_one_connection(port, requests, deadline, limit, lat, codes, counter) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    arr = np.array(lat) * 1000
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(arr, 50)) if len(arr) else float("nan"),
        "p99_ms": float(np.percentile(arr, 99)) if len(arr) else float("nan"),
        "non_2xx": sum(v for k, v in codes.items() if not 200 <= k < 300),
    }


def score_body(records: list[dict[str, str]]) -> bytes:
    return json.dumps({"records": records}).encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args()

    snapshot = synthetic_snapshot(Path(args.out) / f"api_snapshot_{args.entities}", args.entities)
    index_build = prepare_index(snapshot)
    load_start = os.getloadavg()
    entities = pl.read_parquet(snapshot / "entities.parquet").sample(n=min(60_000, args.entities), seed=1)
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {
        **os.environ,
        "RISK_ENGINE_DATA_DIR": str(work),
        "RISK_ENGINE_RATE_LIMIT_PER_MINUTE": str(10**9),
    }
    env.pop("RISK_ENGINE_DATABASE_URL", None)
    cli = [sys.executable, "-m", "risk_engine.cli"]
    key = subprocess.run(
        [*cli, "keys", "create", "--tenant", "bench", "--role", "auditor"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [
            *cli,
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--snapshot",
            str(snapshot),
        ],
        env=env,
        start_new_session=True,
    )
    try:
        health = make_request("/readyz", None, key)
        while True:
            if server.poll() is not None:
                print("server exited", file=sys.stderr)
                return 1
            try:
                r = asyncio.run(
                    drive(port, [health], connections=args.workers * 2, seconds=0.5, limit=args.workers * 8)
                )
                if r["requests"] and r["non_2xx"] == 0:
                    break
            except OSError:
                pass
            time.sleep(1.0)
            if time.perf_counter() - t0 > 1800:
                print("server not ready after 30 min", file=sys.stderr)
                return 1
        startup = time.perf_counter() - t0
        mem_start = memory(psutil.Process(server.pid))

        rows = entities.to_dicts()
        one = [
            make_request(
                "/v1/score",
                score_body(
                    [{"key": "k", "name": r["name"].upper().replace(",", ""), "country": r["country"]}]
                ),
                key,
            )
            for r in rows
        ]
        batch = [
            make_request(
                "/v1/score",
                score_body(
                    [
                        {"key": str(j), "name": r["name"], "country": r["country"]}
                        for j, r in enumerate(rows[i : i + 100])
                    ]
                ),
                key,
            )
            for i in range(0, min(len(rows), 5_000), 100)
        ]
        # Suppliers the snapshot does not hold: each is scored from what it carries (country, HS code).
        unmatched = [
            make_request(
                "/v1/score",
                score_body(
                    [
                        {
                            "key": "k",
                            "name": f"Qx{i:07x} Vuorinen Kraftwerk Holdings",
                            "country": r["country"],
                            "hs_codes": ["6109"],
                        }
                    ]
                ),
                key,
            )
            for i, r in enumerate(rows[:20_000])
        ]
        healthz = [make_request("/healthz", None, key)]
        asyncio.run(drive(port, one[:200], connections=args.workers, seconds=5, limit=200))  # warm-up
        results = {
            "baseline GET /healthz": asyncio.run(
                drive(
                    port,
                    healthz,
                    connections=args.connections,
                    seconds=args.seconds / 2,
                    limit=args.max_requests,
                )
            ),
            "POST /v1/score 1 record": asyncio.run(
                drive(
                    port,
                    one,
                    connections=args.connections,
                    seconds=args.seconds,
                    limit=min(args.max_requests, len(one)),
                )
            ),
            "POST /v1/score 100 records": asyncio.run(
                drive(port, batch, connections=min(args.connections, 8), seconds=args.seconds, limit=2_000)
            ),
            "POST /v1/score 1 unmatched record": asyncio.run(
                drive(
                    port,
                    unmatched,
                    connections=args.connections,
                    seconds=args.seconds / 2,
                    limit=min(args.max_requests, len(unmatched)),
                )
            ),
        }
        mem_end = memory(psutil.Process(server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    load_end = os.getloadavg()
    print(
        f"snapshot {args.entities:,} entities; {args.workers} workers; index build before the run "
        f"{index_build:.1f} s (0 = saved index current); server start to ready {startup:.1f} s"
    )
    print(
        f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}"
    )
    for label, mem in (("after start", mem_start), ("after the run", mem_end)):
        for kind in ("rss", "uss", "pss"):
            print(
                f"memory {label:13s} {kind.upper()}: parent {mem[kind][0]:,.0f} MiB; workers "
                + ", ".join(f"{v:,.0f}" for v in mem[kind][1:])
                + " MiB"
            )
    base = results["baseline GET /healthz"]["rps"]
    for name, r in results.items():
        print(
            f"{name:28s} {r['requests']:7d} req  {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
            f"  non-2xx {r['non_2xx']}  ratio to baseline {r['rps'] / base:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
