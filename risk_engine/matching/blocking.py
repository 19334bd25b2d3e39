"""Candidate generation: which reference entities a query is compared with.

Sparse indexes over the reference side, split by country:

- character 4-grams of the normalised name (padded with a space, so word boundaries are grams too),
  TF-IDF weighted and L2-normalised. A query is reduced to its ``n_grams`` rarest grams before the
  sparse product, so the work per query is bounded by a few short posting lists instead of the whole
  country block (common grams such as "ing " or " co " carry little information and would dominate
  the cost);
- glued character 4-grams: the same over the name with its spaces removed ("shen zhen hua wei" and
  "shenzhen huawei" are both "shenzhenhuawei"), so spaces scattered inside words by PDF or scan
  extraction, or words split or joined differently, do not destroy the grams. The query's ``n_glued``
  rarest glued grams pull in the top ``k_glued``;
- word tokens, where the query's rarest tokens (document frequency at most ``max_token_df``) pull in
  every entity that shares them, catching names whose characters moved but whose distinctive word did not.

The union of the top ``k`` of each is the candidate set. Queries whose country is unknown, or not
present on the reference side, are searched across all countries.

Each block searches distinct names only: reference rows with the same normalised name in the block
are one searched row (their first), and a pick stands for the first row of each distinct profile of
that name (legal form, address, identifiers: whatever the caller passes as ``profile``), up to
``k_same`` of them. Without this, a name repeated k times (one supplier's many shipments, a
register's many filings) fills a query's whole top k with copies of itself, and a nearer spelling of
another record is never compared. Exact copies (same name, same profile) are compared through the
first of them; the exact-key channel below still lists every entity of a key shared by few.

The spaced and glued grams share one vocabulary (``CandidateIndex.grams``): glued codes carry the
``GLUED`` bit, so they sort after every spaced code, and each family is L2-normalised on its own. The
comparison's ``name_gram_cosine`` multiplies a query's gram row with ``gram_matrix``, which holds the
spaced grams only, so the glued grams change nothing there. The per-country posting lists leave out
features too common to be selected by any query (document frequency above ``max_gram_df`` or
``max_token_df``): they would never be read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

_SEP = 0  # byte that separates names in the concatenated buffer; never inside a name
GLUED = 1 << 60  # tag of glued-gram codes (gram codes are below 2**49)
GLUED_SIZE = 5


def sorted_unique(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an integer array and their counts.

    Sort-based on purpose: numpy 2's hash-based ``np.unique`` is ~100x slower on 20M+ int64 keys.
    """
    if len(x) == 0:
        return x.copy(), np.zeros(0, dtype=np.int64)
    s = np.sort(x, kind="stable")
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, len(s)])
    return s[starts], counts


