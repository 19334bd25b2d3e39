"""The screening pipeline: frames in, ``ScreenResult`` out; no file paths inside.

``screen()`` runs four stages, each a pure function of the previous stages' frames:

1. ``resolve``: supplier rows, trade parties, audit facilities and enforcement entries become entities
   (matching's dedupe/link); every record keeps its entity id and match probability.
2. ``graph``: trade aggregated into edges per (shipper, consignee, HS4), plus declared edges.
3. ``score``: the methodology (fl-v1) scores every entity and explains it.
4. ``assemble``: the result tables (one scores row per supplier row and per upstream entity).

A ``StageStore`` (given by ``risk_engine.io.run``) may checkpoint each stage's frames so an interrupted
run resumes where it stopped; the CLI and the API both call ``screen()``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import polars as pl

from risk_engine.schemas import REJECTS_SCHEMA

Engine = Literal["local", "spark"]
Band = Literal["low", "medium", "high", "critical"]
BANDS: tuple[Band, ...] = ("low", "medium", "high", "critical")
STAGES: tuple[str, ...] = ("resolve", "graph", "score", "assemble")

# The scores table: one row per supplier row of the uploaded lists and per resolved upstream entity.
SCORES_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "supplier_id": pl.String(),  # the member's own id; null for upstream entities
    "buyer": pl.String(),
    "role": pl.String(),  # "supplier" (a row of the list) or "upstream" (found in trade/audits)
    "name": pl.String(),
    "country": pl.String(),
    "tier": pl.Int64(),
    "score": pl.Float64(),
    "band": pl.String(),
    "score_low": pl.Float64(),
    "score_high": pl.Float64(),
    "coverage": pl.Float64(),
    "low_coverage": pl.Boolean(),
    "flags": pl.String(),  # JSON list of {type, severity, jurisdiction, distance, path}
    "flag_severity": pl.String(),  # highest severity among flags, null when none
    "inherent": pl.Float64(),
    "evidence": pl.Float64(),
    "propagated": pl.Float64(),
    "score_unfloored": pl.Float64(),
    "match_probability": pl.Float64(),
    "sector": pl.String(),
    "top_paths": pl.String(),  # JSON
    "top_indicators": pl.String(),  # JSON
    "methodology": pl.String(),
    "versions": pl.String(),  # JSON: params, engine, model, reference data
}

EXPLANATIONS_SCHEMA: dict[str, pl.DataType] = {"entity_id": pl.String(), "explanation": pl.String()}

MATCHES_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),  # suppliers / trade_shipper / trade_consignee / audits / enforcement
    "record_id": pl.String(),
    "record_name": pl.String(),
    "record_country": pl.String(),
    "entity_id": pl.String(),
    "entity_name": pl.String(),
    "probability": pl.Float64(),
    "decision": pl.String(),  # match / review
    "method": pl.String(),
}


class Progress(Protocol):
    """Receives stage progress; the CLI shows bars on a terminal and log lines otherwise."""

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins (``total`` units of work when known)."""

    def advance(self, n: int = 1) -> None:
        """``n`` units of the current stage are done."""

    def finish(self, stage: str, summary: str) -> None:
        """The stage is done; ``summary`` is one line of exact counts."""


class StageStore(Protocol):
    """Checkpoints of completed stages (frames plus small JSON metadata)."""

    def load(self, stage: str) -> tuple[dict[str, pl.DataFrame], dict[str, Any]] | None:
        """The frames and metadata of ``stage`` when it completed earlier, else None."""

    def save(self, stage: str, frames: Mapping[str, pl.DataFrame], meta: Mapping[str, Any]) -> None:
        """Record ``stage`` as completed."""


@dataclass(frozen=True)
class InputInfo:
    """Where an input came from (for the manifest): file name, checksum, row counts."""

    kind: str
    file: str
    sha256: str | None = None
    rows_read: int = 0
    rows_rejected: int = 0


@dataclass
class ScreenInputs:
    """The frames one screen consumes; everything but ``suppliers`` is optional.

    Frames follow the canonical contracts of ``risk_engine.schemas`` (as ``risk_engine.io.readers``
    returns them). ``rejects`` are the readers' rejects, passed through to the result.
    """

    suppliers: pl.DataFrame
    trade: pl.DataFrame | None = None
    audits: pl.DataFrame | None = None
    enforcement: pl.DataFrame | None = None
    rejects: pl.DataFrame | None = None
    sources: dict[str, InputInfo] = field(default_factory=dict)
    reference: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass
class ScreenResult:
    """Everything a screen produces; written to disk by ``risk_engine.io.run``, served by the API."""

    scores: pl.DataFrame
    entities: pl.DataFrame
    matches: pl.DataFrame
    edges: pl.DataFrame
    explanations: pl.DataFrame
    rejects: pl.DataFrame
    manifest: dict[str, Any]
    audits: pl.DataFrame | None = None  # findings with their entity id (for the ILO breakdown)
    tiers: pl.DataFrame | None = None  # buyer, entity_id, tier: every entity reachable from each buyer
    missing: list[str] = field(default_factory=list)  # what the result lacks because an input was absent
    # What scoring consumed besides the edges, so one entity can be re-scored later (the API folds a
    # request's own findings and declared suppliers into a matched entity's score this way).
    graph_nodes: pl.DataFrame | None = None
    enforcement_hits: pl.DataFrame | None = None
    reference: dict[str, pl.DataFrame] = field(default_factory=dict)

    def band_counts(self) -> dict[str, int]:
        """Rows of the scores table per band (all bands present, zero when empty)."""
        counts: dict[str, int] = dict.fromkeys(BANDS, 0)
        if self.scores.height:
            for band, n in self.scores.group_by("band").len().iter_rows():
                counts[str(band)] = int(n)
        return counts


def empty_rejects() -> pl.DataFrame:
    """An empty rejects table."""
    return pl.DataFrame(schema=REJECTS_SCHEMA)


class _NullProgress:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self, stage: str, summary: str) -> None:
        pass


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def evaluation_date(inputs: ScreenInputs, as_of: date | None = None) -> date:
    """The evaluation date: given, else the latest date in the inputs, else today.

    Defaulting to the data's own latest date (not the clock) keeps re-runs reproducible.
    """
    if as_of is not None:
        return as_of
    latest: list[date] = []
    for frame, col in ((inputs.trade, "date"), (inputs.audits, "audit_date")):
        if frame is not None and col in frame.columns and frame.height:
            value = frame[col].max()
            if isinstance(value, date):
                latest.append(value)
    return max(latest) if latest else date.today()


