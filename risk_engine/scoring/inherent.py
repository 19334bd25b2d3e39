"""Inherent risk I(c, r, p): the log-odds scorecard of METHODOLOGY §3.2 and its overrides.

``logit(I) = b0 + bC*C + bS*S + max(bFL*T_fl, bDS*T_ds, bCL*T_cl) + bU*U``. Country and sector alone stay
below the cap (0.45); only the overrides (XUAR location, North Korea, a country-wide import order) set I
higher. Missing data is never low risk: an unknown country takes the median country index (90th
percentile in R_high), an unknown product the middle sector tier, and both are reported.

The pure core works on numbers (:func:`inherent_terms`) and on frames of terms
(:func:`inherent_from_terms`); :func:`inherent_risk` derives the terms for graph entities from the
reference tables in an :class:`InherentReference`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from risk_engine.errors import ReferenceDataError
from risk_engine.scoring.memo import MEMO_MAX_ENTITIES, memo_rows
from risk_engine.scoring.registry import InherentParams, Params

CountryIndexKind = Literal["shipped", "gsi", "user"]

OVERRIDE_XUAR = "XUAR_LOCATED"
OVERRIDE_DPRK = "DPRK"
OVERRIDE_COUNTRY_ORDER = "COUNTRY_WIDE_ORDER"

_CHINA = "CN"


@dataclass(frozen=True)
class InherentTerms:
    """The named terms of one inherent-risk computation, as shown in the explanation."""

    C: float
    S: float
    tvpra_forced: bool
    tvpra_downstream: bool
    tvpra_child: bool
    uflpa_priority: bool
    base: float
    country: float
    sector: float
    listing: float
    uflpa: float
    logit: float
    I: float  # noqa: E741 - the methodology's name for inherent risk
    override: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Terms in the METHODOLOGY §3.9 ``inherent.logit_terms`` shape plus inputs."""
        return {
            "C": round(self.C, 4),
            "S": round(self.S, 4),
            "logit_terms": {
                "base": self.base,
                "C": round(self.country, 4),
                "S": round(self.sector, 4),
                "listing": round(self.listing, 4),
                "uflpa_priority": round(self.uflpa, 4),
            },
            "logit": round(self.logit, 4),
            "I": round(self.I, 4),
            "override": self.override,
        }


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def inherent_terms(
    *,
    C: float,
    S: float,
    params: InherentParams,
    tvpra_forced: bool = False,
    tvpra_downstream: bool = False,
    tvpra_child: bool = False,
    uflpa_priority: bool = False,
    override: str | None = None,
) -> InherentTerms:
    """Inherent risk from its inputs (C and S in [0, 1], clipped); ``override`` names an override."""
    c = min(1.0, max(0.0, float(C)))
    s = min(1.0, max(0.0, float(S)))
    listing = max(
        params.beta_tvpra_forced * tvpra_forced,
        params.beta_tvpra_downstream * tvpra_downstream,
        params.beta_tvpra_child * tvpra_child,
    )
    uflpa = params.beta_uflpa_priority * uflpa_priority
    logit = params.beta0 + params.beta_country * c + params.beta_sector * s + listing + uflpa
    value = min(_sigmoid(logit), params.cap)
    if override is not None:
        value = max(value, override_value(override, params))
    return InherentTerms(
        C=c,
        S=s,
        tvpra_forced=tvpra_forced,
        tvpra_downstream=tvpra_downstream,
        tvpra_child=tvpra_child,
        uflpa_priority=uflpa_priority,
        base=params.beta0,
        country=params.beta_country * c,
        sector=params.beta_sector * s,
        listing=listing,
        uflpa=uflpa,
        logit=logit,
        I=value,
        override=override,
    )


def override_value(override: str, params: InherentParams) -> float:
    """The inherent risk an override sets."""
    values = {
        OVERRIDE_XUAR: params.override_xuar,
        OVERRIDE_DPRK: params.override_dprk,
        OVERRIDE_COUNTRY_ORDER: params.override_country_order,
    }
    return values[override]


def inherent_from_terms(terms: pl.DataFrame, *, params: InherentParams) -> pl.DataFrame:
    """Vectorised :func:`inherent_terms`: adds ``logit`` and ``inherent`` to a frame of terms.

    Needs columns ``C``, ``S`` (Float64), ``t_fl``, ``t_ds``, ``t_cl``, ``u`` (Boolean) and ``override``
    (String, null when none).
    """
    c = pl.col("C").clip(0.0, 1.0)
    s = pl.col("S").clip(0.0, 1.0)
    listing = pl.max_horizontal(
        pl.col("t_fl").cast(pl.Float64) * params.beta_tvpra_forced,
        pl.col("t_ds").cast(pl.Float64) * params.beta_tvpra_downstream,
        pl.col("t_cl").cast(pl.Float64) * params.beta_tvpra_child,
    )
    logit = (
        params.beta0
        + params.beta_country * c
        + params.beta_sector * s
        + listing
        + pl.col("u").cast(pl.Float64) * params.beta_uflpa_priority
    )
    ov = (
        pl.when(pl.col("override") == OVERRIDE_XUAR)
        .then(params.override_xuar)
        .when(pl.col("override") == OVERRIDE_DPRK)
        .then(params.override_dprk)
        .when(pl.col("override") == OVERRIDE_COUNTRY_ORDER)
        .then(params.override_country_order)
        .otherwise(0.0)
    )
    return terms.with_columns(logit=logit).with_columns(
        inherent=pl.max_horizontal(
            pl.min_horizontal(1.0 / (1.0 + (-pl.col("logit")).exp()), pl.lit(params.cap)), ov
        )
    )