def _gram_codes(strings: Sequence[str], size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of every distinct character ``size``-gram of each string padded with one space.

    A code is the gram's bytes, 8 bits each for grams of up to 4 characters; longer grams (up to 7)
    take 7 bits a character (the buffer is ASCII), so that row and code still share one int64.
    """
    if not strings:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    padded = [" " + s + " " for s in strings]
    buf = np.frombuffer("\x00".join(padded).encode("ascii", "replace"), dtype=np.uint8).astype(np.int64)
    lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    rows = np.repeat(np.arange(len(padded), dtype=np.int64), lengths + 1)[: len(buf)]
    if len(buf) < size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bits = 8 if size <= 4 else 7
    code_bits = bits * size
    if size > 7 or len(padded) >= 1 << (63 - code_bits):
        msg = f"{size}-grams of {len(padded)} strings do not fit an int64 (row, code) pair"
        raise ValueError(msg)
    n = len(buf) - size + 1
    codes = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    for j in range(size):
        part = buf[j : j + n]
        codes = (codes << bits) | part
        ok &= part != _SEP
    pair, _ = sorted_unique((rows[:n][ok] << code_bits) | codes[ok])
    return pair >> code_bits, pair & ((1 << code_bits) - 1)


def glued_gram_codes(strings: Sequence[str], size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of the ``GLUED_SIZE``-grams of each string with its spaces removed, tagged with ``GLUED``."""
    rows, codes = _gram_codes([s.replace(" ", "") for s in strings], size or GLUED_SIZE)
    return rows, codes | GLUED


def _mask_entries(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``m`` with only the stored entries where ``keep`` is true (same shape, same column indices)."""
    kept = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    indptr = kept[m.indptr].astype(m.indptr.dtype)
    return sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)


@dataclass
class TfidfSpace:
    """A fitted vocabulary (sorted feature codes) with document frequencies and IDF weights."""

    vocab: np.ndarray  # sorted int64 codes (grams) or token ids
    df: np.ndarray  # document frequency per vocabulary entry
    idf: np.ndarray  # float32
    n_docs: int

    @property
    def oov_idf(self) -> float:
        """IDF of a feature never seen on the reference side (as rare as possible)."""
        return float(np.log((1 + self.n_docs) / 1.0) + 1.0)

    @classmethod
    def fit(cls, codes: np.ndarray, n_docs: int) -> TfidfSpace:
        """Fit from the feature codes of all (row, code) pairs of the reference side."""
        vocab, df = sorted_unique(codes)
        idf = (np.log((1 + n_docs) / (1 + df)) + 1.0).astype(np.float32)
        return cls(vocab=vocab, df=df.astype(np.int64), idf=idf, n_docs=n_docs)

    def matrix(self, rows: np.ndarray, codes: np.ndarray, n_rows: int) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows; features outside the vocabulary count in the norm only."""
        pos = np.searchsorted(self.vocab, codes)
        pos_c = np.minimum(pos, len(self.vocab) - 1) if len(self.vocab) else pos
        known = (pos < len(self.vocab)) & (self.vocab[pos_c] == codes) if len(self.vocab) else pos < 0
        weight = np.where(known, self.idf[pos_c] if len(self.vocab) else 0.0, self.oov_idf).astype(np.float32)
        norm2 = np.bincount(rows, weights=weight.astype(np.float64) ** 2, minlength=n_rows)
        norm = np.sqrt(norm2).astype(np.float32)
        norm[norm == 0] = 1.0
        data = weight[known] / norm[rows[known]]
        m = sp.csr_matrix(
            (data.astype(np.float32), (rows[known], pos_c[known])), shape=(n_rows, max(len(self.vocab), 1))
        )
        m.sort_indices()
        return m


def token_codes(keys: Sequence[str], vocab: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row, token code) pairs of space-separated keys; unknown tokens get codes beyond ``vocab``."""
    if vocab is not None and len(keys) <= 64:  # single lookups: skip the dataframe round trip
        local_codes: dict[str, int] = {}
        rows_l: list[int] = []
        codes_l: list[int] = []
        for r, k in enumerate(keys):
            for t in dict.fromkeys(k.split()):
                c = vocab.get(t)
                if c is None:
                    c = local_codes.setdefault(t, len(vocab) + len(local_codes))
                rows_l.append(r)
                codes_l.append(c)
        return np.asarray(rows_l, dtype=np.int64), np.asarray(codes_l, dtype=np.int64)
    frame = (
        pl.DataFrame({"key": list(keys)}, schema={"key": pl.String})
        .with_row_index("row")
        .with_columns(pl.col("key").str.split(" "))
        .explode("key")
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
        .unique(maintain_order=True)
    )
    toks = frame["key"].to_list()
    rows = frame["row"].to_numpy().astype(np.int64)
    if vocab is None:
        return rows, np.asarray(toks, dtype=object)
    nxt = len(vocab)
    local: dict[str, int] = {}
    codes = np.empty(len(toks), dtype=np.int64)
    for i, t in enumerate(toks):
        c = vocab.get(t)
        if c is None:
            c = local.get(t)
            if c is None:
                c = local[t] = nxt + len(local)
        codes[i] = c
    return rows, codes


def _known_token_codes(texts: Sequence[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of the words of ``texts`` that ``vocab`` knows; a word the reference lacks finds nothing.

    Plain Python: this runs per chunk inside forked link workers, where polars may deadlock. Leaving the
    unknown words out of the query's norm scales all of a query's scores alike, so its top k is the same.
    """
    rows: list[int] = []
    codes: list[int] = []
    for r, text in enumerate(texts):
        for t in dict.fromkeys(text.split()):
            c = vocab.get(t)
            if c is not None:
                rows.append(r)
                codes.append(c)
    return np.asarray(rows, dtype=np.int64), np.asarray(codes, dtype=np.int64)


def _fit_tokens(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(row, token code) pairs and the token vocabulary (codes 0..V-1) of the reference side."""
    frame = (
        pl.DataFrame({"key": list(keys)}, schema={"key": pl.String})
        .with_row_index("row")
        .with_columns(pl.col("key").str.split(" "))
        .explode("key")
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
        .unique(maintain_order=True)
    )
    vocab = frame.select(pl.col("key").unique().sort()).with_row_index("code")
    coded = frame.join(vocab, on="key", how="left")
    token_vocab = dict(zip(vocab["key"].to_list(), vocab["code"].to_list(), strict=True))
    return (
        coded["row"].to_numpy().astype(np.int64),
        coded["code"].to_numpy().astype(np.int64),
        token_vocab,
    )


def keep_rarest(m: sp.csr_matrix, df: np.ndarray, n_keep: int, *, max_df: int | None = None) -> sp.csr_matrix:
    """Keep, per row, the ``n_keep`` entries whose column has the lowest document frequency."""
    m = m.tocsr()
    lengths = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    col_df = df[m.indices]
    order = np.lexsort((col_df, rows))
    rank = np.arange(len(order)) - m.indptr[rows[order]]
    keep = order[rank < n_keep]
    if max_df is not None:
        keep = keep[col_df[keep] <= max_df]
    out = sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)
    out.sort_indices()
    return out


def top_k_per_row(c: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of the ``k`` largest entries of each row of a sparse matrix."""
    c = c.tocsr()
    return top_k_rows(c.indptr, c.indices, c.data, k)


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR rows: indptr, indices, data


def take_rows(m: sp.csr_matrix, rows: np.ndarray) -> _Rows:
    """The CSR arrays of ``m[rows]`` (same values in the same order), without building a matrix."""
    starts = m.indptr[rows]
    lengths = m.indptr[rows + 1] - starts
    indptr = np.zeros(len(rows) + 1, dtype=m.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    offsets = np.repeat(starts - indptr[:-1], lengths) + np.arange(int(indptr[-1]), dtype=m.indptr.dtype)
    return indptr, m.indices[offsets], m.data[offsets]


def _take(a: _Rows, rows: np.ndarray) -> _Rows:
    """``take_rows`` on CSR arrays."""
    indptr, indices, data = a
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    out = np.zeros(len(rows) + 1, dtype=indptr.dtype)
    np.cumsum(lengths, out=out[1:])
    offsets = np.repeat(starts - out[:-1], lengths) + np.arange(int(out[-1]), dtype=indptr.dtype)
    return out, indices[offsets], data[offsets]


def _rarest(a: _Rows, df: np.ndarray, n_keep: int, max_df: int | None, lo: int, hi: int) -> _Rows:
    """``keep_rarest`` on CSR arrays, among the columns ``lo <= c < hi`` only (same entries, same order)."""
    indptr, indices, data = a
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    pos = np.flatnonzero((indices >= lo) & (indices < hi))
    r, c = rows[pos], indices[pos]
    col_df = df[c]
    order = np.lexsort((col_df, r))
    sorted_r = r[order]
    at = np.arange(len(order))
    start = (
        np.maximum.accumulate(np.where(np.r_[True, sorted_r[1:] != sorted_r[:-1]], at, 0)) if len(at) else at
    )
    keep = order[at - start < n_keep]
    if max_df is not None:
        keep = keep[col_df[keep] <= max_df]
    keep.sort()  # back to row-major, column-sorted order
    out = np.zeros(n + 1, dtype=indptr.dtype)
    np.cumsum(np.bincount(r[keep], minlength=n), out=out[1:])
    return out, c[keep], data[pos[keep]]


def product_rows(a: _Rows, b: sp.csr_matrix) -> _Rows | None:
    """CSR arrays of ``A @ b`` for ``A`` given as CSR arrays (``b.shape[0]`` columns).

    The routine scipy's ``@`` runs (``csr_matmat``), called directly: a small query batch against a
    large block spends most of ``@``'s time in Python-level checks. The result is the same arrays in
    the same order. None when the direct call does not apply (then ``@`` is used).
    """
    try:
        from scipy.sparse import _sparsetools
    except ImportError:  # pragma: no cover - private module moved
        return None
    idx = b.indices.dtype
    if b.indptr.dtype != idx or a[0].dtype.kind != "i" or a[1].dtype.kind != "i":
        return None
    limit = np.iinfo(idx).max
    a_indptr = np.asarray(a[0], dtype=idx)
    a_indices = np.asarray(a[1], dtype=idx)
    m, n = len(a_indptr) - 1, b.shape[1]
    if max(m, n, int(a_indptr[-1]), b.nnz) >= limit:
        return None
    nnz = int(_sparsetools.csr_matmat_maxnnz(m, n, a_indptr, a_indices, b.indptr, b.indices))
    if nnz >= limit:
        return None
    indptr = np.empty(m + 1, dtype=idx)
    indices = np.empty(nnz, dtype=idx)
    data = np.empty(nnz, dtype=np.result_type(a[2].dtype, b.data.dtype))
    _sparsetools.csr_matmat(
        m, n, a_indptr, a_indices, a[2], b.indptr, b.indices, b.data, indptr, indices, data
    )
    used = int(indptr[-1])
    return indptr, indices[:used], data[:used]


def top_k_rows(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``top_k_per_row`` on CSR arrays."""
    lengths = np.diff(indptr)

    # Rows with at most k entries are kept whole, gathered in one vectorised step over their ranges only.
    small = np.flatnonzero((lengths > 0) & (lengths <= k))
    lens = lengths[small]
    total = int(lens.sum())
    offsets = np.repeat(indptr[small] - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(total)
    out_r = [np.repeat(small, lens)]
    out_c = [indices[offsets]]
    out_v = [data[offsets]]
    for r in np.flatnonzero(lengths > k):
        a, b = indptr[r], indptr[r + 1]
        seg = data[a:b]
        part = np.argpartition(-seg, k - 1)[:k]
        out_r.append(np.full(k, r))
        out_c.append(indices[a:b][part])
        out_v.append(seg[part])
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_v)


@dataclass
class _Block:
    rows: np.ndarray  # reference position of each searched row (the first row of each distinct name)
    grams_t: sp.csr_matrix  # grams (spaced and glued) x searched rows: posting lists, too-common grams empty
    tokens_t: sp.csr_matrix  # tokens x searched rows, too-common tokens empty
    # Searched row j stands for the reference positions members[member_ptr[j]:member_ptr[j + 1]]:
    # itself, then the first row of each other profile of its name. None when no name has two profiles.
    member_ptr: np.ndarray | None = None
    members: np.ndarray | None = None
    # The address channel: reference positions searched by address (the first row of each name and
    # profile) and their address-token posting lists (tokens x those rows); None without addresses.
    addr_rows: np.ndarray | None = None
    addr_t: sp.csr_matrix | None = None

    def expand(self, cols: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """(pick index, reference position) of up to ``cap`` members of each picked searched row."""
        if self.member_ptr is None or self.members is None:
            return np.arange(len(cols)), self.rows[cols]
        starts = self.member_ptr[cols]
        lens = np.minimum(self.member_ptr[cols + 1] - starts, cap)
        total = int(lens.sum())
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        return np.repeat(np.arange(len(cols)), lens), self.members[offsets]


def same_name_groups(
    rows: np.ndarray, core: np.ndarray, profile: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Group the reference positions ``rows`` by normalised name: (first rows, member_ptr, members).

    ``core`` and ``profile`` are aligned with ``rows``. The first rows come in position order; each
    group's members are the first row of each of its profiles, in position order (so the group's
    first row leads). Rows that repeat a name and profile are left out: they are copies. member_ptr
    and members are None when no name has two profiles.
    """
    frame = pl.DataFrame(
        {
            "pos": rows.astype(np.int64),
            "core": core,
            "profile": profile if profile is not None else np.zeros(len(rows), dtype=np.int64),
        },
        schema_overrides={"core": pl.String},
    )
    frame = frame.with_columns(
        pl.col("pos").min().over("core").alias("first"),
        pl.struct("core", "profile").is_first_distinct().alias("distinct"),
    )
    firsts = frame.filter(pl.col("pos") == pl.col("first"))["pos"].to_numpy()
    frame = frame.filter("distinct")
    if frame.height == len(firsts):
        return firsts, None, None
    frame = frame.sort("first", "pos")
    members = frame["pos"].to_numpy()
    first = frame["first"].to_numpy()
    starts = np.flatnonzero(np.r_[True, first[1:] != first[:-1]])
    member_ptr = np.r_[starts, len(first)].astype(np.int64)
    return members[starts], member_ptr, members


@dataclass
class CandidateIndex:
    """Sparse char-gram (spaced and glued) and token indexes over the reference side, split by country."""

    grams: TfidfSpace
    tokens: TfidfSpace
    token_vocab: dict[str, int]
    gram_matrix: sp.csr_matrix  # reference rows x grams (used again by compare for the cosine)
    token_matrix: sp.csr_matrix
    blocks: dict[str, _Block]
    everything: _Block
    n_grams: int = 16
    k_grams: int = 20
    n_glued: int = 8
    k_glued: int = 5
    n_tokens: int = 3
    k_tokens: int = 10
    k_same: int = 10  # rows a picked name stands for (see the module docstring)
    max_token_df: int = 5000
    max_gram_df: int | None = 8000
    exact: dict[str, tuple[int, ...]] | None = None  # key -> positions, keys shared by <= MAX_EXACT
    addresses: TfidfSpace | None = None  # address tokens (``address_key`` words), None without addresses
    address_vocab: dict[str, int] | None = None
    n_addr: int = 3
    k_addr: int = 5
    max_addr_df: int = 5000

    MAX_EXACT = 50

    @classmethod
    def build(
        cls,
        core: Sequence[str],
        key: Sequence[str],
        country: Sequence[str | None],
        *,
        profile: Sequence[object] | None = None,
        addresses: Sequence[str] | None = None,
        **params: int,
    ) -> CandidateIndex:
        """Index normalised names (``core`` for grams, ``key`` for tokens) with their countries.

        ``profile`` (one hashable value per row, e.g. legal form and address) tells the rows that
        share a name apart: rows with the same name and profile are copies, searched through the first.
        Without it, every row of a name is a copy of the first. ``addresses`` (normalised address keys,
        "" when missing) add the address channel: a query with an address also meets the entities whose
        addresses share its rarest words, whatever their names (a site renamed, or filed under its group's
        name).
        """
        n = len(core)
        g_rows, g_codes = _gram_codes(core)
        j_rows, j_codes = glued_gram_codes(core)
        grams = TfidfSpace.fit(np.concatenate([g_codes, j_codes]), n)
        gram_matrix = grams.matrix(g_rows, g_codes, n)  # spaced grams only: the comparison's cosine
        search = gram_matrix + grams.matrix(j_rows, j_codes, n)  # both families (disjoint columns)
        del g_rows, g_codes, j_rows, j_codes
        t_rows, t_codes, token_vocab = _fit_tokens(key)
        tokens = TfidfSpace.fit(t_codes, n)
        # Token codes are already dense 0..V-1, so the vocabulary is the identity.
        token_matrix = tokens.matrix(t_rows, t_codes, n)
        # Posting lists of features no query selects (too common) are never read: leave them out.
        max_gram_df = params.get("max_gram_df", cls.max_gram_df)
        if max_gram_df is not None:
            search = _mask_entries(search, grams.df[search.indices] <= max_gram_df)
        max_token_df = params.get("max_token_df", cls.max_token_df)
        token_search = _mask_entries(token_matrix, tokens.df[token_matrix.indices] <= max_token_df)
        countries = np.array([c or "" for c in country], dtype=object)
        core_arr = np.array(core, dtype=object)
        prof = _profile_codes(profile, n)
        blocks: dict[str, _Block] = {}
        order = np.argsort(countries, kind="stable")
        sorted_c = countries[order]
        bounds = np.flatnonzero(np.r_[True, sorted_c[1:] != sorted_c[:-1], True])
        for a, b in itertools.pairwise(bounds):
            c = sorted_c[a]
            if not c:
                continue  # entities without a country are found through the global block only
            blocks[c] = _block(np.sort(order[a:b]), core_arr, prof, search, token_search)
        everything = _block(np.arange(n), core_arr, prof, search, token_search)
        del search, token_search
        address_space = address_vocab = None
        if addresses is not None and any(addresses):
            a_rows, a_codes, address_vocab = _fit_tokens(addresses)
            address_space = TfidfSpace.fit(a_codes, n)
            address_matrix = address_space.matrix(a_rows, a_codes, n)
            max_addr_df = params.get("max_addr_df", cls.max_addr_df)
            address_search = _mask_entries(
                address_matrix, address_space.df[address_matrix.indices] <= max_addr_df
            )
            for block in (*blocks.values(), everything):
                rows = block.members if block.members is not None else block.rows
                block.addr_rows = rows
                block.addr_t = address_search[rows].T.tocsr()
            del address_matrix, address_search
        groups = (
            pl.DataFrame({"key": list(key)}, schema={"key": pl.String})
            .with_row_index("pos")
            .filter(pl.col("key") != "")
            .group_by("key")
            .agg(pl.col("pos").cast(pl.Int64))
            .filter(pl.col("pos").list.len() <= cls.MAX_EXACT)
        )
        exact = dict(zip(groups["key"].to_list(), (tuple(p) for p in groups["pos"].to_list()), strict=True))
        return cls(
            grams,
            tokens,
            token_vocab,
            gram_matrix,
            token_matrix,
            blocks,
            everything,
            exact=exact,
            addresses=address_space,
            address_vocab=address_vocab,
            **params,
        )

    @property
    def glued_start(self) -> int:
        """First gram column of the glued family (every column before it is a spaced gram)."""
        return int(np.searchsorted(self.grams.vocab, GLUED))

    def query_matrices(self, core: Sequence[str], key: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Query-side gram and token matrices in the reference's spaces (unknown features widen the norm).

        The gram matrix holds both gram families, each L2-normalised on its own; its product with
        ``gram_matrix`` (spaced grams only) is the plain spaced-gram cosine.
        """
        n = len(core)
        g_rows, g_codes = _gram_codes(core)
        j_rows, j_codes = glued_gram_codes(core)
        # Row 2i holds query i's spaced grams and row 2i+1 its glued grams, so each family gets its own
        # norm; glued columns come after spaced ones, so the two rows read together are query i's row.
        both = self.grams.matrix(
            np.concatenate([2 * g_rows, 2 * j_rows + 1]), np.concatenate([g_codes, j_codes]), 2 * n
        )
        qg = sp.csr_matrix((both.data, both.indices, both.indptr[::2].copy()), shape=(n, both.shape[1]))
        t_rows, t_codes = token_codes(key, self.token_vocab)
        qt = self.tokens.matrix(t_rows, t_codes, n)
        return qg, qt

    def candidates(
        self,
        qg: sp.csr_matrix,
        qt: sp.csr_matrix,
        country: Sequence[str | None],
        *,
        keys: Sequence[str] | None = None,
        chunk: int = 2048,
        subset: np.ndarray | None = None,
        addresses: Sequence[str] | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (queries of the chunk, query position, reference position, blocking score) per chunk.

        With ``keys`` (the queries' sorted-token keys), entities with exactly the same key are always
        candidates, in any country. With ``addresses`` (the queries' address keys, "" when missing) and
        an index built with addresses, the entities whose addresses share a query's rarest address words
        (its ``n_addr`` rarest with document frequency <= ``max_addr_df``; top ``k_addr``) are too.
        """
        positions = range(len(country)) if subset is None else subset.tolist()
        # A small batch (the API's): choose each query's rarest features once, not once per country
        # group (the choice is per row, so the result is the same).
        g_rows = (qg.indptr, qg.indices, qg.data)
        t_rows = (qt.indptr, qt.indices, qt.data)
        selected = None
        if subset is None and len(country) <= chunk:
            selected = self._select(g_rows, t_rows)
        groups: dict[str, list[int]] = {}
        for i in positions:
            c = country[i] or ""
            groups.setdefault(c if c in self.blocks else "", []).append(i)
        for c, members in groups.items():
            block = self.blocks[c] if c else self.everything
            idx = np.asarray(members, dtype=np.int64)
            for a in range(0, len(idx), chunk):
                part = idx[a : a + chunk]
                if selected is not None:
                    chosen = tuple(_take(m, part) for m in selected)
                else:
                    chosen = self._select(_take(g_rows, part), _take(t_rows, part))
                qi, ri, score = self._search(block, chosen, part)
                if addresses is not None and self.addresses is not None:
                    aq, ar, av = self._search_addresses(block, [addresses[i] for i in part.tolist()])
                    if len(aq):
                        qi = np.concatenate([qi, part[aq]])
                        ri = np.concatenate([ri, ar])
                        score = np.concatenate([score, av])
                if keys is not None and self.exact:
                    # Plain dict lookups, not a dataframe join: this path also runs in forked workers.
                    eq = [(i, p) for i in part.tolist() for p in self.exact.get(keys[i], ())]
                    if eq:
                        qi = np.concatenate([qi, np.asarray([e[0] for e in eq], dtype=np.int64)])
                        ri = np.concatenate([ri, np.asarray([e[1] for e in eq], dtype=np.int64)])
                        score = np.concatenate([score, np.ones(len(eq), np.float32)])
                yield part, qi, ri, score

    def _select(self, qg: _Rows, qt: _Rows) -> tuple[_Rows, _Rows, _Rows]:
        """Each query's rarest spaced grams, glued grams and tokens (the only features the search multiplies)."""
        g0 = self.glued_start
        df = self.grams.df
        sel = _rarest(qg, df, self.n_grams, self.max_gram_df, 0, g0)
        jsel = _rarest(qg, df, self.n_glued, self.max_gram_df, g0, len(df))
        # Every block has the same token rows: the known tokens.
        tsel = _rarest(
            qt, self.tokens.df, self.n_tokens, self.max_token_df, 0, self.everything.tokens_t.shape[0]
        )
        return sel, jsel, tsel

    def _search_addresses(
        self, block: _Block, addresses: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row in ``addresses``, reference position, address cosine) of the address channel."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
        if self.addresses is None or block.addr_t is None or block.addr_rows is None or not any(addresses):
            return empty
        rows, codes = _known_token_codes(addresses, self.address_vocab or {})
        if len(rows) == 0:
            return empty
        m = self.addresses.matrix(rows, codes, len(addresses))
        width = block.addr_t.shape[0]
        chosen = _rarest(
            (m.indptr, m.indices, m.data), self.addresses.df, self.n_addr, self.max_addr_df, 0, width
        )
        r, c, v = top_k_rows(*_product(chosen, block.addr_t, len(addresses)), self.k_addr)
        return r.astype(np.int64), block.addr_rows[c].astype(np.int64), v.astype(np.float32)

    def _search(
        self, block: _Block, chosen: tuple[_Rows, ...], part: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top candidates in ``block`` of the queries at ``part`` (their selected grams, glued grams, tokens)."""
        grams, glued, tokens = chosen
        r1, c1, v1 = top_k_rows(*_product(grams, block.grams_t, len(part)), self.k_grams)
        r3, c3, v3 = top_k_rows(*_product(glued, block.grams_t, len(part)), self.k_glued)
        r2, c2, v2 = top_k_rows(*_product(tokens, block.tokens_t, len(part)), self.k_tokens)
        rows = np.concatenate([r1, r3, r2])
        cols = np.concatenate([c1, c3, c2])
        vals = np.concatenate([v1, v3, v2 * 0.5])
        if len(rows) == 0:
            return part[:0], block.rows[:0], np.zeros(0, np.float32)
        # The same pair may come from several indexes: keep it once, with its largest score.
        key = rows.astype(np.int64) * (len(block.rows) + 1) + cols
        order = np.lexsort((-vals, key))
        first = np.r_[True, key[order][1:] != key[order][:-1]]
        pick = order[first]
        which, ref = block.expand(cols[pick], self.k_same)
        pick = pick[which]
        return part[rows[pick]], ref, vals[pick].astype(np.float32)


def _block(
    rows: np.ndarray,
    core: np.ndarray,
    profile: np.ndarray | None,
    search: sp.csr_matrix,
    token_search: sp.csr_matrix,
) -> _Block:
    """The block of the reference positions ``rows``: posting lists over their distinct names."""
    firsts, member_ptr, members = same_name_groups(
        rows, core[rows], None if profile is None else profile[rows]
    )
    return _Block(firsts, search[firsts].T.tocsr(), token_search[firsts].T.tocsr(), member_ptr, members)


def _profile_codes(profile: Sequence[object] | None, n: int) -> np.ndarray | None:
    """One integer per distinct profile value (first seen, first numbered), or None."""
    if profile is None:
        return None
    if len(profile) != n:
        msg = f"profile has {len(profile)} values for {n} rows"
        raise ValueError(msg)
    codes: dict[object, int] = {}
    return np.fromiter((codes.setdefault(p, len(codes)) for p in profile), dtype=np.int64, count=n)


def _product(a: _Rows, b: sp.csr_matrix, n_rows: int) -> _Rows:
    """CSR arrays of ``A @ b``: the direct ``csr_matmat`` call, else scipy's ``@``."""
    fast = product_rows(a, b)
    if fast is not None:
        return fast
    c = (sp.csr_matrix((a[2], a[1], a[0]), shape=(n_rows, b.shape[0])) @ b).tocsr()
    return c.indptr, c.indices, c.data