# --- stage 1: resolve entities ------------------------------------------------------------------------

_ID_COLUMNS = ("lei", "duns", "os_id", "tax_id")
MENTION_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "name": pl.String(),
    "country": pl.String(),
    "address": pl.String(),
    "region": pl.String(),
    "lei": pl.String(),
    "duns": pl.String(),
    "os_id": pl.String(),
    "tax_id": pl.String(),
}


def _col(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)


def supplier_mentions(suppliers: pl.DataFrame) -> pl.DataFrame:
    """One mention per supplier row (record id = the member's id)."""
    return suppliers.select(
        pl.lit("suppliers").alias("source"),
        pl.col("id").cast(pl.String).alias("record_id"),
        pl.col("name"),
        pl.col("country"),
        _col(suppliers, "address").alias("address"),
        _col(suppliers, "region").alias("region"),
        *[_col(suppliers, c).alias(c) for c in _ID_COLUMNS],
    ).cast(MENTION_SCHEMA)  # type: ignore[arg-type]


def trade_party_mentions(trade: pl.DataFrame) -> pl.DataFrame:
    """One mention per distinct (role, name, country, address) of the trade records.

    Millions of shipment lines collapse to the parties that ship them; each distinct party gets a
    record id that ``trade_with_entities`` joins back on.
    """
    parts = []
    for role in ("shipper", "consignee"):
        parts.append(
            trade.select(
                pl.col(f"{role}_name").alias("name"),
                pl.col(f"{role}_country").alias("country"),
                _col(trade, f"{role}_address").alias("address"),
            )
            .unique()
            .with_columns(pl.lit(f"trade_{role}").alias("source"))
        )
    parties = pl.concat(parts).with_columns(
        stable_id("trd:", ["source", "name", "country", "address"]).alias("record_id"),
        pl.lit(None, dtype=pl.String).alias("region"),
        *[pl.lit(None, dtype=pl.String).alias(c) for c in _ID_COLUMNS],
    )
    return parties.select(list(MENTION_SCHEMA)).cast(MENTION_SCHEMA).sort("record_id")  # type: ignore[arg-type]


def audit_facility_mentions(audits: pl.DataFrame) -> pl.DataFrame:
    """One mention per distinct audited facility (name, country, address, identifiers)."""
    cols = [
        pl.col("facility_name").alias("name"),
        pl.col("facility_country").alias("country"),
        _col(audits, "facility_address").alias("address"),
        *[_col(audits, c).alias(c) for c in _ID_COLUMNS],
    ]
    facilities = audits.select(cols).unique()
    return (
        facilities.with_columns(
            pl.lit("audits").alias("source"),
            stable_id("aud:", ["name", "country", "address", *_ID_COLUMNS]).alias("record_id"),
            pl.lit(None, dtype=pl.String).alias("region"),
        )
        .select(list(MENTION_SCHEMA))
        .cast(MENTION_SCHEMA)  # type: ignore[arg-type]
        .sort("record_id")
    )


def stable_id(prefix: str, columns: list[str]) -> pl.Expr:
    """A short id from the sha1 of the columns' text, stable across runs, engines and versions.

    Remembered match decisions refer to these ids, so they must not depend on a hash seed.
    """
    joined = pl.concat_str([pl.col(c).fill_null("") for c in columns], separator="\x1f")
    return joined.map_elements(
        lambda text: prefix + hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16],
        return_dtype=pl.String,
    )


def name_keys(names: pl.Series) -> pl.Series:
    """``matching.normalise.name_key`` of every value, computed once per distinct name."""
    from risk_engine.matching.normalise import name_key

    uniq = names.unique().drop_nulls()
    mapping = pl.DataFrame({"name": uniq, "key": [name_key(n) for n in uniq.to_list()]})
    return (
        pl.DataFrame({"name": names})
        .join(mapping, on="name", how="left", maintain_order="left")["key"]
        .fill_null("")
    )


ENTITY_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "name": pl.String(),
    "country": pl.String(),
    "address": pl.String(),
    "region": pl.String(),
    "lei": pl.String(),
    "duns": pl.String(),
    "os_id": pl.String(),
    "tax_id": pl.String(),
    "sources": pl.List(pl.String()),
    "n_records": pl.UInt32(),
}
_SOURCE_RANK = {"suppliers": 0, "audits": 1, "trade_shipper": 2, "trade_consignee": 3, "buyers": 4}


@dataclass
class Resolved:
    """The resolve stage's frames."""

    mentions: pl.DataFrame  # MENTION_SCHEMA + entity_id, probability, decision, method
    entities: pl.DataFrame  # ENTITY_SCHEMA
    enforcement_hits: pl.DataFrame  # enforcement rows + record_id, entity_id, match_probability, decision

    def frames(self) -> dict[str, pl.DataFrame]:
        """For checkpoints."""
        return {
            "mentions": self.mentions,
            "entities": self.entities,
            "enforcement_hits": self.enforcement_hits,
        }

    @classmethod
    def from_frames(cls, frames: Mapping[str, pl.DataFrame]) -> Resolved:
        """From a checkpoint."""
        return cls(frames["mentions"], frames["entities"], frames["enforcement_hits"])


DEFAULT_BUYER = "Your organisation"


def buyer_names(suppliers: pl.DataFrame) -> pl.Series:
    """The buyer of every supplier row: its ``buyer`` cell, else the one default buyer of the list."""
    if "buyer" in suppliers.columns:
        return suppliers["buyer"].fill_null(DEFAULT_BUYER).alias("buyer")
    return pl.Series("buyer", [DEFAULT_BUYER] * suppliers.height, dtype=pl.String)


def buyer_mentions(suppliers: pl.DataFrame) -> pl.DataFrame:
    """One mention per distinct buyer of the supplier lists (country unknown)."""
    names = buyer_names(suppliers).unique().sort()
    return pl.DataFrame(
        {"source": "buyers", "record_id": "buyer:" + names, "name": names},
        schema_overrides={"source": pl.String},
    ).select(
        pl.col(c) if c in ("source", "record_id", "name") else pl.lit(None, dtype=t).alias(c)
        for c, t in MENTION_SCHEMA.items()
    )