def clean_audit_kappa(*, audit_type: str | None, worker_voice: bool, params: Params) -> float:
    """κ for a qualifying clean audit: 0.8 announced, 0.7 semi/unannounced or with worker voice."""
    ca = params.clean_audit
    kind = (audit_type or "").casefold()
    unannounced = "unannounced" in kind or "semi" in kind
    kappa = ca.kappa_unannounced if (unannounced or worker_voice) else ca.kappa_announced
    return max(kappa, ca.kappa_floor)


# ---------------------------------------------------------------------------------------------------
# Overrides: location in XUAR, North Korea, country-wide orders.

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STRONG_XUAR = ("xinjiang", "xuar", "新疆", "uyghur autonomous", "uighur autonomous")


def uscc_is_xuar(tax_id: str | None, params: InherentParams) -> bool:
    """True when ``tax_id`` is an 18-character USCC whose division code starts with the XUAR prefix."""
    if not tax_id:
        return False
    code = re.sub(r"[\s-]", "", tax_id).upper()
    if len(code) != 18 or not code.isalnum() or not code[2:8].isdigit():
        return False
    return code[2:8].startswith(params.xuar_uscc_division_prefix)


def _token_hit(text: str, tokens: Iterable[str]) -> str | None:
    folded = text.casefold()
    words = set(_WORD.findall(folded))
    for tok in tokens:
        if not tok.isascii():
            if tok in folded:
                return tok
        elif " " in tok:
            if re.search(rf"\b{re.escape(tok)}\b", folded):
                return tok
        elif tok in words:
            return tok
    return None


def xuar_evidence(
    *,
    country: str | None,
    region: str | None,
    address: str | None,
    tax_id: str | None,
    params: InherentParams,
    name: str | None = None,
) -> str | None:
    """Why an entity is located in XUAR ("region=Xinjiang", "USCC prefix 65" ...), or None.

    Outside China (a known non-CN country) nothing counts; with no country only unambiguous tokens
    (Xinjiang, XUAR, 新疆) do, since place names such as Aksu also exist elsewhere. A Chinese legal
    name begins with its registration locality (行政区划 + 字号 + 行业 + 组织形式), so an XUAR place
    name *leading* a Chinese entity's name is a registration cue like the USCC prefix (registration is
    evidence, not proof); place names later in a name (brands, products) do not count.
    """
    if country not in (None, _CHINA):
        return None
    tokens: tuple[str, ...] = params.xuar_tokens if country == _CHINA else _STRONG_XUAR
    reasons = []
    if region and (hit := _token_hit(region, tokens)):
        reasons.append(f"region={region} ({hit})")
    if address and (hit := _token_hit(address, tokens)):
        reasons.append(f"address token '{hit}'")
    if country == _CHINA and uscc_is_xuar(tax_id, params):
        reasons.append(f"USCC division prefix {params.xuar_uscc_division_prefix}")
    if country == _CHINA and name and (hit := _leading_token(name, tokens)):
        reasons.append(f"name begins with '{hit}'")
    return "; ".join(reasons) or None


def _leading_token(name: str, tokens: Iterable[str]) -> str | None:
    folded = name.casefold().strip()
    words = _WORD.findall(folded)
    head = " ".join(words[:3])
    for tok in tokens:
        if not tok.isascii():
            if folded.startswith(tok):
                return tok
        elif head == tok or head.startswith(tok + " "):
            return tok
    return None


# ---------------------------------------------------------------------------------------------------
# Reference tables in the shapes this module uses.


