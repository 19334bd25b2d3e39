"""Remembered human match decisions: confirmed and rejected pairs that always override the model.

The table has ``left_id, right_id, decision ("confirm" | "reject"), reason, decided_by, decided_at``.
A pair is unordered (a decision about A~B also covers B~A). When the same pair was decided more than
once, the latest ``decided_at`` wins (rows without a date count as oldest; ties: the later row).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from risk_engine.errors import InputSchemaError

Decision = Literal["confirm", "reject"]
DECISIONS_SCHEMA: dict[str, pl.DataType] = {
    "left_id": pl.String(),
    "right_id": pl.String(),
    "decision": pl.String(),
    "reason": pl.String(),
    "decided_by": pl.String(),
    "decided_at": pl.String(),
}
_ALIASES = {"confirmed": "confirm", "match": "confirm", "rejected": "reject", "no_match": "reject"}


def empty_decisions() -> pl.DataFrame:
    """A decisions table with no rows."""
    return pl.DataFrame(schema=DECISIONS_SCHEMA)


def normalise_decisions(frame: pl.DataFrame | None, *, file: str = "decisions") -> pl.DataFrame:
    """Check a decisions table and reduce it to one current decision per unordered pair.

    Adds ``pair_a``/``pair_b`` (the two ids in sorted order). Raises InputSchemaError naming the row,
    column and value of the first bad cell.
    """
    if frame is None or frame.height == 0:
        return empty_decisions().with_columns(pair_a=pl.lit(None, pl.String), pair_b=pl.lit(None, pl.String))
    for col in ("left_id", "right_id", "decision"):
        if col not in frame.columns:
            msg = f"required column {col!r} is missing (columns: {', '.join(frame.columns)})"
            raise InputSchemaError(msg, path=file, column=col)
    df = frame.with_columns(
        [pl.col(c).cast(pl.String) for c in DECISIONS_SCHEMA if c in frame.columns]
        + [pl.lit(None, pl.String).alias(c) for c in DECISIONS_SCHEMA if c not in frame.columns]
    ).select(list(DECISIONS_SCHEMA))
    df = df.with_row_index("_order").with_columns(
        pl.col("decision").str.strip_chars().str.to_lowercase().replace(_ALIASES),
        pl.col("left_id").str.strip_chars(),
        pl.col("right_id").str.strip_chars(),
    )
    for col in ("left_id", "right_id"):
        bad = df.filter(pl.col(col).is_null() | (pl.col(col) == ""))
        if bad.height:
            msg = "empty id in a decision"
            raise InputSchemaError(msg, path=file, row=int(bad["_order"][0]) + 2, column=col)
    bad = df.filter(~pl.col("decision").is_in(["confirm", "reject"]) | pl.col("decision").is_null())
    if bad.height:
        row = int(bad["_order"][0])
        msg = "decision must be 'confirm' or 'reject'"
        raise InputSchemaError(msg, path=file, row=row + 2, column="decision", value=frame["decision"][row])
    same = df.filter(pl.col("left_id") == pl.col("right_id"))
    if same.height:
        msg = "a decision needs two different ids"
        raise InputSchemaError(msg, path=file, row=int(same["_order"][0]) + 2, column="right_id")
    df = df.with_columns(
        pair_a=pl.min_horizontal("left_id", "right_id"),
        pair_b=pl.max_horizontal("left_id", "right_id"),
    )
    return (
        df.sort(["decided_at", "_order"], nulls_last=False)
        .unique(subset=["pair_a", "pair_b"], keep="last", maintain_order=True)
        .drop("_order")
    )