def all_mentions(inputs: ScreenInputs) -> pl.DataFrame:
    """Every mention of an organisation in the inputs, except enforcement lists."""
    parts = [supplier_mentions(inputs.suppliers), buyer_mentions(inputs.suppliers)]
    if inputs.trade is not None and inputs.trade.height:
        parts.append(trade_party_mentions(inputs.trade))
    if inputs.audits is not None and inputs.audits.height:
        parts.append(audit_facility_mentions(inputs.audits))
    return pl.concat(parts)


def _entity_id_from_key(keys: pl.Series) -> pl.Series:
    uniq = keys.unique()
    ids = [
        "E" + hashlib.sha1(k.encode("utf-8"), usedforsecurity=False).hexdigest()[:14] for k in uniq.to_list()
    ]
    mapping = pl.DataFrame({"k": uniq, "entity_id": ids})
    return pl.DataFrame({"k": keys}).join(mapping, on="k", how="left", maintain_order="left")["entity_id"]


def resolve_exact(mentions: pl.DataFrame) -> pl.DataFrame:
    """Mentions to entities by normalised name key and country (matching's exact-key tier).

    Returns the mentions with ``entity_id``, ``probability`` 1.0, ``decision`` match, ``method``.
    """
    keyed = mentions.with_columns(name_keys(mentions["name"]).alias("_name_key"))
    keyed = keyed.with_columns(
        pl.when(pl.col("_name_key") == "")
        .then(pl.col("source") + ":" + pl.col("record_id"))  # an empty key never merges
        .otherwise(pl.col("_name_key") + "|" + pl.col("country").fill_null("??"))
        .alias("_key")
    )
    # A buyer named in a supplier list has no country: it is the consignee (or other party) with the
    # same name key when exactly one such entity exists, else an entity of its own.
    others = keyed.filter(pl.col("source") != "buyers")
    unique_keys = (
        others.group_by("_name_key")
        .agg(pl.col("_key").unique().alias("_keys"))
        .filter(pl.col("_keys").list.len() == 1)
        .select("_name_key", pl.col("_keys").list.first().alias("_party_key"))
    )
    keyed = (
        keyed.join(unique_keys, on="_name_key", how="left")
        .with_columns(
            pl.when(pl.col("source") == "buyers")
            .then(pl.coalesce("_party_key", pl.lit("buyer|") + pl.col("_name_key")))
            .otherwise(pl.col("_key"))
            .alias("_key")
        )
        .drop("_party_key", "_name_key")
    )
    return keyed.with_columns(
        _entity_id_from_key(keyed["_key"]).alias("entity_id"),
        pl.lit(1.0).alias("probability"),
        pl.lit("match").alias("decision"),
        pl.lit("exact_key").alias("method"),
    ).drop("_key")


def entities_from_mentions(resolved: pl.DataFrame) -> pl.DataFrame:
    """One row per entity: attributes from its best mention (supplier rows first), identifiers merged."""
    ranked = resolved.with_columns(
        pl.col("source").replace_strict(_SOURCE_RANK, default=9, return_dtype=pl.Int8).alias("_rank")
    ).sort(["entity_id", "_rank", "record_id"])
    first_non_null = [pl.col(c).drop_nulls().first().alias(c) for c in ("address", "region", *_ID_COLUMNS)]
    return (
        ranked.group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("name").first(),
            pl.col("country").first(),
            *first_non_null,
            pl.col("source").unique().sort().alias("sources"),
            pl.len().cast(pl.UInt32).alias("n_records"),
        )
        .select(list(ENTITY_SCHEMA))
        .cast(ENTITY_SCHEMA)  # type: ignore[arg-type]
        .sort("entity_id")
    )


