"""Per-entity rows of row-wise scoring steps, memoised per process (small request graphs).

Some steps of :func:`risk_engine.scoring.score.score_graph` are row-wise: an entity's output row depends
only on a few of its own attributes (its *key*), the reference data and the parameters. For the small
graphs the API scores per request, polars' fixed cost per operation dominates, so such a step's rows
are computed once per key, by the step itself, and later frames are rebuilt from the stored rows
(entity id swapped in) with the step's own schema: the frame equals the step's output.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import polars as pl

# Graphs up to this many entities use the memo; larger ones (batch screens) call the step directly.
MEMO_MAX_ENTITIES = 256
# A memo is emptied when it holds more rows than this (keys may include free text such as regions).
MEMO_LIMIT = 20_000


def memo_rows(
    memo: dict[Any, Any],
    tag: str,
    keys: Sequence[Hashable],
    ids: Sequence[str],
    compute: Callable[[list[int]], pl.DataFrame],
) -> pl.DataFrame:
    """One row per entity of ``ids`` in that order, from ``memo`` or from ``compute``.

    ``keys[i]`` is what the step reads of entity ``ids[i]`` (ids unique); ``compute(positions)`` runs the
    step on the entities at those positions and returns one row per entity with ``entity_id``, in any
    order. Rows are stored under ``(tag, key)`` and the step's schema under ``(tag, None)``.
    """
    if not ids:
        # Nothing to look up, but the step's columns are still due: a memo that never saw this step
        # (a new process) has no schema to give, so the step runs on no entities.
        return compute([])
    if len(memo) > MEMO_LIMIT:
        memo.clear()
    tagged = [(tag, key) for key in keys]
    # Read each row once into a local table: another thread may empty the memo meanwhile.
    found: dict[Any, Any] = {}
    for key in tagged:
        row = memo.get(key)
        if row is not None:
            found[key] = row
    schema = memo.get((tag, None))
    missing = [i for i, key in enumerate(tagged) if key not in found]
    if schema is None and not missing:
        missing = list(range(len(tagged)))
    if missing:
        computed = compute(missing)
        by_id = {row["entity_id"]: row for row in computed.iter_rows(named=True)}
        schema = computed.schema
        memo[(tag, None)] = schema
        for i in missing:
            found[tagged[i]] = memo[tagged[i]] = by_id[ids[i]]
    rows = [{**found[key], "entity_id": entity_id} for key, entity_id in zip(tagged, ids, strict=True)]
    return pl.DataFrame(rows, schema=schema, orient="row")
