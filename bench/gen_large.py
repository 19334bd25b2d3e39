"""Generate the large synthetic screen (fixed seed): suppliers, shipments, audit findings, a UFLPA list.

    .venv/bin/python bench/gen_large.py --out bench/out/large \
        [--suppliers 100000] [--shipments 10000000] [--findings 50000]

Shape: 20 buyers (US/EU) each with a supplier list (tier 1, 100,000 rows in all); tier-2 mills and
tier-3 raw-material sites upstream of them; shipments along those links (tier 1 -> buyer, tier 2 -> tier
1, tier 3 -> tier 2) with each party's name written in a few spellings, as bills of lading do; audit
findings at tier-1 and tier-2 sites mapped to ILO indicators; 150 listed entities, most of them tier-3
sites in China. Files are Parquet (10 M shipment lines as CSV would be ~1.5 GB).
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261123
COUNTRIES_T1 = ["BD", "VN", "IN", "CN", "TR", "KH", "PK", "ID", "MX", "LK", "TH", "MY"]
COUNTRIES_T2 = ["CN", "IN", "PK", "TR", "VN", "UZ", "BD", "ID", "MY", "TH"]
COUNTRIES_T3 = ["CN", "IN", "UZ", "TM", "PK", "BR", "US", "AU", "CI", "GH"]
BUYER_COUNTRIES = ["US", "DE", "GB", "FR", "NL", "US", "US", "IT", "ES", "SE"]
HS_T1 = ["6109", "6110", "6203", "6204", "6403", "8517", "9503", "4015", "1604", "1801"]
HS_T2 = ["5208", "5209", "5205", "5407", "4107", "8542", "3904", "2804", "7601", "1511"]
HS_T3 = ["5201", "5203", "2616", "8541", "0304", "1801", "4001", "7208", "2601", "2503"]
SYLLABLES = [
    "an", "bao", "chen", "da", "feng", "guo", "hua", "jin", "kang", "li", "ming", "nan", "ping", "qi",
    "rong", "sheng", "tai", "wei", "xin", "yuan", "zhong", "sun", "star", "delta", "nova", "prime",
    "global", "united", "royal", "green", "blue", "east", "west", "asia", "pacific", "golden",
]  # fmt: skip
SECTOR_WORDS = ["Textile", "Garment", "Knitting", "Spinning", "Apparel", "Leather", "Electronics",
                "Plastics", "Rubber", "Seafood", "Cocoa", "Metal", "Solar", "Cotton"]  # fmt: skip
LEGAL = {"CN": "Co., Ltd.", "IN": "Pvt. Ltd.", "BD": "Ltd.", "VN": "Company Limited", "TR": "A.S.",
         "DE": "GmbH", "FR": "SAS", "US": "Inc.", "GB": "Ltd", "NL": "B.V."}  # fmt: skip
CLAUSES = ["1.1", "2.1", "3.1", "3.2", "4.1", "5.1", "6.1", "7.1", "8.1", "ETI 1.1", "ETI 1.3", "ETI 5.1"]


def _names(rng: np.random.Generator, n: int, countries: np.ndarray, prefix: str) -> np.ndarray:
    a = rng.integers(0, len(SYLLABLES), n)
    b = rng.integers(0, len(SYLLABLES), n)
    s = rng.integers(0, len(SECTOR_WORDS), n)
    syl = np.array(SYLLABLES)
    words = np.char.add(np.char.capitalize(syl[a]), syl[b])
    base = np.char.add(np.char.add(words, " "), np.array(SECTOR_WORDS)[s])
    # A number keeps names unique enough that exact keys do not merge different companies.
    serial = np.char.add(f" {prefix}", np.arange(n).astype(str))
    legal = np.array([LEGAL.get(c, "Ltd.") for c in countries])
    return np.char.add(np.char.add(np.char.add(base, serial), " "), legal)


def _spellings(names: pl.Series) -> pl.DataFrame:
    """Three spellings per name: as listed, upper case, and punctuation/legal form stripped."""
    return pl.DataFrame(
        {
            "v0": names,
            "v1": names.str.to_uppercase(),
            "v2": names.str.replace_all(r"[.,]", "").str.replace(
                r" (Co Ltd|Pvt Ltd|Ltd|Company Limited)$", " Limited"
            ),
        }
    )


def generate(
    out: Path, *, n_suppliers: int, n_shipments: int, n_findings: int, seed: int = SEED
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    n_buyers = 20
    n_t2 = max(1, n_suppliers // 2)
    n_t3 = max(1, n_suppliers // 10)

    buyer_c = np.array([BUYER_COUNTRIES[i % len(BUYER_COUNTRIES)] for i in range(n_buyers)])
    buyer_names = np.char.add(np.char.add("Brand ", np.arange(n_buyers).astype(str)), " Retail Inc.")
    t1_c = rng.choice(COUNTRIES_T1, n_suppliers)
    t2_c = rng.choice(COUNTRIES_T2, n_t2)
    t3_c = rng.choice(COUNTRIES_T3, n_t3, p=[0.35, 0.15, 0.1, 0.05, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05])
    t1_n = _names(rng, n_suppliers, t1_c, "T1-")
    t2_n = _names(rng, n_t2, t2_c, "T2-")
    t3_n = _names(rng, n_t3, t3_c, "T3-")
    t3_region = np.where(
        (t3_c == "CN") & (rng.random(n_t3) < 0.25), "Xinjiang", np.where(t3_c == "CN", "Jiangsu", None)
    )

    # Supplier lists: each tier-1 supplier belongs to one buyer's list.
    t1_buyer = rng.integers(0, n_buyers, n_suppliers)
    t1_hs = rng.choice(HS_T1, n_suppliers)
    suppliers = pl.DataFrame(
        {
            "supplier_id": [f"S{i:07d}" for i in range(n_suppliers)],
            "supplier_name": t1_n,
            "country": t1_c,
            "address": [f"{i % 900 + 1} Industrial Road" for i in range(n_suppliers)],
            "hs_code": t1_hs,
            "tier": np.ones(n_suppliers, dtype=np.int64),
            "buyer": buyer_names[t1_buyer],
            "annual_spend": np.round(rng.lognormal(12, 1.2, n_suppliers), 2),
        }
    )
    suppliers.write_parquet(out / "suppliers.parquet")

    # Links: each tier-1 has 1-3 tier-2 suppliers, each tier-2 1-2 tier-3 suppliers.
    k12 = rng.integers(1, 4, n_suppliers)
    l12_dst = np.repeat(np.arange(n_suppliers), k12)
    l12_src = rng.integers(0, n_t2, l12_dst.size)
    k23 = rng.integers(1, 3, n_t2)
    l23_dst = np.repeat(np.arange(n_t2), k23)
    l23_src = rng.integers(0, n_t3, l23_dst.size)

    # Shipment lines: 40 % tier1 -> buyer, 40 % tier2 -> tier1, 20 % tier3 -> tier2.
    n1, n2 = int(n_shipments * 0.4), int(n_shipments * 0.4)
    n3 = n_shipments - n1 - n2
    s1 = rng.integers(0, n_suppliers, n1)
    e2 = rng.integers(0, l12_dst.size, n2)
    e3 = rng.integers(0, l23_dst.size, n3)
    all_names = np.concatenate([buyer_names, t1_n, t2_n, t3_n])
    all_c = np.concatenate([buyer_c, t1_c, t2_c, t3_c])
    t3_addr = np.where(t3_region == "Xinjiang", "Industrial Park, Aksu, Xinjiang", "Development Zone")
    all_addr = np.concatenate(
        [
            np.array(["Main Street"] * n_buyers),
            np.array([f"{i % 900 + 1} Industrial Road" for i in range(n_suppliers)]),
            np.array([f"{i % 500 + 1} Mill Street" for i in range(n_t2)]),
            t3_addr,
        ]
    )
    off_t1, off_t2, off_t3 = n_buyers, n_buyers + n_suppliers, n_buyers + n_suppliers + n_t2
    shipper = np.concatenate([off_t1 + s1, off_t2 + l12_src[e2], off_t3 + l23_src[e3]])
    consignee = np.concatenate([t1_buyer[s1], off_t1 + l12_dst[e2], off_t2 + l23_dst[e3]])
    hs = np.concatenate([np.array(t1_hs)[s1], rng.choice(HS_T2, n2), rng.choice(HS_T3, n3)])
    spell = _spellings(pl.Series(all_names))
    n_names = len(all_names)
    spell_flat = pl.concat([spell["v0"], spell["v1"], spell["v2"]])  # index = variant * n + entity
    ship_var = rng.choice(3, n_shipments, p=[0.6, 0.25, 0.15])
    cons_var = rng.choice(3, n_shipments, p=[0.7, 0.2, 0.1])
    start = date(2023, 1, 1)
    days = rng.integers(0, 1000, n_shipments)
    trade = pl.DataFrame(
        {
            "shipment_id": pl.int_range(0, n_shipments, eager=True).cast(pl.String).str.zfill(9),
            "date": pl.Series(days + (start - date(1970, 1, 1)).days, dtype=pl.Int32).cast(pl.Date),
            "shipper_name": spell_flat.gather(ship_var * n_names + shipper),
            "shipper_country": all_c[shipper],
            "shipper_address": all_addr[shipper],
            "consignee_name": spell_flat.gather(cons_var * n_names + consignee),
            "consignee_country": all_c[consignee],
            "hs_code": hs,
            "value_usd": np.round(rng.lognormal(9, 1.0, n_shipments), 2),
            "weight_kg": np.round(rng.lognormal(7, 1.0, n_shipments), 1),
        }
    )
    trade.write_parquet(out / "trade.parquet", row_group_size=1_000_000)

    # Audit findings at tier-1 and tier-2 sites: ~5 findings per audit.
    n_audits = max(1, n_findings // 5)
    site_is_t1 = rng.random(n_audits) < 0.7
    site = np.where(site_is_t1, rng.integers(0, n_suppliers, n_audits), rng.integers(0, n_t2, n_audits))
    site_name = np.where(
        site_is_t1, t1_n[np.minimum(site, n_suppliers - 1)], t2_n[np.minimum(site, n_t2 - 1)]
    )
    site_c = np.where(site_is_t1, t1_c[np.minimum(site, n_suppliers - 1)], t2_c[np.minimum(site, n_t2 - 1)])
    per = rng.integers(1, 10, n_audits)
    per = np.maximum(1, np.round(per * n_findings / per.sum()).astype(int))
    idx = np.repeat(np.arange(n_audits), per)[:n_findings]
    n_f = idx.size
    audit_dates = [start + timedelta(days=int(d)) for d in rng.integers(0, 1000, n_audits)]
    audits = pl.DataFrame(
        {
            "audit_id": [f"A{i:06d}" for i in idx],
            "facility_name": site_name[idx],
            "facility_country": site_c[idx],
            "audit_date": [audit_dates[i] for i in idx],
            "scheme": rng.choice(["SMETA", "amfori BSCI", "RBA", "SA8000"], n_f),
            "finding_id": [f"F{i:07d}" for i in range(n_f)],
            "ilo_indicator": rng.choice([str(k) for k in range(1, 12)], n_f),
            "grade": rng.choice(["minor", "major", "critical", "observation"], n_f, p=[0.45, 0.3, 0.05, 0.2]),
            "scope": rng.choice(["isolated", "systemic"], n_f, p=[0.8, 0.2]),
            "status": rng.choice(["open", "closed", "cap agreed"], n_f, p=[0.4, 0.4, 0.2]),
        }
    )
    audits.write_parquet(out / "audits.parquet")

    # Enforcement: 150 listed entities, most tier-3 sites in China (exact and re-spelt names).
    listed = rng.choice(np.flatnonzero(t3_c == "CN"), min(120, int((t3_c == "CN").sum())), replace=False)
    others = _names(rng, 30, np.array(["CN"] * 30), "L-")
    enf_names = np.concatenate([t3_n[listed], others])
    enforcement = pl.DataFrame(
        {
            "name": enf_names,
            "country": ["CN"] * enf_names.size,
            "list": ["UFLPA Entity List"] * enf_names.size,
            "listed_date": [date(2024, 6, 1)] * enf_names.size,
        }
    )
    enforcement.write_csv(out / "enforcement.csv")
    return {
        "seconds": time.perf_counter() - t0,
        "shipments": trade.height,
        "suppliers": suppliers.height,
        "findings": audits.height,
        "tier2": n_t2,
        "tier3": n_t3,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("bench/out/large"))
    p.add_argument("--suppliers", type=int, default=100_000)
    p.add_argument("--shipments", type=int, default=10_000_000)
    p.add_argument("--findings", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=SEED)
    a = p.parse_args()
    info = generate(
        a.out, n_suppliers=a.suppliers, n_shipments=a.shipments, n_findings=a.findings, seed=a.seed
    )
    print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v:,}" for k, v in info.items()))


if __name__ == "__main__":
    main()