def enforcement_names(enforcement: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per listed name or alias: enforcement row, the name variant, its country."""
    base = enforcement.with_columns(
        stable_id("enf:", ["list", "name", "country"]).alias("record_id")
        if "list" in enforcement.columns
        else stable_id("enf:", ["name", "country"]).alias("record_id")
    )
    aliases = (
        base.select("record_id", pl.col("aliases").alias("variant")).explode("variant").drop_nulls("variant")
        if "aliases" in base.columns
        else pl.DataFrame(schema={"record_id": pl.String, "variant": pl.String})
    )
    names = pl.concat([base.select("record_id", pl.col("name").alias("variant")), aliases]).unique()
    return base, names


def link_enforcement_exact(enforcement: pl.DataFrame, entities: pl.DataFrame) -> pl.DataFrame:
    """Enforcement entries matched to entities by exact name key (names and aliases) and country.

    A listed entry without a country matches the key in any country.
    """
    base, variants = enforcement_names(enforcement)
    variants = variants.join(base.select("record_id", "country"), on="record_id", how="left").with_columns(
        name_keys(variants["variant"]).alias("key")
    )
    ent = entities.select("entity_id", "country", name_keys(entities["name"]).alias("key"))
    exact = variants.filter(pl.col("country").is_not_null()).join(ent, on=["key", "country"], how="inner")
    any_country = (
        variants.filter(pl.col("country").is_null()).drop("country").join(ent, on="key", how="inner")
    )
    pairs = (
        pl.concat([exact.select("record_id", "entity_id"), any_country.select("record_id", "entity_id")])
        .filter(pl.col("record_id").is_not_null())
        .unique()
    )
    return (
        pairs.join(base, on="record_id", how="inner")
        .with_columns(
            pl.lit(1.0).alias("match_probability"),
            pl.lit("match").alias("decision"),
            pl.lit("exact_key").alias("method"),
        )
        .sort("record_id", "entity_id")
    )


def resolve_entities(
    inputs: ScreenInputs,
    *,
    decisions: pl.DataFrame | None = None,
    engine: Engine = "local",
    progress: Progress | None = None,
) -> Resolved:
    """Stage 1: every mention to an entity; enforcement entries linked to entities.

    Exact normalised-key groups first (millions of shipment lines collapse to their distinct parties),
    then matching's no-chaining ``dedupe`` merges the groups that are spellings of one company
    (transliterations, typos, legal-form variants; on Spark its candidate generation and scoring run
    on the executors); remembered decisions apply. Enforcement names and aliases are linked to the
    entities by ``EntityIndex.link`` (on Spark: its Arrow kernel).
    """
    mentions = all_mentions(inputs)
    exact = resolve_exact(mentions)
    merged, review = merge_fuzzy(exact, decisions=decisions, engine=engine)
    entities = entities_from_mentions(merged)
    if inputs.enforcement is not None and inputs.enforcement.height:
        hits = link_enforcement(inputs.enforcement, entities, decisions=decisions, engine=engine)
    else:
        hits = pl.DataFrame(
            schema={"record_id": pl.String, "entity_id": pl.String, "match_probability": pl.Float64}
        )
    return Resolved(
        pl.concat([merged, review], how="diagonal_relaxed").sort("source", "record_id", "entity_id"),
        entities,
        hits,
    )


def _key_groups(exact: pl.DataFrame) -> pl.DataFrame:
    """One record per exact-key group (its best mention), the unit the fuzzy matcher compares."""
    ranked = exact.filter(pl.col("source") != "buyers").with_columns(
        pl.col("source").replace_strict(_SOURCE_RANK, default=9, return_dtype=pl.Int8).alias("_rank")
    )
    return (
        ranked.sort(["entity_id", "_rank", "record_id"])
        .group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("name").first(),
            pl.col("country").first(),
            *[pl.col(c).drop_nulls().first().alias(c) for c in ("address", *_ID_COLUMNS)],
        )
        .rename({"entity_id": "id"})
    )


def merge_fuzzy(
    exact: pl.DataFrame, *, decisions: pl.DataFrame | None, engine: Engine = "local"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Merge exact-key groups that matching's dedupe clusters together; return (mentions, review rows).

    A merged group takes the cluster's id (its smallest member id, stable while membership is) and the
    cluster probability; pairs in the review band are returned as ``decision = review`` rows that do
    not change any entity (an analyst confirms them, and the decision is applied on the next run).
    On Spark the candidate generation and scoring of the groups against themselves run on the
    executors (``distributed.spark.spark_dedupe_with_pairs``); clustering stays on the driver.
    """
    groups = _key_groups(exact)
    if groups.height < 2:
        return exact, pl.DataFrame()
    if engine == "spark":
        from risk_engine.distributed.spark import spark_dedupe_with_pairs

        clusters, pairs = spark_dedupe_with_pairs(groups, decisions=decisions)
    else:
        from risk_engine.matching.cluster import dedupe_with_pairs

        clusters, pairs = dedupe_with_pairs(groups, decisions=decisions)
    # A pair's probability can differ in the last bit with the batch it was scored in (vectorised exp):
    # rounded far below any meaningful precision, both engines give the same bytes.
    clusters = clusters.with_columns(pl.col("probability").round(12))
    if pairs.height:
        pairs = pairs.with_columns(pl.col("probability").round(12))
    moved = clusters.filter(pl.col("cluster_id") != pl.col("id")).select(
        pl.col("id").alias("entity_id"), pl.col("cluster_id"), pl.col("probability").alias("_p")
    )
    merged = (
        exact.join(moved, on="entity_id", how="left")
        .with_columns(
            pl.coalesce("cluster_id", "entity_id").alias("entity_id"),
            pl.when(pl.col("cluster_id").is_not_null())
            .then(pl.col("_p").fill_null(1.0))
            .otherwise(pl.col("probability"))
            .alias("probability"),
            pl.when(pl.col("cluster_id").is_not_null())
            .then(pl.lit("model"))
            .otherwise(pl.col("method"))
            .alias("method"),
        )
        .drop("cluster_id", "_p")
    )
    review = pl.DataFrame()
    if pairs.height and "decision" in pairs.columns:
        from risk_engine.matching.cluster import mark_same_cluster

        final = dict(clusters.select("id", "cluster_id").iter_rows())
        rv = (
            mark_same_cluster(pairs, clusters)
            .filter((pl.col("decision") == "review") & ~pl.col("same_cluster"))
            .select("left_id", "right_id", "probability")
        )
        if rv.height:
            names = groups.select(pl.col("id").alias("left_id"), "name", "country")
            review = rv.join(names, on="left_id", how="left").select(
                pl.lit("entity_review").alias("source"),
                pl.col("left_id").alias("record_id"),
                "name",
                "country",
                pl.col("right_id").replace_strict(final, default=None).alias("entity_id"),
                "probability",
                pl.lit("review").alias("decision"),
                pl.lit("model").alias("method"),
            )
    return merged, review


def link_enforcement(
    enforcement: pl.DataFrame, entities: pl.DataFrame, *, decisions: pl.DataFrame | None, engine: Engine
) -> pl.DataFrame:
    """Enforcement entries (names and aliases) linked to entities: exact keys, then the matcher.

    Each (entry, entity) pair keeps its best probability; matches and review-band pairs are kept (the
    scoring treats 0.7-0.9 as possible matches: R_high only, low-severity flags).
    """
    from risk_engine.matching.index import EntityIndex

    exact = link_enforcement_exact(enforcement, entities)
    base, variants = enforcement_names(enforcement)
    query = (
        variants.join(base.select("record_id", "country"), on="record_id", how="left")
        .with_columns(
            (pl.col("record_id") + "#" + pl.int_range(pl.len()).over("record_id").cast(pl.String)).alias("id")
        )
        .select("id", "record_id", pl.col("variant").alias("name"), "country")
    )
    ref = entities.select(pl.col("entity_id").alias("id"), "name", "country", "address", *_ID_COLUMNS)
    index = EntityIndex.build(ref)
    q = query.select("id", "name", "country")
    if engine == "spark":
        from risk_engine.distributed.spark import spark_link

        pairs = spark_link(q, index)
    else:
        pairs = index.link(q)
    if decisions is not None and pairs.height:
        pairs = _apply_pair_decisions(pairs, decisions, query)
    fuzzy = (
        pairs.join(query.select(pl.col("id").alias("left_id"), "record_id"), on="left_id", how="inner")
        .select(
            "record_id",
            pl.col("right_id").alias("entity_id"),
            pl.col("probability").alias("match_probability"),
            "decision",
            pl.lit("model").alias("method"),
        )
        .join(base, on="record_id", how="inner")
    )
    both = pl.concat([exact, fuzzy], how="diagonal_relaxed")
    return (
        both.sort(
            ["record_id", "entity_id", "match_probability", "method"], descending=[False, False, True, False]
        )
        .unique(subset=["record_id", "entity_id"], keep="first")
        .sort("record_id", "entity_id")
    )


def _apply_pair_decisions(pairs: pl.DataFrame, decisions: pl.DataFrame, query: pl.DataFrame) -> pl.DataFrame:
    """Remembered decisions on (enforcement record, entity): rejected pairs go, confirmed become 1.0."""
    by_record = pairs.join(query.select(pl.col("id").alias("left_id"), "record_id"), on="left_id")
    d = decisions.select(pl.col("left_id").alias("record_id"), pl.col("right_id"), "decision")
    out = by_record.join(d.rename({"decision": "_d"}), on=["record_id", "right_id"], how="left")
    out = out.filter(pl.col("_d").ne_missing("reject")).with_columns(
        pl.when(pl.col("_d") == "confirm").then(1.0).otherwise(pl.col("probability")).alias("probability"),
        pl.when(pl.col("_d") == "confirm")
        .then(pl.lit("match"))
        .otherwise(pl.col("decision"))
        .alias("decision"),
    )
    return out.drop("_d", "record_id")


def matches_table(resolved: Resolved) -> pl.DataFrame:
    """The matches output: every mention and enforcement entry with the entity it was linked to.

    Exact self-links of a supplier row to its own entity are kept: they show which rows were merged.
    """
    names = resolved.entities.select("entity_id", pl.col("name").alias("entity_name"))
    mentions = resolved.mentions.join(names, on="entity_id", how="left").select(
        "source",
        "record_id",
        pl.col("name").alias("record_name"),
        pl.col("country").alias("record_country"),
        "entity_id",
        "entity_name",
        "probability",
        "decision",
        "method",
    )
    parts = [mentions]
    hits = resolved.enforcement_hits
    if hits.height:
        parts.append(
            hits.join(names, on="entity_id", how="left").select(
                pl.lit("enforcement").alias("source"),
                "record_id",
                pl.col("name").alias("record_name"),
                pl.col("country").alias("record_country"),
                "entity_id",
                "entity_name",
                pl.col("match_probability").alias("probability"),
                "decision",
                "method",
            )
        )
    return pl.concat(parts).cast(MATCHES_SCHEMA).sort("source", "record_id", "entity_id")  # type: ignore[arg-type]


def trade_with_entities(trade: pl.DataFrame, mentions: pl.DataFrame) -> pl.DataFrame:
    """Trade rows with ``shipper_entity_id`` / ``consignee_entity_id`` and their match probabilities."""
    out = trade
    for role in ("shipper", "consignee"):
        m = mentions.filter(pl.col("source") == f"trade_{role}").select(
            pl.col("name").alias(f"{role}_name"),
            pl.col("country").alias(f"{role}_country"),
            pl.col("address").alias(f"{role}_address"),
            pl.col("entity_id").alias(f"{role}_entity_id"),
            pl.col("probability").alias(f"{role}_match_probability"),
        )
        if f"{role}_address" not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.String).alias(f"{role}_address"))
        out = out.join(
            m, on=[f"{role}_name", f"{role}_country", f"{role}_address"], how="left", nulls_equal=True
        )
    return out