@dataclass(frozen=True)
class InherentReference:
    """Reference tables for inherent risk, normalised to the columns this module uses.

    * ``country_index``: ``iso2``, ``C`` (Float64 in [0,1]); countries absent or with null C are missing.
    * ``sector_index``: ``hs_prefix`` (2 or 4 digits), ``sector``, ``S``.
    * ``tvpra``: ``iso2``, ``hs_prefix``, ``good``, ``forced``, ``child``, ``downstream`` (Boolean), ``edition``.
    * ``uflpa_priority``: ``hs_prefix``, ``material``.
    """

    country_index: pl.DataFrame
    sector_index: pl.DataFrame
    tvpra: pl.DataFrame
    uflpa_priority: pl.DataFrame
    country_index_kind: CountryIndexKind = "shipped"
    versions: Mapping[str, str] = field(default_factory=dict)
    # Results that depend only on these tables and the parameters (not init: ``dataclasses.replace``
    # with another table starts empty). Keyed by ``id(params)``; the params object is kept and checked.
    _memo: dict[int, tuple[Params, dict[Any, float | None]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _row_memo: dict[int, tuple[Params, dict[Any, Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def memo(self, params: Params) -> dict[Any, float | None]:
        """The memo of values computed from this reference with ``params``."""
        held = self._memo.get(id(params))
        if held is None or held[0] is not params:
            held = (params, {})
            self._memo[id(params)] = held
        return held[1]

    def row_memo(self, params: Params) -> dict[Any, Any]:
        """The memo of per-entity :func:`inherent_risk` rows computed from this reference with ``params``."""
        held = self._row_memo.get(id(params))
        if held is None or held[0] is not params:
            held = (params, {})
            self._row_memo[id(params)] = held
        return held[1]

    def country_quantile(self, q: float) -> float:
        """The q-quantile of known country index values (used for missing countries)."""
        known = self.country_index.get_column("C").drop_nulls()
        if known.is_empty():
            msg = "country index holds no values"
            raise ReferenceDataError(msg)
        value = known.quantile(q, interpolation="linear")
        return float(value) if value is not None else 0.5


def _empty_tvpra() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "iso2": pl.String,
            "hs_prefix": pl.String,
            "good": pl.String,
            "forced": pl.Boolean,
            "child": pl.Boolean,
            "downstream": pl.Boolean,
            "edition": pl.String,
        }
    )


def _pick(frame: pl.DataFrame, names: Iterable[str], what: str) -> str:
    for name in names:
        if name in frame.columns:
            return name
    msg = f"{what}: none of the columns {list(names)} found (have {frame.columns})"
    raise ReferenceDataError(msg)


def _yes(col: str) -> pl.Expr:
    c = pl.col(col)
    return c.cast(pl.String).str.to_lowercase().is_in(["yes", "true", "1", "y"]).fill_null(False)


def _hs_prefix(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 4)


def load_inherent_reference(
    *,
    gsi_path: Path | None = None,
    tvpra_edition: str | None = None,
    tvpra_override: pl.DataFrame | None = None,
) -> InherentReference:
    """Build the reference from the shipped pack (``risk_engine.reference``), optionally with a GSI file.

    ``tvpra_edition`` picks one edition of the TVPRA list (default: the newest shipped);
    ``tvpra_override`` replaces the TVPRA table (same columns as ``load_tvpra``). The shipped reference
    with no options is built once per process (the API scores small graphs per request).
    """
    if gsi_path is None and tvpra_edition is None and tvpra_override is None:
        return _shipped_reference()
    return _build_inherent_reference(
        gsi_path=gsi_path, tvpra_edition=tvpra_edition, tvpra_override=tvpra_override
    )


@functools.lru_cache(maxsize=1)
def _shipped_reference() -> InherentReference:
    return _build_inherent_reference(gsi_path=None, tvpra_edition=None, tvpra_override=None)


def _build_inherent_reference(
    *, gsi_path: Path | None, tvpra_edition: str | None, tvpra_override: pl.DataFrame | None
) -> InherentReference:
    import importlib

    # resolved at call time: the reference package is another module and may expose loaders lazily
    ref: Any = importlib.import_module("risk_engine.reference")

    versions: dict[str, str] = {}
    try:
        pack = ref.manifest()
        versions["reference_pack"] = str(pack.get("pack_version") or pack.get("version") or "unknown")
    except Exception as exc:
        msg = f"reference pack unavailable: {exc}"
        raise ReferenceDataError(msg) from exc
    kind: CountryIndexKind = "shipped"
    if gsi_path is not None:
        ci = ref.country_index_from_gsi(ref.load_gsi(gsi_path), countries=ref.load_countries())
        kind = "gsi"
        versions["country_index"] = f"gsi:{gsi_path.name}"
    else:
        ci = ref.load_country_index()
        versions["country_index"] = (
            str(ci.get_column("index_version")[0]) if "index_version" in ci.columns else "shipped"
        )
    country_index = normalise_country_index(ci)
    sector = ref.load_sector_index()
    s_code = _pick(sector, ("hs_prefix", "hs_code", "hscode", "hs", "code"), "sector index")
    s_val = _pick(sector, ("S", "S_p", "s_p", "sector_index", "score"), "sector index")
    s_label = _pick(sector, ("sector", "label", "sector_label", "name"), "sector index")
    sector_index = sector.select(
        _hs_prefix(s_code).alias("hs_prefix"),
        pl.col(s_label).cast(pl.String).alias("sector"),
        pl.col(s_val).cast(pl.Float64).alias("S"),
    ).filter(pl.col("hs_prefix").str.len_chars() >= 2)
    tvpra = tvpra_hs_table(
        ref.load_tvpra() if tvpra_override is None else tvpra_override,
        ref.load_goods_hs(),
        edition=tvpra_edition,
    )
    if tvpra.height:
        versions["tvpra"] = str(tvpra.get_column("edition").max())
    uf = ref.load_uflpa_priority_hs()
    u_code = _pick(uf, ("hs_prefix", "hs_code", "hscode", "hs", "code"), "UFLPA priority")
    u_mat = _pick(uf, ("material", "sector", "name"), "UFLPA priority")
    uflpa = uf.select(_hs_prefix(u_code).alias("hs_prefix"), pl.col(u_mat).cast(pl.String).alias("material"))
    return InherentReference(
        country_index=country_index,
        sector_index=sector_index,
        tvpra=tvpra,
        uflpa_priority=uflpa.filter(pl.col("hs_prefix").str.len_chars() >= 2).unique(),
        country_index_kind=kind,
        versions=versions,
    )


def normalise_country_index(ci: pl.DataFrame) -> pl.DataFrame:
    """``iso2, C`` from a country-index frame (``C_c`` or ``C``); rows flagged ``missing`` get a null C.

    A null C is filled later with the median (90th percentile in R_high) and lowers the coverage index,
    so a country without data is never read as low risk.
    """
    c_col = _pick(ci, ("C_c", "C", "c", "country_index", "index"), "country index")
    out = ci.select(pl.col("iso2").cast(pl.String), pl.col(c_col).cast(pl.Float64).alias("C"))
    if "missing" in ci.columns:
        out = out.with_columns(
            C=pl.when(ci.get_column("missing").fill_null(False)).then(None).otherwise(pl.col("C"))
        )
    return out.filter(pl.col("iso2").is_not_null()).unique("iso2", keep="first", maintain_order=True)


def tvpra_hs_table(
    tvpra: pl.DataFrame, goods_hs: pl.DataFrame, *, edition: str | None = None
) -> pl.DataFrame:
    """TVPRA (country, good) rows joined to the goods -> HS crosswalk: one row per (iso2, HS prefix, good)."""
    if tvpra.is_empty():
        return _empty_tvpra()
    ed_col = next((c for c in ("edition", "app_file_year", "list_edition") if c in tvpra.columns), None)
    t = tvpra
    if ed_col is not None:
        t = t.with_columns(pl.col(ed_col).cast(pl.String).alias("_edition"))
        chosen = edition if edition is not None else t.get_column("_edition").max()
        t = t.filter(pl.col("_edition") == chosen)
    else:
        t = t.with_columns(pl.lit(edition or "unknown").alias("_edition"))
    forced = _pick(t, ("forced_labor", "forced_labour", "forced"), "TVPRA")
    child = _pick(t, ("child_labor", "child_labour", "child"), "TVPRA")
    down = next((c for c in ("produced_with_inputs", "downstream", "derived") if c in t.columns), None)
    fcl = next((c for c in ("forced_child_labor", "forced_child_labour") if c in t.columns), None)
    t = t.select(
        pl.col("iso2").cast(pl.String),
        pl.col("good").cast(pl.String),
        (_yes(forced) | (_yes(fcl) if fcl else pl.lit(False))).alias("forced"),
        _yes(child).alias("child"),
        (_yes(down) if down else pl.lit(False)).alias("downstream"),
        pl.col("_edition").alias("edition"),
    )
    g_code = _pick(goods_hs, ("hs_prefix", "hs_code", "hscode", "hs", "code"), "goods->HS crosswalk")
    link = pl.col("link").cast(pl.String) if "link" in goods_hs.columns else pl.lit("direct")
    gx = goods_hs.select(
        pl.col("good").cast(pl.String).str.to_lowercase().alias("_good_key"),
        _hs_prefix(g_code).alias("hs_prefix"),
        (link == "derived").fill_null(False).alias("_derived"),
    ).filter(pl.col("hs_prefix").str.len_chars() >= 2)
    # A "derived" code (cotton yarn for the good Cotton) is a downstream product of the listed good: a
    # forced-labour listing reaches it as T_ds, a child-labour-only listing stays T_cl (never stronger
    # than the listing of the good itself).
    return (
        t.with_columns(pl.col("good").str.to_lowercase().alias("_good_key"))
        .join(gx, on="_good_key", how="inner")
        .with_columns(
            downstream=pl.col("downstream") | (pl.col("_derived") & pl.col("forced")),
            forced=pl.col("forced") & ~pl.col("_derived"),
        )
        .drop("_good_key", "_derived")
        .unique()
        .sort("iso2", "hs_prefix", "good")
    )


# ---------------------------------------------------------------------------------------------------
# Frame-level: terms for graph entities.

_PRODUCT_SCHEMA = {"entity_id": pl.String, "hs4": pl.String}


def _entity_products(entities: pl.DataFrame) -> pl.DataFrame:
    """One row per (entity, product HS prefix); entities without products get one null row."""
    col = next((c for c in ("hs4_list", "hs_codes", "hs_list") if c in entities.columns), None)
    if col is None:
        return entities.select(pl.col("entity_id"), pl.lit(None, pl.String).alias("hs4"))
    prod = (
        entities.select(pl.col("entity_id"), pl.col(col).cast(pl.List(pl.String)).alias("hs4"))
        .explode("hs4")
        .with_columns(pl.col("hs4").str.replace_all(r"\D", "").str.slice(0, 4))
        .with_columns(
            pl.when(pl.col("hs4").str.len_chars() >= 2).then(pl.col("hs4")).otherwise(None).alias("hs4")
        )
        .unique()
    )
    # keep a null row only for entities with no valid product at all (explode may drop empty lists)
    has = prod.filter(pl.col("hs4").is_not_null())
    none = (
        entities.select(pl.col("entity_id"))
        .unique()
        .join(has.select("entity_id").unique(), on="entity_id", how="anti")
        .with_columns(pl.lit(None, pl.String).alias("hs4"))
    )
    return pl.concat([has, none]).cast(_PRODUCT_SCHEMA)  # type: ignore[arg-type]


def _prefix_match(left: str, right: str) -> pl.Expr:
    return pl.col(left).str.starts_with(pl.col(right)) | pl.col(right).str.starts_with(pl.col(left))


def _sector_lookup(hs: pl.DataFrame, sector_index: pl.DataFrame) -> pl.DataFrame:
    """For each distinct ``hs4``: the sector of its longest matching prefix (max S among finer codes)."""
    codes = hs.select("hs4").drop_nulls().unique()
    if codes.is_empty() or sector_index.is_empty():
        return pl.DataFrame(schema={"hs4": pl.String, "sector": pl.String, "S": pl.Float64})
    pairs = codes.join(sector_index, how="cross").filter(_prefix_match("hs4", "hs_prefix"))
    broader = (
        pairs.filter(pl.col("hs4").str.starts_with(pl.col("hs_prefix")))
        .sort("hs4", pl.col("hs_prefix").str.len_chars(), "S", descending=[False, True, True])
        .unique("hs4", keep="first")
    )
    finer = (
        pairs.filter(~pl.col("hs4").str.starts_with(pl.col("hs_prefix")))
        .sort("hs4", "S", descending=[False, True])
        .unique("hs4", keep="first")
        .join(broader.select("hs4"), on="hs4", how="anti")
    )
    return pl.concat([broader, finer]).select("hs4", "sector", "S")


def _listing_lookup(pairs: pl.DataFrame, tvpra: pl.DataFrame, *, level: int) -> pl.DataFrame:
    """For distinct (iso2, hs4): TVPRA flags and labels, matching HS prefixes cut to ``level`` digits."""
    schema: dict[str, pl.DataType] = {
        "iso2": pl.String(),
        "hs4": pl.String(),
        "t_fl": pl.Boolean(),
        "t_ds": pl.Boolean(),
        "t_cl": pl.Boolean(),
        "listings": pl.List(pl.String()),
    }
    p = pairs.drop_nulls().unique()
    if p.is_empty() or tvpra.is_empty():
        return pl.DataFrame(schema=schema)
    t = tvpra.with_columns(pl.col("hs_prefix").str.slice(0, level).alias("_tp"))
    q = p.with_columns(pl.col("hs4").str.slice(0, level).alias("_qp"))
    joined = q.join(t, on="iso2", how="inner").filter(_prefix_match("_qp", "_tp"))
    kind = (
        pl.when(pl.col("forced"))
        .then(pl.lit("FL"))
        .when(pl.col("downstream"))
        .then(pl.lit("DS"))
        .otherwise(pl.lit("CL"))
    )
    return (
        joined.with_columns(
            label=pl.concat_str(
                [pl.lit("TVPRA-"), pl.col("edition"), pl.lit(":"), pl.col("good"), pl.lit(":"), kind]
            )
        )
        .group_by("iso2", "hs4")
        .agg(
            t_fl=pl.col("forced").any(),
            t_ds=pl.col("downstream").any(),
            t_cl=(pl.col("child") & ~pl.col("forced")).any(),
            listings=pl.col("label").unique().sort(),
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def _uflpa_lookup(hs: pl.DataFrame, uflpa: pl.DataFrame) -> pl.DataFrame:
    codes = hs.select("hs4").drop_nulls().unique()
    if codes.is_empty() or uflpa.is_empty():
        return pl.DataFrame(schema={"hs4": pl.String, "uflpa_material": pl.String})
    return (
        codes.join(uflpa, how="cross")
        .filter(_prefix_match("hs4", "hs_prefix"))
        .group_by("hs4")
        .agg(pl.col("material").sort().first().alias("uflpa_material"))
    )


def _opt(entities: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name in entities.columns else pl.lit(None, pl.String)


def _country_order_hit(country: str | None, hs4: str | None, params: InherentParams) -> str | None:
    if country is None or hs4 is None:
        return None
    for order in params.country_wide_orders:
        if order.country == country and any(
            hs4.startswith(p) or p.startswith(hs4) for p in order.hs_prefixes
        ):
            return order.order
    return None


def inherent_risk(entities: pl.DataFrame, *, params: Params, reference: InherentReference) -> pl.DataFrame:
    """Inherent risk per entity (max over its products) with every term, for the point and R_high.

    ``entities`` needs ``entity_id`` and ``country`` (ISO alpha-2 or null); optional ``region``,
    ``address``, ``tax_id`` and ``hs4_list``/``hs_codes`` (List(String)). Returns one row per entity:
    ``inherent``, ``inherent_high``, ``backfill_inherent``, ``backfill_inherent_high``, the driving
    product ``hs4``, ``C``, ``C_missing``, ``S``, ``sector``, ``S_missing``, ``t_fl``, ``t_ds``, ``t_cl``,
    ``u``, ``uflpa_material``, ``listings``, ``override``, ``override_evidence``, ``logit``, ``issues``.
    """
    ip = params.inherent
    ents = entities.select(
        pl.col("entity_id").cast(pl.String),
        _opt(entities, "country").str.to_uppercase().alias("country"),
        _opt(entities, "region").alias("region"),
        _opt(entities, "address").alias("address"),
        _opt(entities, "tax_id").alias("tax_id"),
        _opt(entities, "name").alias("name"),
    ).unique("entity_id", keep="first", maintain_order=True)
    products = _entity_products(entities.unique("entity_id", keep="first", maintain_order=True))
    rows = products.join(ents, on="entity_id", how="left")

    c_med = reference.country_quantile(ip.country_missing_quantile)
    c_hi = reference.country_quantile(ip.country_missing_quantile_high)
    ci = reference.country_index.select(pl.col("iso2"), pl.col("C").alias("_C")).unique("iso2")
    rows = rows.join(ci, left_on="country", right_on="iso2", how="left")
    rows = rows.with_columns(
        C_missing=pl.col("_C").is_null(),
        C=pl.col("_C").fill_null(c_med),
        C_high=pl.col("_C").fill_null(c_hi),
    ).drop("_C")

    sec = _sector_lookup(rows, reference.sector_index)
    rows = rows.join(sec, on="hs4", how="left").with_columns(
        S_missing=pl.col("S").is_null(),
        S_high=pl.col("S").fill_null(ip.sector_missing_high),
        S=pl.col("S").fill_null(ip.sector_missing),
    )
    pairs = rows.select(pl.col("country").alias("iso2"), "hs4")
    lst = _listing_lookup(pairs, reference.tvpra, level=4)
    rows = rows.join(lst, left_on=["country", "hs4"], right_on=["iso2", "hs4"], how="left").with_columns(
        pl.col("t_fl").fill_null(False),
        pl.col("t_ds").fill_null(False),
        pl.col("t_cl").fill_null(False),
        pl.col("listings").fill_null([]),
    )
    uf = _uflpa_lookup(rows, reference.uflpa_priority)
    rows = rows.join(uf, on="hs4", how="left")

    # Overrides are row-wise text rules; evaluate them on distinct entities only.
    ov_rows = []
    for rec in ents.iter_rows(named=True):
        xuar = xuar_evidence(
            country=rec["country"],
            region=rec["region"],
            address=rec["address"],
            tax_id=rec["tax_id"],
            params=ip,
            name=rec["name"],
        )
        if xuar:
            ov_rows.append((rec["entity_id"], OVERRIDE_XUAR, xuar))
        elif rec["country"] in ip.dprk_countries:
            ov_rows.append((rec["entity_id"], OVERRIDE_DPRK, f"country={rec['country']}"))
    ov = pl.DataFrame(
        ov_rows,
        schema={"entity_id": pl.String, "override": pl.String, "override_evidence": pl.String},
        orient="row",
    )
    rows = rows.join(ov, on="entity_id", how="left")
    if ip.country_wide_orders:
        order_hit = [
            _country_order_hit(c, h, ip)
            for c, h in zip(rows["country"].to_list(), rows["hs4"].to_list(), strict=True)
        ]
        rows = (
            rows.with_columns(pl.Series("_order", order_hit, dtype=pl.String))
            .with_columns(
                override=pl.coalesce(
                    "override", pl.when(pl.col("_order").is_not_null()).then(pl.lit(OVERRIDE_COUNTRY_ORDER))
                ),
                override_evidence=pl.coalesce("override_evidence", "_order"),
            )
            .drop("_order")
        )

    region_known = pl.col("region").is_not_null() & (pl.col("region").str.strip_chars() != "")
    rows = rows.with_columns(
        u=(pl.col("country") == _CHINA).fill_null(False)
        & ~region_known
        & pl.col("uflpa_material").is_not_null()
    )
    point = inherent_from_terms(rows, params=ip)
    high = inherent_from_terms(rows.with_columns(C=pl.col("C_high"), S=pl.col("S_high")), params=ip)
    point = point.with_columns(inherent_high=high.get_column("inherent"))
    point = point.with_columns(_backfill_terms(point, reference, params=params))

    best = point.sort(
        "entity_id", "inherent", "S", pl.col("hs4").fill_null(""), descending=[False, True, True, False]
    ).unique("entity_id", keep="first")
    agg = point.group_by("entity_id").agg(
        inherent_high=pl.col("inherent_high").max(),
        backfill_inherent=pl.col("backfill_inherent").max(),
        backfill_inherent_high=pl.col("backfill_inherent_high").max(),
        all_listings=pl.col("listings").explode().drop_nulls().unique().sort(),
        n_products=pl.col("hs4").drop_nulls().n_unique(),
    )
    out = best.drop("inherent_high", "backfill_inherent", "backfill_inherent_high").join(agg, on="entity_id")
    issues = pl.concat_list(
        pl.when(pl.col("country").is_null())
        .then(pl.lit("country unknown: median country index used"))
        .when(pl.col("C_missing"))
        .then(pl.concat_str([pl.lit("no country index for "), pl.col("country"), pl.lit(": median used")])),
        pl.when(pl.col("hs4").is_null())
        .then(pl.lit("no product HS code: middle sector tier used"))
        .when(pl.col("S_missing"))
        .then(
            pl.concat_str(
                [pl.lit("HS "), pl.col("hs4"), pl.lit(" not in the sector index: middle tier used")]
            )
        ),
    ).list.drop_nulls()
    out = out.with_columns(issues=issues)
    order = ents.select("entity_id").with_row_index("_ord")
    return (
        order.join(out, on="entity_id", how="left")
        .sort("_ord")
        .select(
            "entity_id",
            "country",
            "hs4",
            "inherent",
            "inherent_high",
            "backfill_inherent",
            "backfill_inherent_high",
            "C",
            "C_missing",
            "S",
            "sector",
            "S_missing",
            "t_fl",
            "t_ds",
            "t_cl",
            "u",
            "uflpa_material",
            pl.col("all_listings").alias("listings"),
            "override",
            "override_evidence",
            "logit",
            "n_products",
            "issues",
        )
    )


# ---------------------------------------------------------------------------------------------------
# Small graphs: per-entity rows memoised on the reference (risk_engine.scoring.memo).

_ISO2 = re.compile(r"[A-Z]{2}")
_TEXT_COLUMNS = ("region", "address", "tax_id", "name")


def _product_column(entities: pl.DataFrame) -> str | None:
    return next((c for c in ("hs4_list", "hs_codes", "hs_list") if c in entities.columns), None)


def inherent_row_key(
    row: Mapping[str, Any], product_col: str | None, params: InherentParams
) -> tuple[Any, ...] | None:
    """What :func:`inherent_risk` reads of one entity, or None when the memo does not apply.

    The row depends on the entity's country, region and products, and on its name, address and tax id
    only through :func:`xuar_evidence` (the XUAR override and its evidence text), which is part of the
    key. Only canonical countries (ISO alpha-2 upper case or null, as the graph builder leaves them)
    and text columns qualify, so no cast inside :func:`inherent_risk` can tell two equal keys apart.
    """
    country = row.get("country")
    if country is not None and not (isinstance(country, str) and _ISO2.fullmatch(country)):
        return None
    region, address, tax_id, name = (row.get(c) for c in _TEXT_COLUMNS)
    if any(v is not None and not isinstance(v, str) for v in (region, address, tax_id, name)):
        return None
    products = row.get(product_col) if product_col is not None else None
    xuar = xuar_evidence(
        country=country, region=region, address=address, tax_id=tax_id, params=params, name=name
    )
    return (country, region, None if products is None else tuple(products), xuar)


def inherent_memo_keys(entities: pl.DataFrame, params: InherentParams) -> list[tuple[Any, ...]] | None:
    """One :func:`inherent_row_key` per entity row, or None when the memo does not apply to the frame.

    It applies to small frames (``memo.MEMO_MAX_ENTITIES``) with unique String entity ids whose rows
    all qualify.
    """
    if entities.height > MEMO_MAX_ENTITIES or entities.schema.get("entity_id") != pl.String():
        return None
    product_col = _product_column(entities)
    if product_col is not None and entities.schema[product_col] != pl.List(pl.String()):
        return None
    cols = ["entity_id", *[c for c in ("country", *_TEXT_COLUMNS) if c in entities.columns]]
    rows = entities.select(*cols, *([product_col] if product_col else [])).to_dicts()
    ids = [r["entity_id"] for r in rows]
    if None in ids or len(set(ids)) != len(ids):
        return None
    keys = [inherent_row_key(r, product_col, params) for r in rows]
    return None if any(k is None for k in keys) else keys  # type: ignore[return-value]


def inherent_risk_memo(
    entities: pl.DataFrame, *, params: Params, reference: InherentReference
) -> pl.DataFrame:
    """:func:`inherent_risk`, each entity's row computed once per key and process (small graphs).

    :func:`inherent_risk` is row-wise: an entity's row depends only on its :func:`inherent_row_key`, the
    reference and the parameters. Rows of keys not seen yet are computed by :func:`inherent_risk` on
    those entities; the frame equals :func:`inherent_risk`'s (see :mod:`risk_engine.scoring.memo`).
    Frames the memo does not apply to go to :func:`inherent_risk` directly.
    """
    keys = inherent_memo_keys(entities, params.inherent)
    if keys is None:
        return inherent_risk(entities, params=params, reference=reference)
    return memo_rows(
        reference.row_memo(params),
        "inherent",
        keys,
        entities.get_column("entity_id").to_list(),
        lambda missing: inherent_risk(entities[missing], params=params, reference=reference),
    )


def _backfill_terms(rows: pl.DataFrame, reference: InherentReference, *, params: Params) -> list[pl.Series]:
    """Ĩ for the unmapped backfill: the inherent risk of the product's HS chapter inputs.

    Point: domestic origin (the entity's country), listings matched at the HS chapter (cotton listed
    for a country taints its yarn and fabric inputs), region unknown (so China takes the UFLPA term).
    R_high: the 90th percentile of the same over every country of the index (candidate origins).
    """
    ip = params.inherent
    pairs = rows.select(pl.col("country").alias("iso2"), "hs4")
    chap = _listing_lookup(pairs, reference.tvpra, level=2)
    base = rows.select("country", "hs4", "C", "S", "uflpa_material").join(
        chap.select("iso2", "hs4", "t_fl", "t_ds", "t_cl"),
        left_on=["country", "hs4"],
        right_on=["iso2", "hs4"],
        how="left",
    )
    base = base.with_columns(
        pl.col("t_fl").fill_null(False),
        pl.col("t_ds").fill_null(False),
        pl.col("t_cl").fill_null(False),
        u=(pl.col("country") == _CHINA).fill_null(False) & pl.col("uflpa_material").is_not_null(),
        override=pl.lit(None, pl.String),
    )
    point = inherent_from_terms(base, params=ip).get_column("inherent").alias("backfill_inherent")

    # R_high: every country of the index as a candidate origin of each distinct (hs4, S, uflpa) product.
    # A product's value depends only on the reference and the parameters: memoised on the reference.
    memo = reference.memo(params)
    products = rows.select("hs4", "S", "uflpa_material")
    distinct = products.unique(maintain_order=True)
    keys = [("backfill_high", *k) for k in distinct.iter_rows()]
    missing = distinct.filter(pl.Series([k not in memo for k in keys], dtype=pl.Boolean))
    if missing.height:
        countries = reference.country_index.select(
            "iso2", pl.col("C").fill_null(reference.country_quantile(0.5))
        )
        grid = missing.join(countries, how="cross")
        gl = _listing_lookup(grid.select("iso2", "hs4"), reference.tvpra, level=2)
        grid = grid.join(
            gl.select("iso2", "hs4", "t_fl", "t_ds", "t_cl"), on=["iso2", "hs4"], how="left"
        ).with_columns(
            pl.col("t_fl").fill_null(False),
            pl.col("t_ds").fill_null(False),
            pl.col("t_cl").fill_null(False),
            u=(pl.col("iso2") == _CHINA) & pl.col("uflpa_material").is_not_null(),
            override=pl.lit(None, pl.String),
        )
        q = params.interval.high_backfill_quantile
        p90 = (
            inherent_from_terms(grid, params=ip)
            .group_by("hs4", "S", "uflpa_material")
            .agg(pl.col("inherent").quantile(q, interpolation="linear").alias("_p90"))
        )
        for hs4, s_val, material, value in p90.iter_rows():
            memo[("backfill_high", hs4, s_val, material)] = value
        for key in missing.iter_rows():
            memo.setdefault(("backfill_high", *key), None)
    p90_of = distinct.with_columns(pl.Series("_p90", [memo.get(k) for k in keys], dtype=pl.Float64))
    high = (
        products.with_row_index("_i")
        .join(p90_of, on=["hs4", "S", "uflpa_material"], how="left", nulls_equal=True)
        .sort("_i")
        .get_column("_p90")
    )
    high = pl.Series("backfill_inherent_high", [max(a, b or 0.0) for a, b in zip(point, high, strict=True)])
    return [point, high]