def audits_with_entities(audits: pl.DataFrame, mentions: pl.DataFrame) -> pl.DataFrame:
    """Audit findings with the ``entity_id`` of their facility and the match probability."""
    keyed = audits.with_columns(
        pl.col("facility_name").alias("name"),
        pl.col("facility_country").alias("country"),
        _col(audits, "facility_address").alias("address"),
        *[_col(audits, c).alias(c) for c in _ID_COLUMNS if c not in audits.columns],
    )
    keyed = keyed.with_columns(stable_id("aud:", ["name", "country", "address", *_ID_COLUMNS]).alias("_rid"))
    m = mentions.filter(pl.col("source") == "audits").select(
        pl.col("record_id").alias("_rid"), "entity_id", pl.col("probability").alias("match_probability")
    )
    return keyed.join(m, on="_rid", how="left").drop("_rid", "name", "address").drop("country", strict=False)


def suppliers_with_entities(suppliers: pl.DataFrame, mentions: pl.DataFrame) -> pl.DataFrame:
    """Supplier rows with the ``entity_id`` they resolved to and their buyer's ``buyer_entity_id``."""
    m = mentions.filter(pl.col("source") == "suppliers").select(
        pl.col("record_id").alias("id"), "entity_id", pl.col("probability").alias("match_probability")
    )
    b = mentions.filter(pl.col("source") == "buyers").select(
        pl.col("name").alias("buyer"), pl.col("entity_id").alias("buyer_entity_id")
    )
    return (
        suppliers.with_columns(pl.col("id").cast(pl.String), buyer_names(suppliers))
        .join(m, on="id", how="left")
        .join(b, on="buyer", how="left")
    )


# --- versions and notes -------------------------------------------------------------------------------


def collect_versions(
    methodology: str = "fl-v1", *, reference: Mapping[str, pl.DataFrame] | None = None
) -> dict[str, str]:
    """Engine, methodology parameters, reference pack, country index and matcher model versions.

    They go into the run id, every scores row and the manifest. ``reference`` are the user-supplied
    reference frames of the run (``ScreenInputs.reference``): they decide which country index runs.
    """
    from risk_engine import __version__
    from risk_engine.scoring.registry import get_methodology

    method = get_methodology(methodology)
    versions = {
        "engine": __version__,
        "methodology": method.name,
        "params": method.params_version,
        "params_sha256": method.sha256,
    }
    try:
        from risk_engine.reference.loaders import manifest

        versions["reference"] = str(manifest().get("pack_version", "unknown"))
    except Exception:  # a missing pack is reported by the scoring stage with its own error
        versions["reference"] = "unavailable"
    versions["country_index"] = country_index_version(reference or {})
    versions["model"] = _model_version()
    return versions


def country_index_version(frames: Mapping[str, pl.DataFrame]) -> str:
    """Which country index the score stage runs, named as scoring names it in every explanation.

    ``gsi`` for a user-supplied GSI table (or a prepared index built from one), ``user`` for another
    prepared index, else the shipped index's own version (its ``index_version`` column).
    """
    prepared = frames.get("country_index")
    if prepared is not None:
        return "gsi" if "gsi_components" in prepared.columns else "user"
    if "gsi" in frames:
        return "gsi"
    try:
        from risk_engine.reference import load_country_index

        shipped = load_country_index()
    except Exception:  # a missing pack is reported by the scoring stage with its own error
        return "unavailable"
    if "index_version" in shipped.columns and shipped.height:
        return str(shipped.get_column("index_version")[0])
    return "shipped"


def _model_version() -> str:
    """The matcher model file and its checksum (from its manifest), e.g. ``matcher-v1.json@1a2b3c4d``."""
    try:
        from risk_engine.matching.model import default_model_path, manifest_path

        path = default_model_path()
        manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
        return f"{path.name}@{str(manifest.get('sha256', ''))[:12]}"
    except (ImportError, OSError, ValueError):
        return "unavailable"


def missing_notes(inputs: ScreenInputs) -> list[str]:
    """What the result lacks because an optional input was not given (shown in summary and report)."""
    notes = []
    if inputs.trade is None or inputs.trade.height == 0:
        notes.append(
            "No trade records: upstream tiers come only from declared sub-suppliers (parent_id); risk beyond "
            "them is backfilled from country/sector averages and is unknown rather than low."
        )
    if inputs.audits is None or inputs.audits.height == 0:
        notes.append(
            "No audit findings: no ILO-indicator evidence and no clean-audit discount; scores rest on "
            "country/sector risk, enforcement lists and upstream links."
        )
    if inputs.enforcement is None or inputs.enforcement.height == 0:
        notes.append(
            "No enforcement list: UFLPA / WRO entity flags cannot be raised (location overrides such as "
            "XUAR still apply)."
        )
    return notes


# --- the stage runner and screen() -------------------------------------------------------------------


def _run_stage(
    name: str,
    compute: Callable[[], tuple[dict[str, pl.DataFrame], dict[str, Any], str]],
    *,
    store: StageStore | None,
    progress: Progress,
    timings: dict[str, float],
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    cached = store.load(name) if store is not None else None
    if cached is not None:
        progress.start(name)
        progress.finish(name, "reused from checkpoint")
        timings[name] = 0.0
        return cached
    progress.start(name)
    t0 = time.perf_counter()
    frames, meta, summary = compute()
    timings[name] = round(time.perf_counter() - t0, 3)
    if store is not None:
        store.save(name, frames, meta)
    progress.finish(name, summary)
    return frames, meta


def _check_inputs(inputs: ScreenInputs) -> None:
    from risk_engine.errors import InputSchemaError

    s = inputs.suppliers
    for column in ("id", "name", "country"):
        if column not in s.columns:
            raise InputSchemaError("suppliers frame lacks a required column", column=column)
    dup = s.filter(pl.col("id").is_duplicated())
    if dup.height:
        row = dup.row(0, named=True)
        raise InputSchemaError(
            "duplicate supplier id", row=row.get("row"), column="id", value=row["id"], path="suppliers"
        )


def screen(
    inputs: ScreenInputs,
    *,
    methodology: str = "fl-v1",
    decisions: pl.DataFrame | None = None,
    engine: Engine = "local",
    as_of: date | None = None,
    progress: Progress | None = None,
    store: StageStore | None = None,
    release_trade: bool = False,
) -> ScreenResult:
    """Screen supplier lists against trade, audit and enforcement data (see the module docstring).

    ``release_trade`` drops ``inputs.trade`` once the graph is built (the batch job's shipment lines
    are the largest frame and no later stage needs them), lowering the peak memory of large screens.
    """
    from risk_engine.scoring.registry import get_methodology

    progress = progress or _NullProgress()
    method = get_methodology(methodology)
    _check_inputs(inputs)
    evaluated = evaluation_date(inputs, as_of)
    versions = collect_versions(methodology, reference=inputs.reference)
    timings: dict[str, float] = {}

    def resolve() -> tuple[dict[str, pl.DataFrame], dict[str, Any], str]:
        r = resolve_entities(inputs, decisions=decisions, engine=engine, progress=progress)
        review = r.mentions.filter(pl.col("decision") == "review").height
        summary = (
            f"{r.mentions.height:,} mentions -> {r.entities.height:,} entities, "
            f"{r.enforcement_hits.height:,} enforcement hits, {review:,} to review"
        )
        return r.frames(), {}, summary

    frames, _ = _run_stage("resolve", resolve, store=store, progress=progress, timings=timings)
    resolved = Resolved.from_frames(frames)

    def graph() -> tuple[dict[str, pl.DataFrame], dict[str, Any], str]:
        g = build_supply_graph(inputs, resolved, as_of=evaluated, engine=engine)
        summary = f"{g['nodes'].height:,} nodes, {g['edges'].height:,} edges"
        return g, {}, summary

    graph_frames, _ = _run_stage("graph", graph, store=store, progress=progress, timings=timings)
    missing = missing_notes(inputs)
    if release_trade:
        inputs.trade = None

    def score() -> tuple[dict[str, pl.DataFrame], dict[str, Any], str]:
        s = score_supply_graph(inputs, resolved, graph_frames, method=method, as_of=evaluated)
        return s, {}, f"{s['scores'].height:,} entities scored"

    score_frames, _ = _run_stage("score", score, store=store, progress=progress, timings=timings)

    def assemble() -> tuple[dict[str, pl.DataFrame], dict[str, Any], str]:
        a = assemble_tables(inputs, resolved, graph_frames, score_frames, versions=versions)
        return a, {}, f"{a['scores'].height:,} result rows"

    out, _ = _run_stage("assemble", assemble, store=store, progress=progress, timings=timings)

    rejects = pl.concat(
        [
            inputs.rejects if inputs.rejects is not None else empty_rejects(),
            graph_frames["issues"],
            score_frames["issues"],
        ],
        how="vertical_relaxed",
    ).cast(REJECTS_SCHEMA)  # type: ignore[arg-type]
    rejects = rejects.sort(list(REJECTS_SCHEMA), nulls_last=True)
    result = ScreenResult(
        scores=out["scores"],
        entities=out["entities"],
        matches=out["matches"],
        edges=graph_frames["edges"],
        explanations=out["explanations"],
        rejects=rejects,
        manifest={},
        audits=out.get("audits"),
        tiers=graph_frames.get("tiers"),
        missing=missing,
        graph_nodes=graph_frames["nodes"],
        enforcement_hits=resolved.enforcement_hits,
        reference=dict(inputs.reference),
    )
    result.manifest = build_manifest(
        inputs, result, methodology=methodology, versions=versions, as_of=evaluated, timings=timings
    )
    return result


def build_manifest(
    inputs: ScreenInputs,
    result: ScreenResult,
    *,
    methodology: str,
    versions: Mapping[str, str],
    as_of: date,
    timings: Mapping[str, float],
) -> dict[str, Any]:
    """The run's manifest: inputs, parameters, versions, counts, timings (paths added by the caller)."""
    scores = result.scores
    flags: dict[str, int] = {}
    if scores.height:
        for text in scores.unique(subset="entity_id")["flags"].drop_nulls().to_list():
            for flag in json.loads(text):
                key = f"{flag.get('type')}:{flag.get('severity')}"
                flags[key] = flags.get(key, 0) + 1
    rejects = result.rejects
    counts = {
        "rows_read": sum(i.rows_read for k, i in inputs.sources.items() if k != "decisions")
        or inputs.suppliers.height,
        "rows_rejected": sum(i.rows_rejected for i in inputs.sources.values()),
        "warnings": rejects.filter(pl.col("severity") == "warning").height,
        "entities": result.entities.height,
        "edges": result.edges.height,
        "scored_rows": scores.height,
        "suppliers": scores.filter(pl.col("role") == "supplier").height,
        "upstream": scores.filter(pl.col("role") == "upstream").height,
        "bands": result.band_counts(),
        "flags": dict(sorted(flags.items())),
        "review_matches": result.matches.filter(pl.col("decision") == "review").height,
    }
    return {
        "methodology": methodology,
        "as_of": as_of.isoformat(),
        "versions": dict(versions),
        "inputs": {
            k: {
                "file": i.file,
                "sha256": i.sha256,
                "rows_read": i.rows_read,
                "rows_rejected": i.rows_rejected,
            }
            for k, i in sorted(inputs.sources.items())
        },
        "counts": counts,
        "stage_timings_s": dict(timings),
        "missing": result.missing,
    }


# --- stages 2-4 -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameGraph:
    """A supply graph as its two frames (what scoring needs of ``graph.build.SupplyGraph``)."""

    nodes: pl.DataFrame
    edges: pl.DataFrame


def build_supply_graph(
    inputs: ScreenInputs, resolved: Resolved, *, as_of: date, engine: Engine = "local"
) -> dict[str, pl.DataFrame]:
    """Stage 2: edges from trade (aggregated per shipper, consignee, HS4) and declared sub-suppliers.

    The two are reconciled into one edge per (supplier, buyer) lane with one set of input shares per
    buyer (``graph.build.reconcile_edges``).
    """
    build: Any = importlib.import_module("risk_engine.graph.build")
    issues: list[pl.DataFrame] = []
    suppliers = suppliers_with_entities(inputs.suppliers, resolved.mentions)
    trade = None
    bol_edges = None
    if inputs.trade is not None and inputs.trade.height:
        trade = trade_with_entities(inputs.trade, resolved.mentions)
        if engine == "spark":
            from risk_engine.distributed.spark import spark_aggregate_trade

            bol_edges = spark_aggregate_trade(trade, as_of=as_of, issues=issues)
        else:
            bol_edges = build.aggregate_trade(trade, as_of=as_of, issues=issues)
    declared = build.declared_edges(suppliers, issues=issues)
    # One edge per (supplier, buyer) lane and one set of shares per buyer (docs/PROPAGATION.md §1).
    labels = resolved.entities.select("entity_id", "name")
    edges = build.reconcile_edges(declared, bol_edges, labels=labels, issues=issues)
    # Sums of floats depend on the order rows are added in, which differs between engines (and between
    # thread schedules); rounding far below any meaningful precision makes equal inputs give equal bytes.
    edges = edges.with_columns(
        pl.col(c).round(d)
        for c, d in (("share", 12), ("value_usd", 6), ("weight_kg", 6))
        if c in edges.columns
    )
    nodes = graph_nodes(resolved, suppliers, trade)
    graph = build.SupplyGraph(nodes, edges)
    issues.append(graph.issues)
    frames = {
        "nodes": graph.nodes,
        "edges": _sorted(graph.edges.select([c for c in build.EDGE_SCHEMA if c in graph.edges.columns])),
        "issues": pl.concat(
            [empty_rejects(), *(i.cast(REJECTS_SCHEMA) for i in issues)],  # type: ignore[arg-type]
            how="vertical_relaxed",
        ),
    }
    tiers = buyer_tiers(graph, suppliers)
    if tiers is not None:
        frames["tiers"] = tiers
    return frames


def graph_nodes(resolved: Resolved, suppliers: pl.DataFrame, trade: pl.DataFrame | None) -> pl.DataFrame:
    """Graph nodes: every entity with its products (HS4 it is listed with or ships) and its type."""
    products = [
        suppliers.select(
            "entity_id",
            pl.col("hs_codes").list.eval(pl.element().str.slice(0, 4)).alias("hs4")
            if "hs_codes" in suppliers.columns
            else pl.lit(None, dtype=pl.List(pl.String)).alias("hs4"),
        ).explode("hs4")
    ]
    if trade is not None and "hs_code" in trade.columns:
        products.append(
            trade.select(
                pl.col("shipper_entity_id").alias("entity_id"), pl.col("hs_code").str.slice(0, 4).alias("hs4")
            ).unique()
        )
    hs4 = (
        pl.concat(products)
        .drop_nulls()
        .filter(pl.col("hs4").str.len_chars() == 4)
        .group_by("entity_id")
        .agg(pl.col("hs4").unique().sort().alias("hs4_list"))
    )
    buyers = resolved.mentions.filter(pl.col("source") == "buyers")["entity_id"]
    listed = suppliers["entity_id"]
    return (
        resolved.entities.join(hs4, on="entity_id", how="left")
        .with_columns(
            pl.when(
                pl.col("entity_id").is_in(buyers.implode()) & ~pl.col("entity_id").is_in(listed.implode())
            )
            .then(pl.lit("buyer"))
            .otherwise(pl.lit("supplier"))
            .alias("node_type"),
            pl.col("hs4_list").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .sort("entity_id")
    )


def buyer_tiers(graph: Any, suppliers: pl.DataFrame) -> pl.DataFrame | None:
    """Every entity reachable upstream from each buyer, with its tier (1 = direct supplier)."""
    try:
        tiers_mod: Any = importlib.import_module("risk_engine.graph.tiers")
    except ImportError:
        return None
    roots = suppliers.select("buyer", "buyer_entity_id").unique().drop_nulls()
    if roots.height == 0:
        return None
    tiers = tiers_mod.tiers_from_roots(graph, roots["buyer_entity_id"].to_list())
    names = roots.rename({"buyer_entity_id": "root"})
    return (
        tiers.join(names, on="root", how="inner")
        .filter(pl.col("tier") > 0)
        .select("buyer", "entity_id", pl.col("tier").cast(pl.Int64))
        .sort("buyer", "entity_id")
    )


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a canonical order, so equal tables are byte-identical on disk whatever the engine."""
    keys = [c for c, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Array)]
    return frame.sort(keys, nulls_last=True) if keys else frame


def score_supply_graph(
    inputs: ScreenInputs,
    resolved: Resolved,
    graph_frames: Mapping[str, pl.DataFrame],
    *,
    method: Any,
    as_of: date,
) -> dict[str, pl.DataFrame]:
    """Stage 3: the methodology scores every entity of the graph."""
    from risk_engine.scoring.score import score_graph

    audits = None
    if inputs.audits is not None and inputs.audits.height:
        audits = audits_with_entities(inputs.audits, resolved.mentions)
    hits = resolved.enforcement_hits if resolved.enforcement_hits.height else None
    country_index, reference = user_reference(inputs.reference)
    tables = score_graph(
        FrameGraph(graph_frames["nodes"], graph_frames["edges"]),
        audits=audits,
        enforcement_hits=hits,
        methodology=method,
        as_of=as_of,
        country_index=country_index,
        reference=reference,
    )
    return {
        "scores": tables.scores.sort("entity_id"),
        "explanations": tables.explanations.sort("entity_id"),
        "issues": tables.issues.cast(REJECTS_SCHEMA),  # type: ignore[arg-type]
    }


def user_reference(frames: Mapping[str, pl.DataFrame]) -> tuple[pl.DataFrame | None, Any]:
    """The scoring inputs from user-supplied reference frames: a GSI table or a newer TVPRA list.

    ``gsi`` switches the country index to the GSI formula (the run's versions then say ``gsi``);
    ``tvpra`` replaces the shipped TVPRA table; ``country_index`` is a prepared index used as given.
    """
    from risk_engine.reference import country_index_from_gsi, load_countries
    from risk_engine.scoring.inherent import load_inherent_reference

    country_index = frames.get("country_index")
    if country_index is None and "gsi" in frames:
        country_index = country_index_from_gsi(frames["gsi"], countries=load_countries())
    reference = load_inherent_reference(tvpra_override=frames["tvpra"]) if "tvpra" in frames else None
    return country_index, reference


def assemble_tables(
    inputs: ScreenInputs,
    resolved: Resolved,
    graph_frames: Mapping[str, pl.DataFrame],
    score_frames: Mapping[str, pl.DataFrame],
    *,
    versions: Mapping[str, str],
) -> dict[str, pl.DataFrame]:
    """Stage 4: the result tables (one scores row per supplier row and per upstream entity)."""
    scores = score_frames["scores"]
    per_entity = scores.select(
        "entity_id",
        "score",
        "band",
        pl.col("r_low").alias("score_low"),
        pl.col("r_high").alias("score_high"),
        pl.col("dci").alias("coverage"),
        "low_coverage",
        "flags",
        "flag_severity",
        "inherent",
        "evidence",
        "propagated",
        "score_unfloored",
        "sector",
        "top_paths",
        "top_indicators",
    )
    tiers = graph_frames.get("tiers")
    min_tier = (
        tiers.group_by("entity_id").agg(pl.col("tier").min().cast(pl.Int64).alias("_tier"))
        if tiers is not None and tiers.height
        else pl.DataFrame(schema={"entity_id": pl.String, "_tier": pl.Int64})
    )
    suppliers = suppliers_with_entities(inputs.suppliers, resolved.mentions)
    supplier_rows = (
        suppliers.select(
            "entity_id",
            pl.col("id").alias("supplier_id"),
            _col(suppliers, "buyer").alias("buyer"),
            pl.lit("supplier").alias("role"),
            "name",
            "country",
            _col(suppliers, "tier").cast(pl.Int64).alias("tier"),
            "match_probability",
            pl.col("row").alias("_order")
            if "row" in suppliers.columns
            else pl.int_range(pl.len()).alias("_order"),
        )
        .join(min_tier, on="entity_id", how="left")
        .with_columns(pl.coalesce("tier", "_tier").alias("tier"))
        .drop("_tier")
        .join(per_entity, on="entity_id", how="left")
    )
    nodes = graph_frames["nodes"]
    buyers = resolved.mentions.filter(pl.col("source") == "buyers")["entity_id"]
    if "node_type" in nodes.columns:
        buyers = pl.concat([buyers, nodes.filter(pl.col("node_type") == "buyer")["entity_id"]])
    upstream = (
        resolved.entities.filter(
            ~pl.col("entity_id").is_in(suppliers["entity_id"].implode())
            & ~pl.col("entity_id").is_in(buyers.implode())
        )
        .select(
            "entity_id",
            pl.lit(None, dtype=pl.String).alias("supplier_id"),
            pl.lit(None, dtype=pl.String).alias("buyer"),
            pl.lit("upstream").alias("role"),
            "name",
            "country",
            pl.lit(1.0).alias("match_probability"),
        )
        .join(min_tier.rename({"_tier": "tier"}), on="entity_id", how="left")
        .join(per_entity, on="entity_id", how="inner")
        .with_columns(pl.lit(None, dtype=pl.Int64).alias("_order"))
    )
    versions_json = json.dumps(dict(sorted(versions.items())), separators=(",", ":"))
    rows = (
        pl.concat([supplier_rows, upstream], how="diagonal_relaxed")
        .with_columns(
            pl.lit(versions.get("methodology", "fl-v1")).alias("methodology"),
            pl.lit(versions_json).alias("versions"),
        )
        .sort(["role", "_order", "entity_id"], descending=[True, False, False], nulls_last=True)
    )
    out_scores = rows.select(list(SCORES_SCHEMA)).cast(SCORES_SCHEMA)  # type: ignore[arg-type]
    node_cols = [c for c in ("node_type",) if c in nodes.columns]
    entities = resolved.entities.join(nodes.select("entity_id", *node_cols), on="entity_id", how="left").join(
        min_tier.rename({"_tier": "tier"}), on="entity_id", how="left"
    )
    frames = {
        "scores": out_scores,
        "entities": entities.sort("entity_id"),
        "matches": matches_table(resolved),
        "explanations": score_frames["explanations"].select(list(EXPLANATIONS_SCHEMA)).sort("entity_id"),
    }
    if inputs.audits is not None and inputs.audits.height:
        frames["audits"] = audits_with_entities(inputs.audits, resolved.mentions)
    return frames
