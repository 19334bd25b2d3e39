"""Name and address normalisation for entity resolution.

A name goes through: Unicode NFKC, case folding, transliteration to ASCII (anyascii; CJK, kana and
Hangul one character at a time so that legal forms written in those scripts can be found as token
sequences), punctuation to spaces, dotted abbreviations joined ("s.a." -> "sa"), legal-form words that scanning
broke apart re-joined ("pr i v ate" -> "private"), a typing slip in a long legal-form word near the end
corrected when the corrected word then belongs to a legal form ("liimited", "limtied", "corporaton"), and legal forms removed from the end (also when a fixed-width field cut them off: "joint stock comp", "sdn b") and the start (and unambiguous ones anywhere) but kept as a separate attribute,
because a conflict in legal form is evidence. Transliterated CJK syllables are then joined back into
one token per run, so "广州华美" becomes "guangzhouhuamei"; a name whose letters fell apart
("u ni ty fash i o n") is glued into one token. Plant markers glued to their number ("unit14") are
split before the legal forms and branch are taken off, and agreed business contractions ("mfg",
"intl") are written out last (the name as written is kept in ``written``). A native-script name (``native_key``) is instead
compared in its own script, traditional Chinese as simplified, so homophones stay apart.

Defined behaviour for awkward input: ``None`` and empty strings give an empty key; a name that is only
a legal form keeps the legal form as its core (so "Ltd" does not become empty); names longer than
``MAX_NAME_CHARS`` are cut to that length before normalisation (``NormalisedName.truncated`` says so).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import opencc
from anyascii import anyascii
from rapidfuzz import fuzz

MAX_NAME_CHARS = 1000

# Tokens that carry no identity in a company name; dropped from the key but kept in ``text``.
STOPWORDS = frozenset({"the", "and", "of", "&", "de", "del", "la", "le", "du", "des", "y", "et", "und"})
# English connectors no complete name ends with: a name ending in one was cut off (see ``normalise_name``).
# "de" and "the" are not among them: "Sara Lee/DE" and "Yokohama Rubber Co., Ltd. The" are whole names.
_CUT_CONNECTORS = frozenset({"of", "and", "for"})

# Legal forms removed wherever they occur, not only at the ends: they cannot be part of a trade name.
_UNAMBIGUOUS_ANYWHERE = frozenset(
    {
        "ltd",
        "limited",
        "co ltd",
        "gmbh",
        "llc",
        "plc",
        "inc",
        "incorporated",
        "sdn bhd",
        "bhd",
        "pvt ltd",
        "pte ltd",
        "pvt",
        "pte",
        "company limited",
        "sa de cv",
        "s de rl de cv",
        "s de rl",
        "tbk",
        "ooo",
        "jsc",
        "youxiangongsi",
        # Multi-word and single forms no trade name uses, seen before a site ("An Phat Invest Joint Stock
        # Company - Zone A (Unit 2, 3, 4)", "... Ltda. - Planta Norte").
        "joint stock company",
        "joint stock co",
        "limited liability company",
        "private limited",
        "ltda",
        "cia ltda",
        "srl",
        "sarl",
        "sociedad anonima",
        "ltd sti",
    }
)

_PUNCT_RE = re.compile(r"(?:[^\w\s&\x01]|_)+")
# Dotted abbreviations written without spaces ("d.s.m.", "n.v.", "b.v"): joined before punctuation goes,
# so that "D.S.M. N.V." gives "dsm nv", not one run of five letters.
_DOTTED_RE = re.compile(r"(?<![^\W_])[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W_])")


def _is_cjk(ch: str) -> bool:
    """Han, kana, Hangul and their compatibility blocks: scripts without spaces between words."""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # hiragana, katakana
        or 0x3400 <= o <= 0x4DBF  # CJK extension A
        or 0x4E00 <= o <= 0x9FFF  # CJK unified
        or 0xAC00 <= o <= 0xD7AF  # Hangul syllables
        or 0xF900 <= o <= 0xFAFF  # CJK compatibility
        or 0x20000 <= o <= 0x2FA1F  # CJK extensions B..
    )


_CJK_MARK = "\x01"  # marks a transliterated CJK syllable until syllable runs are re-joined


def _transliterate(text: str) -> str:
    """ASCII transliteration; each CJK character becomes a marked, space-separated syllable."""
    if text.isascii():
        return text
    parts: list[str] = []
    buf: list[str] = []
    for ch in text:
        if _is_cjk(ch):
            if buf:
                parts.append(anyascii("".join(buf)))
                buf = []
            parts.append(f" {_CJK_MARK}{anyascii(ch)} ")
        else:
            buf.append(ch)
    if buf:
        parts.append(anyascii("".join(buf)))
    return "".join(parts)


def clean_text(text: str | None) -> str:
    """NFKC, case folding, transliteration, punctuation to space, single spaces; CJK syllables marked."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text)
    s = _transliterate(s).casefold()
    # Apostrophes inside words join ("o'neil" -> "oneil"); every other punctuation mark (brackets,
    # dots, commas, underscores) separates tokens; dotted abbreviations are re-joined later.
    s = s.replace("'", "").replace("\u2019", "")
    if "." in s:
        s = _DOTTED_RE.sub(lambda m: " " + m.group(0).replace(".", "") + " ", s)
    s = _PUNCT_RE.sub(" ", s)
    if "&" in s:
        s = s.replace("&", " and ")  # "Johnson & Johnson" and "Johnson and Johnson" read the same
    return " ".join(s.split())


def _tokens_with_script(cleaned: str) -> list[tuple[str, bool]]:
    """Tokens of a cleaned string with a flag for CJK syllables; runs of single letters are joined."""
    out: list[tuple[str, bool]] = []
    run: list[str] = []
    for raw in cleaned.split(" "):
        if not raw:
            continue
        cjk = raw.startswith(_CJK_MARK)
        tok = raw.lstrip(_CJK_MARK)
        if not tok:
            continue
        if not cjk and len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if run:
            out.append(("".join(run), False))
            run = []
        out.append((tok, cjk))
    if run:
        out.append(("".join(run), False))
    return out


@dataclass(frozen=True)
class LegalForm:
    """A legal form found in a name: its canonical spelling and generic class (LLC, JSC, ...)."""

    canonical: str
    generic: str | None


class _FormTable(dict[tuple[str, ...], LegalForm]):
    """Legal forms by token tuple, with the set of their last tokens."""

    def get_last_set(self) -> frozenset[str]:
        cached: frozenset[str] | None = getattr(self, "_last", None)
        if cached is None:
            cached = frozenset(k[-1] for k in self)
            self._last = cached
        return cached


@dataclass(frozen=True)
class _LegalVocabulary:
    forms: _FormTable
    prefix_forms: frozenset[tuple[str, ...]]
    by_last: dict[str, tuple[int, ...]]  # last token -> lengths of forms ending with it, longest first
    by_first: dict[str, tuple[int, ...]]  # first token -> lengths of prefix or multi-token forms
    anywhere: frozenset[tuple[str, ...]]
    anywhere_first: frozenset[str]
    words: frozenset[str]  # legal-form words a broken-up spelling is re-joined into ("private", "ltd")
    word_prefixes: frozenset[str]  # every non-empty prefix of those words
    slips: dict[str, str]  # a long legal-form word mistyped by one slip -> the word ("liimited" -> "limited")


# Forms that are written before the name (PT Indofood, OOO Romashka, CV Maju).
_PREFIX_FORMS = (
    "pt",
    "cv",
    "ooo",
    "oao",
    "zao",
    "pao",
    "ao",
    "too",
    "ud",
    "pt tbk",
    "jsc",
    "ojsc",
    "cjsc",
    "nv",
    "bv",
    "tnhh",
    "ctcp",
)


def _alias_tokens(alias: str) -> tuple[str, ...]:
    toks = [t for t, _ in _tokens_with_script(clean_text(alias))]
    return tuple(toks)


@lru_cache(maxsize=1)
def legal_vocabulary() -> _LegalVocabulary:
    """The legal-form vocabulary: upstream OpenSanctions rigour (MIT) plus project additions."""
    forms = _FormTable()
    data = resources.files("risk_engine.matching") / "data"
    for fname in ("org_types.json", "legal_forms_extra.json"):
        doc = json.loads((data / fname).read_text(encoding="utf-8"))
        for entry in doc["types"]:
            label = (
                entry.get("display") or entry.get("compare") or entry.get("generic") or entry["aliases"][0]
            )
            form = LegalForm(canonical=clean_text(label) or label, generic=entry.get("generic"))
            for alias in entry["aliases"]:
                key = _alias_tokens(alias)
                # Single-letter or empty aliases ("L", "LC" is fine) would eat initials of real names.
                if not key or (len(key) == 1 and len(key[0]) < 2):
                    continue
                forms[key] = form  # later files override: the project additions win on conflicts
    prefix = frozenset(_alias_tokens(p) for p in _PREFIX_FORMS)
    by_last: dict[str, set[int]] = {}
    by_first: dict[str, set[int]] = {}
    for k in forms:
        by_last.setdefault(k[-1], set()).add(len(k))
        if k in prefix or len(k) > 1:
            by_first.setdefault(k[0], set()).add(len(k))
    for k in prefix:
        by_first.setdefault(k[0], set()).add(len(k))
    anywhere = frozenset(k for k in forms if " ".join(k) in _UNAMBIGUOUS_ANYWHERE)
    words = (
        frozenset(w for k in forms for w in k if len(w) >= 5 and w.isascii() and w.isalpha())
        | _SHORT_FORM_WORDS
    )
    return _LegalVocabulary(
        forms=forms,
        prefix_forms=prefix,
        by_last={t: tuple(sorted(v, reverse=True)) for t, v in by_last.items()},
        by_first={t: tuple(sorted(v, reverse=True)) for t, v in by_first.items()},
        anywhere=anywhere,
        anywhere_first=frozenset(k[0] for k in anywhere),
        words=words,
        word_prefixes=frozenset(w[:i] for w in words for i in range(1, len(w) + 1)),
        slips=_slip_table(
            {w for k in forms for w in k if len(w) >= _SLIP_MIN_CHARS and w.isascii() and w.isalpha()}, forms
        ),
    )


_SLIP_MIN_CHARS = 6  # shorter form words ("ltd", "gmbh") are too close to other short words


def _slip_table(words: set[str], forms: _FormTable) -> dict[str, str]:
    """Each word as typing slips leave it, mapped back to the word.

    A slip is one letter left out ("corporaton"), one letter doubled ("liimited") or two neighbours
    swapped ("limtied"). A slip that is itself a word of some legal form ("private" is one slip from
    "privatne") is left out. One that several words share (the vocabulary holds misspellings too:
    "limitied" and "limited" both give "limtied") goes to a word that is a legal form on its own,
    else to the first in alphabetical order; the caller checks that the corrected word ends up in a
    legal form.
    """
    found: dict[str, set[str]] = {}
    for w in words:
        variants = {w[:i] + w[i + 1 :] for i in range(len(w))}
        variants |= {w[: i + 1] + w[i] + w[i + 1 :] for i in range(len(w))}
        variants |= {w[:i] + w[i + 1] + w[i] + w[i + 2 :] for i in range(len(w) - 1) if w[i] != w[i + 1]}
        for v in variants - {w}:
            found.setdefault(v, set()).add(w)
    form_words = {t for k in forms for t in k}
    return {
        v: min(ws, key=lambda w: ((w,) not in forms, w)) for v, ws in found.items() if v not in form_words
    }


@dataclass(frozen=True)
class NormalisedName:
    """A normalised company name and the attributes derived from it."""

    original: str
    text: str  # cleaned full name, legal forms included
    core: str  # cleaned name without legal forms, CJK runs joined
    tokens: tuple[str, ...]  # tokens of ``core`` without stopwords
    legal_forms: tuple[LegalForm, ...]
    branch: str = ""  # trailing branch/plant marker removed from ``core`` ("dongguan branch", "plant 2")
    truncated: bool = False
    qualifier: str = ""  # what followed the legal form after a comma ("hertogenbosch nl"), not in ``core``
    address_tail: str = ""  # the qualifier when it is a street address run on after the legal form
    # ``core`` as written, spaces removed, when contractions were written out ("mandvintlmanufacturing");
    # "" otherwise. A name whose letters fell apart is glued as written, so it is compared with this.
    written: str = ""

    @property
    def key(self) -> str:
        """Sorted tokens joined by spaces: the exact-match key."""
        return " ".join(sorted(self.tokens))

    @property
    def legal_form(self) -> str | None:
        """Canonical spelling of the last legal form found, if any."""
        return self.legal_forms[-1].canonical if self.legal_forms else None

    @property
    def legal_generic(self) -> str | None:
        """Generic class (LLC, JSC, ...) of the legal forms, if any has one."""
        for f in reversed(self.legal_forms):
            if f.generic:
                return f.generic
        return None

    @property
    def phonetic(self) -> str:
        """The tokens respelled and sorted (``phonetic_key``): tolerant of spelling variants."""
        return phonetic_key(self.tokens)


_RESPELL = str.maketrans({"c": "k", "q": "k", "w": "v", "y": "i", "j": "i", "x": "ks"})
_DOUBLED = re.compile(r"(.)\1+")
RESPELL_MIN = 6  # shorter words are left alone: pinyin syllables ("chen" / "ken", "shan" / "san") differ so


def respelled(word: str) -> str:
    """``word`` with the letters that romanisations and languages spell differently made one.

    "ph" -> "f"; c, q -> k; x -> ks; w -> v; y, j -> i; "h" after the first letter dropped; doubled
    letters single. A name written in another language's spelling or transliterated back from another
    script then reads alike: "tekstil" / "textile" (71 by ratio, 93 respelled), "filips" / "philips",
    "ehlektroniks" / "electronics", "teknolodzhi" / "technology" (84 respelled).
    """
    w = word.replace("ph", "f").translate(_RESPELL)
    return _DOUBLED.sub(r"\1", w[:1] + w[1:].replace("h", ""))


def phonetic_key(tokens: tuple[str, ...] | list[str]) -> str:
    """The tokens ``respelled`` (those of ``RESPELL_MIN``+ characters), sorted, space-joined.

    Words as another language or a transliteration writes them read alike ("atlas tekstil" / "atlas
    textile"); short words, pinyin syllables among them ("chen" / "ken"), are kept as they are.
    """
    return " ".join(sorted(respelled(t) if len(t) >= RESPELL_MIN else t for t in tokens))


_BRANCH_WORDS = frozenset({"branch", "plant", "unit", "subsidiary", "office", "works", "site"})


_ROMANIAN_FORMS = frozenset({"srl", "sa"})


_NUMBER_WORDS = frozenset({"no", "nr", "number"})
_GLUED_MARKER = re.compile(
    r"^(" + "|".join(sorted(_BRANCH_WORDS | _NUMBER_WORDS, key=len, reverse=True)) + r")(\d+)$"
)


def _split_glued_markers(toks: list[tuple[str, bool]], vocab: _LegalVocabulary) -> list[tuple[str, bool]]:
    """Split plant and branch markers glued to their number or to a legal form before them.

    "unit14" -> "unit 14", "no3" -> "no 3", "ltdunit14" -> "ltd unit 14" (lists typed without spaces,
    or scans that lost them). A legal-form word is split off only when a marker follows it.
    """
    out: list[tuple[str, bool]] = []
    for tok, cjk in toks:
        if cjk or not tok[-1].isdigit():
            out.append((tok, cjk))
            continue
        head = ""
        for k in range(2, min(len(tok) - 2, 13)):  # legal-form words are short
            if (tok[:k],) in vocab.forms and _GLUED_MARKER.match(tok[k:]):
                head, tok = tok[:k], tok[k:]
                break
        if head:
            out.append((head, False))
        m = _GLUED_MARKER.match(tok)
        if m:
            out.extend([(m.group(1), False), (m.group(2), False)])
        else:
            out.append((tok, cjk))
    return out


# Legal forms typed onto the name's last word without a space or dot ("CHANGSHU XINPINGCOLIMITED",
# "Mustergmbh"), longest first; the word left must keep 4+ letters ("unlimited" stays).
_GLUED_FORMS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    sorted(
        {
            "companylimited": ("company", "limited"),
            "colimited": ("co", "limited"),
            "coltd": ("co", "ltd"),
            "privatelimited": ("private", "limited"),
            "pvtltd": ("pvt", "ltd"),
            "sdnbhd": ("sdn", "bhd"),
            "gmbh": ("gmbh",),
            "limited": ("limited",),
            "ltd": ("ltd",),
            "llc": ("llc",),
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)


def _split_glued_form(toks: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Split a legal form typed onto the last word: "xinpingcolimited" -> "xinping co limited"."""
    if not toks or toks[-1][1]:
        return toks
    last = toks[-1][0]
    for glued, words in _GLUED_FORMS:
        rest = last[: -len(glued)]
        if last.endswith(glued) and len(rest) >= 4 and rest.isalpha():
            return [*toks[:-1], (rest, False), *((w, False) for w in words)]
    return toks


# A legal form cut off at the end of a name, as fixed-width fields cut it ("Menon Overseas Private",
# "Hoa Tho Joint Stock", "Saigon Garment Joint Stock Comp", "Ramatex Textiles Industrial Sdn. B",
# "Orkum Tekstil San. ve"): the name's last words are the first words of a multi-word legal form, the
# last of them possibly cut mid-word. Only forms that begin with a word no trade name ends with count;
# a single word only when it is one of ``_CUT_FORM_SINGLE`` ("free zone", "state owned" or "open"
# never count).
_CUT_FORM_LEADS = frozenset(
    {"private", "pvt", "sdn", "joint", "public", "co", "company", "san", "sa", "pte", "limited", "ltd"}
)
_CUT_FORM_SINGLE = frozenset({"private", "sdn"})


@lru_cache(maxsize=1)
def _cut_form_index() -> dict[tuple[str, ...], tuple[tuple[tuple[str, ...], LegalForm], ...]]:
    """Proper prefixes of the multi-word legal forms led by ``_CUT_FORM_LEADS`` -> those forms."""
    out: dict[tuple[str, ...], list[tuple[tuple[str, ...], LegalForm]]] = {}
    for words, form in legal_vocabulary().forms.items():
        if len(words) >= 2 and words[0] in _CUT_FORM_LEADS:
            for j in range(1, len(words)):
                out.setdefault(words[:j], []).append((words, form))
    return {k: tuple(v) for k, v in out.items()}


def _cut_form(words: list[str]) -> tuple[int, LegalForm | None]:
    """How many words at the end of ``words`` are a legal form cut off, and that form (see above).

    Two or more words must stay before it, and the name must not end with a whole legal form ("Private
    Limited" is one, not the start of "Private Limited Company"). The form keeps the words as written;
    its generic class is set only when every form they could begin agrees on it.
    """
    if _ends_with_form(words, legal_vocabulary()):
        return 0, None
    index = _cut_form_index()
    for k in (3, 2, 1):
        if len(words) < k + 2:
            continue
        tail = tuple(words[-k:])
        if k == 1 and tail[0] not in _CUT_FORM_SINGLE:
            continue
        # The last word complete (a proper prefix of the form) or cut (a proper prefix of its word).
        options = list(index.get(tail, ()))
        if k > 1:
            options += [
                f
                for f in index.get(tail[:-1], ())
                if f[0][k - 1] != tail[-1] and f[0][k - 1].startswith(tail[-1])
            ]
        if options:
            generic = {form.generic for _, form in options}
            return k, LegalForm(
                canonical=" ".join(tail), generic=generic.pop() if len(generic) == 1 else None
            )
    return 0, None


def _strip_legal_forms(
    toks: list[tuple[str, bool]], vocab: _LegalVocabulary
) -> tuple[list[tuple[str, bool]], list[LegalForm], str]:
    """Remove legal forms (tail, head, unambiguous ones inside) and a trailing branch marker."""
    found_tail: list[LegalForm] = []
    found_head: list[LegalForm] = []
    words = [t for t, _ in toks]
    forms = vocab.forms
    branch = ""
    # Trailing forms and branch markers, repeatedly ("co ltd", "gmbh & co kg", "co ltd dongguan branch"),
    # after a form cut off at the very end of the name, if any.
    end = len(words)
    cut, cut_form = _cut_form(words)
    if cut_form is not None:
        found_tail.append(cut_form)
        end -= cut
    changed = True
    while changed and end > 0:
        changed = False
        while end > 0 and words[end - 1] in ("&", "and"):
            end -= 1
        if end == 0:
            break
        last = words[end - 1]
        # "unit no 14" reads as "unit 14": the number word between marker and number is dropped.
        if end > 2 and last.isdigit() and words[end - 2] in _NUMBER_WORDS and words[end - 3] in _BRANCH_WORDS:
            words = [*words[: end - 2], last]
            toks = [*toks[: end - 2], toks[end - 1]]
            end -= 1
        if end > 1 and (last in _BRANCH_WORDS or (last.isdigit() and words[end - 2] in _BRANCH_WORDS)):
            cut = end - 1 if last in _BRANCH_WORDS else end - 2
            # The branch's place name sits between the legal form and the marker: "co ltd tan phu branch".
            last_set = forms.get_last_set()
            for j in range(cut - 1, max(cut - 4, 1) - 1, -1):
                if words[j] in last_set and any(
                    tuple(words[j - k + 1 : j + 1]) in forms for k in vocab.by_last[words[j]] if k <= j + 1
                ):
                    cut = j + 1
                    break
            branch = " ".join(words[cut:end])
            end = cut
            changed = True
            continue
        for k in vocab.by_last.get(last, ()):
            if k <= end:
                form = forms.get(tuple(words[end - k : end]))
                if form is not None:
                    found_tail.append(form)
                    end -= k
                    changed = True
                    break
    start = 0
    if end > 1:
        for k in vocab.by_first.get(words[0], ()):
            if k < end:
                key = tuple(words[:k])
                if key in vocab.prefix_forms or (k > 1 and key in forms):
                    found_head.append(forms.get(key) or LegalForm(canonical=" ".join(key), generic=None))
                    start = k
                    break
    if (
        start == 0
        and end > 1
        and words[0] == "sc"
        and any(f.canonical in _ROMANIAN_FORMS for f in found_tail)
    ):
        # Romanian registrations lead with "S.C." (societate comercială) and end with the form: "SC X SRL".
        found_head.append(LegalForm(canonical="sc", generic=None))
        start = 1
    kept = toks[start:end]
    # Unambiguous forms in the middle ("abc ltd shenzhen branch" after the branch is gone).
    if len(kept) > 2 and any(t in vocab.anywhere_first for t, _ in kept[1:]):
        words = [t for t, _ in kept]
        out: list[tuple[str, bool]] = [kept[0]]
        i = 1
        while i < len(kept):
            hit = 0
            if words[i] in vocab.anywhere_first:
                for k in (5, 4, 3, 2, 1):
                    key = tuple(words[i : i + k])
                    if len(key) == k and key in vocab.anywhere:
                        found_tail.append(forms[key])
                        hit = k
                        break
            if hit:
                i += hit
                continue
            out.append(kept[i])
            i += 1
        kept = out
    found = found_head + list(reversed(found_tail))
    if not kept:
        # The name is only a legal form: keep it, otherwise "Ltd" and "GmbH" would share an empty key.
        return toks, [], branch
    return kept, found, branch


def _only_legal_forms(words: list[str], vocab: _LegalVocabulary) -> bool:
    """True when ``words`` is a sequence of legal forms and nothing else ("ltd", "co ltd")."""
    end = len(words)
    while end > 0:
        if words[end - 1] in ("and", "&"):
            end -= 1
            continue
        for k in vocab.by_last.get(words[end - 1], ()):
            if k <= end and tuple(words[end - k : end]) in vocab.forms:
                end -= k
                break
        else:
            return False
    return True


def _form_continues(head: list[str], rest: list[str], vocab: _LegalVocabulary) -> bool:
    """True when the end of ``head`` and the start of ``rest`` together make one legal form ("co" + "ltd")."""
    for m in range(1, min(3, len(head)) + 1):
        for j in range(1, min(3, len(rest)) + 1):
            if tuple(head[-m:] + rest[:j]) in vocab.forms:
                return True
    return False


# Business words that lists shorten in one agreed way, written out so that "Barnhardt Mfg. Co." and
# "Barnhardt Manufacturing Company" share a key. Only contractions with one reading in company names:
# "Ind" (industry, industrial, India, Indústria), "Tech", "Chem", "Tex" or "Elec" are also trade-name
# words or stand for several words, and stay as written (word alignment still pairs prefixes).
_NAME_ABBREVIATIONS: dict[str, str] = {
    "intl": "international",
    "mfg": "manufacturing",
    "mfrg": "manufacturing",
    "mfr": "manufacturer",
    "mfrs": "manufacturers",
    "bros": "brothers",
    "mgmt": "management",
    "engg": "engineering",
    "svcs": "services",
    "assn": "association",
    "natl": "national",
    "trdg": "trading",
    "prods": "products",
    "inds": "industries",
    "hldgs": "holdings",
    "hldg": "holding",
    "mktg": "marketing",
    "eqpt": "equipment",
    "dept": "department",
    "gmt": "garment",
    "gmts": "garments",
    "ctr": "center",
    "grp": "group",
}


# Generic business words whose singular and plural name the same company ("Global Storage Technology" /
# "Technologies", "Philips Electronic" / "Electronics"), and the continental spellings of "international"
# ("Shell Internationale Research"): two keys that differ only so are the same name (``folded_key``).
# The key itself keeps the words as written: folding it would move a misspelt plural ("shoees", "sohes")
# further from the correct one ("shoes" -> "shoe"). Only descriptive words: a trade name ending in "s"
# ("Philips", "Siemens") is never folded.
_GENERIC_SINGULARS = (
    "accessory", "apparel", "associate", "brother", "chemical", "communication", "component", "creation",
    "design", "device", "electronic", "enterprise", "exporter", "fabric", "fashion", "food", "garment",
    "holding", "importer", "industry", "instrument", "investment", "knit", "laboratory", "machine",
    "manufacturer", "material", "metal", "mill", "network", "partner", "pharmaceutical", "plastic",
    "product", "resource", "service", "shoe", "solution", "sport", "supply", "system", "technology",
    "textile", "tool", "toy", "trader", "venture",
)  # fmt: skip


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


KEY_FOLDS: dict[str, str] = {
    **{_plural(w): w for w in _GENERIC_SINGULARS},
    "internationale": "international",
    "internacional": "international",
    "internazionale": "international",
    "internationaal": "international",
}


@lru_cache(maxsize=1 << 16)
def folded_key(key: str) -> str:
    """``key`` with the words of ``KEY_FOLDS`` in one form, sorted again ("technologies" -> "technology")."""
    return " ".join(sorted(KEY_FOLDS.get(t, t) for t in key.split(" ")))


def _expand_abbreviations(tokens: list[str]) -> list[str]:
    """Tokens with the contractions of ``_NAME_ABBREVIATIONS`` written out ("int'l" too)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "int" and i + 1 < len(tokens) and tokens[i + 1] == "l":  # "Int'l", "Int.L"
            out.append("international")
            i += 2
            continue
        out.append(_NAME_ABBREVIATIONS.get(t, t))
        i += 1
    return out


def _starts_with_form(words: list[str], vocab: _LegalVocabulary) -> bool:
    """True when ``words`` begin with a legal form ("inc hope for youth")."""
    return any(tuple(words[:j]) in vocab.forms for j in range(1, min(4, len(words)) + 1))


def _words(text: str) -> list[str]:
    return [t for t, _ in _tokens_with_script(clean_text(text))]


def _ends_with_form(words: list[str], vocab: _LegalVocabulary) -> bool:
    """True when ``words`` end with a legal form and hold something before it ("amp holland bv")."""
    return bool(words) and any(
        k < len(words) and tuple(words[-k:]) in vocab.forms for k in vocab.by_last.get(words[-1], ())
    )


def _leads_with_form(words: list[str], vocab: _LegalVocabulary) -> bool:
    """True when ``words`` begin with a form written first and hold something after it ("nv nutricia")."""
    return bool(words) and any(
        k < len(words)
        and (tuple(words[:k]) in vocab.prefix_forms or (k > 1 and tuple(words[:k]) in vocab.forms))
        for k in vocab.by_first.get(words[0], ())
    )


def _is_branch(words: list[str]) -> bool:
    return words[-1] in _BRANCH_WORDS or (
        len(words) > 1 and words[-1].isdigit() and words[-2] in _BRANCH_WORDS
    )


def _seat_after_comma(name: str, vocab: _LegalVocabulary) -> tuple[str, str] | None:
    """The split at the last comma that follows a legal form, when a seat follows it.

    A name whose form is written first ("N.V. Nutricia, Zoetermeer, NL") splits at its first comma.
    """
    if "," not in name:
        return None
    parts = name.split(",")
    for leading in (False, True):
        order = range(1, len(parts)) if leading else range(len(parts) - 1, 0, -1)
        for i in order:
            head_words = _words(",".join(parts[:i]))
            if len(head_words) < 2:
                continue
            if not (_leads_with_form(head_words, vocab) if leading else _ends_with_form(head_words, vocab)):
                continue
            rest_words = _words(",".join(parts[i:]))
            if not rest_words or _only_legal_forms(rest_words, vocab):
                continue
            if _form_continues(head_words, rest_words, vocab) or _starts_with_form(rest_words, vocab):
                # The comma sits inside a legal form ("Co., Ltd. Huamei Garment Factory") or between
                # two ("Trinity Resources Unlimited, Inc. Hope for Youth"): what follows is the name's.
                continue
            if _is_branch(rest_words):
                return None
            return ",".join(parts[:i]), " ".join(rest_words)
    return None


def _seat_in_brackets(name: str, vocab: _LegalVocabulary) -> tuple[str, str] | None:
    """The split before a closing bracket group after the legal form ("Unilever N.V. (NL)")."""
    at = name.rfind("(")
    if at <= 0:
        return None
    close = name.find(")", at)
    inner = name[at + 1 : close] if close >= 0 else name[at + 1 :]
    if close >= 0 and _words(name[close + 1 :]):
        return None  # the name goes on after the brackets ("Sang Woo (Cambodia) Co Ltd")
    head_words = _words(name[:at])
    inner_words = _words(inner)
    if (
        len(head_words) < 2
        or not inner_words
        or not (_ends_with_form(head_words, vocab) or _leads_with_form(head_words, vocab))
        or any(ch.isdigit() for ch in inner)  # a plant or unit number ("Ltd (M&V3)") is the name's
        or _only_legal_forms(inner_words, vocab)
        or _starts_with_form(inner_words, vocab)
        or _is_branch(inner_words)
    ):
        return None
    # Only a country or the name's own acronym: other words in brackets may name the site ("Rinplay
    # S.A. de C.V. (Huichapan)"), which tells two facilities of one company apart.
    initials = "".join(w[0] for w in re.findall(r"[^\W\d_]+", name[:at])).lower()
    if (len(inner_words) == 1 and inner_words[0] == initials) or _is_country(" ".join(inner_words)):
        return name[:at], " ".join(inner_words)
    return None


def preload() -> None:
    """Load what normalisation reads lazily (legal forms, the country alias index) in this process.

    Called before forking workers: the country index is read with polars, and polars used for the first
    time in a child forked after the parent's polars thread pool started can deadlock (a table of 50k+
    names with a seat in brackets hung ``dedupe``).
    """
    legal_vocabulary()
    _is_country("nl")


def _is_country(text: str) -> bool:
    from risk_engine.reference.countries import to_iso2

    try:
        return to_iso2(text) is not None
    except Exception:  # a reference-data problem must not stop normalisation
        return False


_SEAT_PREPOSITION = re.compile(r"(?i)(?<=[\s.,])(te|in|at)\s+")
_MAX_SEAT_WORDS = 3


def _seat_after_preposition(name: str, vocab: _LegalVocabulary) -> tuple[str, str] | None:
    """The split before "te Heerlen" / "in Hamburg" after the legal form (Dutch registers write "te")."""
    for m in reversed(list(_SEAT_PREPOSITION.finditer(name))):
        head_words = _words(name[: m.start()])
        rest_words = _words(name[m.end() :])
        if (
            len(head_words) >= 2
            and 1 <= len(rest_words) <= _MAX_SEAT_WORDS
            and _ends_with_form(head_words, vocab)
            and not any(ch.isdigit() for w in rest_words for ch in w)
            and not _only_legal_forms(rest_words, vocab)
            and not _starts_with_form(rest_words, vocab)
            and not _is_branch(rest_words)
        ):
            return name[: m.start()], " ".join(rest_words)
    return None


_ADDRESS_TAIL_MAX_WORDS = 10
_NOT_ADDRESS_WORDS = _BRANCH_WORDS | {
    "factory",
    "facility",
    "mill",
    "mills",
    "workshop",
    "division",
    "dept",
    "department",
}
_STREET_WORDS = frozenset(
    [
        "road",
        "rd",
        "street",
        "st",
        "str",
        "avenue",
        "ave",
        "av",
        "lane",
        "ln",
        "boulevard",
        "blvd",
        "drive",
        "dr",
        "highway",
        "hwy",
        "jalan",
        "jl",
        "rue",
        "via",
        "calle",
        "rua",
        "strasse",
        "weg",
        "laan",
        "straat",
        "plein",
        "gasse",
        "sokak",
        "sok",
        "cadde",
        "caddesi",
    ]
)
_STREET_SUFFIXES = ("weg", "laan", "straat", "strasse", "gasse", "plein")


def _reads_as_street(words: list[str]) -> bool:
    """A street word ("Road", "Groenewoudseweg", "Hauptstrasse"); "No. 2" alone numbers plants too."""
    return any(w in _STREET_WORDS or (len(w) > 5 and w.endswith(_STREET_SUFFIXES)) for w in words)


def _address_after_form(name: str, vocab: _LegalVocabulary) -> tuple[str, str] | None:
    """The split before an address written straight after the legal form ("... N.V. Groenewoudseweg 1").

    Bills of lading and registers run the shipper's street address on from its name without a comma
    ("Huali Garments Co., Ltd. No. 5 Xinhe Road, Dongguan"). After the first complete legal form, 2 to
    10 words holding a number, a word of three or more letters and a street word ("Road", "...weg"),
    and no branch, plant or factory word (those are the name's: "Co. Ltd.
    Factory 2", "Limited KAT 3"), are an address, not name words.
    """
    if "(" in name or not any(ch.isdigit() for ch in name):
        return None  # a number in brackets is a plant's ("Co. Ltd. (TG 2/4)"), as in ``_seat_in_brackets``
    words = _words(name)
    for k in range(2, len(words) - 1):
        if words[k - 1] not in vocab.by_last or not _ends_with_form(words[:k], vocab):
            continue
        head, rest = words[:k], words[k:]
        if (
            len(rest) > _ADDRESS_TAIL_MAX_WORDS
            or not any(ch.isdigit() for w in rest for ch in w)
            or not any(len(w) >= 3 and w.isalpha() for w in rest)
            or not _reads_as_street(rest)
            or _NOT_ADDRESS_WORDS.intersection(rest)
            or _form_continues(head, rest, vocab)
            or _starts_with_form(rest, vocab)
            or _only_legal_forms(rest, vocab)
        ):
            continue
        return " ".join(head), " ".join(rest)
    return None


def _split_qualifier(name: str, vocab: _LegalVocabulary) -> tuple[str, str, bool]:
    """Split "AMP-Holland B.V., Hertogenbosch, NL" into the name, what follows its legal form, and whether that is a street address.

    Registers often append a seat, a location, a country code or the company's acronym after the
    legal form: after a comma ("..., Hertogenbosch, NL"; also after a form written first, "N.V.
    Nutricia, Zoetermeer"), in closing brackets ("Unilever N.V. (NL)") or after a preposition ("DSM
    N.V. te Heerlen"). What follows is split off unless it is only legal forms ("Co., Ltd."), begins
    a legal form, is a branch or plant marker (kept for the branch logic) or, in brackets or after
    a preposition, holds a number (a plant: "Ltd (M&V3)"). Brackets are split off only when they hold
    a country or the name's acronym; other words there may name a site. A street address run on after
    the legal form without a comma is split off too (``_address_after_form``).
    """
    for rule in (_seat_after_comma, _seat_in_brackets, _seat_after_preposition, _address_after_form):
        found = rule(name, vocab)
        if found is not None:
            return found[0], found[1], rule is _address_after_form
    return name, "", False


_MAX_FRAGMENT = 3
_SPACED_TOKEN_CHARS = 2  # a token this short counts towards a spaced-out name
_SPACED_MIN_SHORT = 3
# Short words of names in the languages of supplier lists, never taken for letters that fell apart.
_SHORT_FUNCTION_WORDS = STOPWORDS | {
    "a",
    "e",
    "o",
    "da",
    "do",
    "di",
    "el",
    "en",
    "al",
    "van",
    "von",
    "der",
    "den",
}
# Short legal-form words that fragments may be re-joined into; other 2-4 letter vocabulary entries
# ("aat", "akt") are too easily spelled by unrelated fragments.
_SHORT_FORM_WORDS = frozenset(
    {"co", "ltd", "pvt", "inc", "llc", "plc", "bhd", "sdn", "pte", "pty", "gmbh", "corp", "ltda"}
)


def _segment(text: str, words: frozenset[str], prefixes: frozenset[str]) -> list[str] | None:
    """``text`` cut into the fewest words of ``words`` ("pvtltd" -> ["pvt", "ltd"]), or None."""
    n = len(text)
    best: list[list[str] | None] = [[]] + [None] * n
    for start in range(n):
        head = best[start]
        if head is None:
            continue
        end = start + 1
        while end <= n and text[start:end] in prefixes:
            current = best[end]
            if text[start:end] in words and (current is None or len(head) + 1 < len(current)):
                best[end] = [*head, text[start:end]]
            end += 1
    return best[n]


def _join_split_form_words(toks: list[tuple[str, bool]], vocab: _LegalVocabulary) -> list[tuple[str, bool]]:
    """Re-join legal-form words that scanning or PDF extraction broke apart ("( pr i v ate ) ltd").

    A span of two or more short fragments (at most three letters each), at least one of which is not
    a legal-form word itself, is rewritten only when its letters spell legal-form words exactly
    ("pv tl td" -> "pvt ltd"), so the form is recognised and removed as in the intact name. Other
    fragments stay as they are (the compact-name features compare those).
    """
    n = len(toks)
    frag = [len(t) <= _MAX_FRAGMENT and not c and t.isalpha() for t, c in toks]
    if n < 2 or sum(frag) < 2:
        return toks
    words, prefixes = vocab.words, vocab.word_prefixes
    out: list[tuple[str, bool]] = []
    i = 0
    while i < n:
        if not frag[i] or toks[i][0] not in prefixes:
            out.append(toks[i])
            i += 1
            continue
        run_end = i
        while run_end < n and frag[run_end]:
            run_end += 1
        intact = next(
            (
                k
                for k in range(min(run_end - i, 6), 1, -1)
                if tuple(t for t, _ in toks[i : i + k]) in vocab.forms
            ),
            0,
        )
        if intact:  # a legal form already written in short words ("sa de cv"): nothing to re-join
            out.extend(toks[i : i + intact])
            i += intact
            continue
        done = 0
        for j in range(min(run_end, i + 8), i + 1, -1):
            span = [t for t, _ in toks[i:j]]
            if all(t in words for t in span):
                continue
            seg = _segment("".join(span), words, prefixes)
            if seg:
                out.extend((w, False) for w in seg)
                done = j - i
                break
        if done:
            i += done
        else:
            out.append(toks[i])
            i += 1
    return out


_SLIP_TAIL = 4  # legal forms sit at the end: only the last words are read for typing slips


def _form_slips(toks: list[tuple[str, bool]], vocab: _LegalVocabulary) -> dict[int, str]:
    """Typing slips in legal-form words near the end: {token position: the word it was meant to be}.

    "Sri Ranga Marine Products Private Liimited" and "Angshuk Limtied Ltd." lose their forms to one
    slip. The caller keeps a correction only when the corrected word then belongs to a legal form,
    so a name word one slip from a form word ("Europa" from the Hungarian "europai") stays; a letter
    replaced is no slip here ("Limitex" stays).
    """
    out: dict[int, str] = {}
    for i in range(max(0, len(toks) - _SLIP_TAIL), len(toks)):
        tok, cjk = toks[i]
        fixed = None if cjk or len(tok) < _SLIP_MIN_CHARS - 1 else vocab.slips.get(tok)
        if fixed is not None:
            out[i] = fixed
    return out


def _join_cjk_runs(toks: list[tuple[str, bool]]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for tok, cjk in toks:
        if cjk:
            run.append(tok)
            continue
        if run:
            out.append("".join(run))
            run = []
        out.append(tok)
    if run:
        out.append("".join(run))
    return out


def _spaced_out(toks: list[tuple[str, bool]]) -> bool:
    """A name whose letters fell apart ("u ni ty fash i o n c am bo"), to be glued into one token.

    Text typed with spaced letters or extracted from a PDF or a scan keeps no word boundaries, so its
    tokens are noise to every token-based comparison. ``toks`` are the core tokens, each flagged when
    it is a run of single letters joined by the tokeniser ("o r i g i" reads "origi"). When at least
    three tokens, and more than half of all tokens, are one or two letters long or such runs, and
    one of them is a lone letter or a run of three letters or more ("P/O", "M/S" are two), the name is glued into one token ("unityfashioncambo");
    the comparison features read a glued token against the words it spans on the other side. At
    least two of the short tokens must be fragments rather than short function words ("de", "y",
    "e"). Names of short words ("M M Exports", "K and S Textiles", "Textiles y Confecciones de la
    Costa", the Vietnamese "My An Ha") and initials before words ("A B C Garments") are kept.
    """
    short = [t for t, run in toks if run or (len(t) <= _SPACED_TOKEN_CHARS and t.isalpha())]
    fragments = sum(1 for t in short if t not in _SHORT_FUNCTION_WORDS)
    return (
        len(short) >= _SPACED_MIN_SHORT
        and 2 * len(short) > len(toks)
        and fragments >= 2
        and any((run and len(t) > 2) or len(t) == 1 for t, run in toks if t in short)
    )


def _core_with_runs(core: list[str], cleaned: str, form_fell_apart: bool) -> list[tuple[str, bool]]:
    """Core tokens flagged as joined runs of single letters, for ``_spaced_out``.

    A legal form whose letters fell apart too ("( pr i v ate ) ltd", re-joined by the form rules)
    counts as one more fragment: "d sl lanka ( pr i v ate ) ltd" is "dsl lanka", spaced out.
    """
    runs = {t for t, run in _letter_runs(cleaned) if run}
    out = [(t, t in runs) for t in core]
    if form_fell_apart:
        out.append(("~", True))
    return out


def _letter_runs(cleaned: str) -> list[tuple[str, bool]]:
    """Latin tokens of a cleaned string, runs of single letters joined and flagged (CJK left out)."""
    out: list[tuple[str, bool]] = []
    run: list[str] = []
    for raw in cleaned.split(" "):
        if not raw or raw.startswith(_CJK_MARK):
            continue
        if len(raw) == 1 and raw.isalpha():
            run.append(raw)
            continue
        if run:
            out.append(("".join(run), len(run) > 1))
            run = []
        out.append((raw, False))
    if run:
        out.append(("".join(run), len(run) > 1))
    return out


_RUN_FORM_MAX = 3  # letters of a legal form at the end of a run of single letters ("d s m n v")


def _split_run_form(
    toks: list[tuple[str, bool]], cleaned: str, vocab: _LegalVocabulary
) -> list[tuple[str, bool]]:
    """A name spelled in single letters with its legal form ("D S M N. V.") keeps the form apart.

    The tokeniser joins a run of single letters into one word ("d s m n v" -> "dsmnv"), which would
    glue the form onto the name. When the run is the whole name and its last two or three letters are
    a one-word legal form ("nv", "bv", "sa", "ag"), those letters become the form, as they are in
    "DSM N.V."; at least two letters must remain ("A B C S A" is "abc" + "sa", "S A" stays). A run
    after other words is a word whose letters fell apart ("PT Bumi Putra S e n t o s a") and is kept.
    """
    if len(toks) != 1:
        return toks
    runs = _letter_runs(cleaned)
    if len(runs) != 1 or not runs[0][1] or toks[0] != (runs[0][0], False):
        return toks
    run = runs[0][0]
    for k in range(_RUN_FORM_MAX, 1, -1):
        if len(run) - k >= 2 and (run[-k:],) in vocab.forms:
            return [(run[:-k], False), (run[-k:], False)]
    return toks


# Honorific predicates written before a company's name and dropped as freely: the Dutch "Koninklijke"
# (royal, granted to companies of a century's standing) is "Koninklijke Philips" as often as "Philips".
# Registers carry it mistyped ("Koninklike", "Kinonklijke") as often as other words: the predicate is
# one long word no other word is near, so a first word within this Indel similarity of it is the predicate.
_PREDICATES = ("koninklijke",)
_PREDICATE_SIMILARITY = 80
_PREDICATE_ABBREVIATION_MIN = 6  # "Koninkl." is the predicate abbreviated; "Kon" is too short to tell
_PREDICATE_INITIALS = frozenset(p[0] for p in _PREDICATES)


def _leading_predicate(word: str) -> bool:
    if word == "the":
        return True
    if len(word) < _PREDICATE_ABBREVIATION_MIN or word[0] not in _PREDICATE_INITIALS:
        return False  # most first words: no predicate is this short or starts with this letter
    return any(
        fuzz.ratio(word, p, score_cutoff=_PREDICATE_SIMILARITY) > 0 or p.startswith(word) for p in _PREDICATES
    )


def _drop_leading_predicate(tokens: list[str]) -> list[str]:
    """``tokens`` without a leading "the" or honorific predicate, also one broken in two ("Konin klijke")."""
    if len(tokens) > 2 and not _leading_predicate(tokens[0]) and _leading_predicate(tokens[0] + tokens[1]):
        return tokens[2:]
    if len(tokens) > 1 and _leading_predicate(tokens[0]):
        return tokens[1:]  # "The Coca-Cola Company" is "Coca-Cola Company"
    return tokens


@lru_cache(maxsize=200_000)
def normalise_name(name: str | None) -> NormalisedName:
    """Normalise one company name (see the module docstring for the steps)."""
    original = name or ""
    truncated = len(original) > MAX_NAME_CHARS
    vocab = legal_vocabulary()
    head, qualifier, is_address = _split_qualifier(original[:MAX_NAME_CHARS], vocab)
    cleaned = clean_text(head)
    raw = _split_run_form(_tokens_with_script(cleaned), cleaned, vocab)
    toks = _split_glued_form(_split_glued_markers(_join_split_form_words(raw, vocab), vocab))
    kept, forms, branch = _strip_legal_forms(toks, vocab)
    slips = _form_slips(toks, vocab)
    while slips:
        fixed = [(slips.get(i, tok), cjk) for i, (tok, cjk) in enumerate(toks)]
        kept2, forms2, branch2 = _strip_legal_forms(fixed, vocab)
        left = {t for t, _ in kept2}
        unused = {i for i, w in slips.items() if w in left}  # corrected, yet not part of a legal form
        if not unused:
            kept, forms, branch = kept2, forms2, branch2
            break
        slips = {i: w for i, w in slips.items() if i not in unused}
    core_tokens = _join_cjk_runs(kept)
    if len(core_tokens) > 1 and _spaced_out(_core_with_runs(core_tokens, cleaned, len(toks) < len(raw))):
        core_tokens = ["".join(core_tokens)]
    core_tokens = _drop_leading_predicate(core_tokens)
    written = core_tokens
    core_tokens = _expand_abbreviations(core_tokens)
    text = " ".join(_join_cjk_runs(_tokens_with_script(clean_text(original[:MAX_NAME_CHARS]))))
    core = " ".join(core_tokens)
    tokens = tuple(t for t in core_tokens if t not in STOPWORDS) or tuple(core_tokens)
    if raw and raw[-1][0] in _CUT_CONNECTORS and tokens and tokens[-1] != raw[-1][0]:
        # A name ending in "of", "and" or "for" was cut off ("National Bank Of", "Chittagong Water
        # Supply And"): the word stays in the key, so that the stub does not share the key of the
        # bare name ("National Bank Ltd.") and only reaches it through the similarity features.
        tokens = (*tokens, raw[-1][0])
    return NormalisedName(
        original=original,
        text=text,
        core=core,
        tokens=tokens,
        legal_forms=tuple(forms),
        branch=branch,
        truncated=truncated,
        qualifier=qualifier,
        address_tail=qualifier if is_address else "",
        written="".join(written) if core_tokens != written else "",
    )


def name_key(name: str | None) -> str:
    """Deterministic exact-match key: normalised, legal forms removed, tokens sorted."""
    return normalise_name(name).key


_NATIVE_DROP_RE = re.compile(r"[\W_]+")


def _is_latin_text(s: str) -> bool:
    return all(ch.isascii() or unicodedata.name(ch, "").startswith("LATIN") for ch in s)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (OpenCC, Apache-2.0)."""
    return str(_t2s().convert(text))


@lru_cache(maxsize=1)
def _native_forms() -> tuple[str, ...]:
    """Legal forms written in another script than Latin (有限公司, 株式会社, 주식회사, ООО), longest first."""
    out: set[str] = set()
    data = resources.files("risk_engine.matching") / "data"
    for fname in ("org_types.json", "legal_forms_extra.json"):
        for entry in json.loads((data / fname).read_text(encoding="utf-8"))["types"]:
            for alias in entry["aliases"]:
                a = _NATIVE_DROP_RE.sub("", unicodedata.normalize("NFKC", alias).casefold())
                if len(a) >= 2 and not _is_latin_text(a):
                    out.add(a)
    return tuple(sorted(out, key=len, reverse=True))


@lru_cache(maxsize=200_000)
def native_key(name: str | None) -> str:
    """Key of a native-script name, compared in its own script rather than transliterated.

    Transliteration would make homophones one name: "佛山佳明服装" and "佛山嘉铭服装" are both
    "foshan jiaming fuzhuang", though a Chinese register holds them as two companies. The key is
    the name after NFKC and case folding, without spaces and punctuation, Chinese characters in
    their simplified form, with one legal form in that script removed at the end and one at the start. A name in Latin letters gets the usual
    ``name_key``.
    """
    if not name:
        return ""
    s = _NATIVE_DROP_RE.sub("", unicodedata.normalize("NFKC", name).casefold())
    if not s or _is_latin_text(s):
        return name_key(name)
    if any(_is_cjk(ch) for ch in s) and not any(0x3040 <= ord(ch) <= 0x30FF for ch in s):
        s = _simplified(s)  # "服裝" (traditional) and "服装" (simplified) are one spelling; kana: Japanese
    for form in _native_forms():
        if s.endswith(form):
            s = s[: -len(form)] or s  # a name that is only a legal form keeps it
            break
    for form in _native_forms():
        if s.startswith(form):
            s = s[len(form) :] or s
            break
    return s


_ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "hwy": "highway",
    "ln": "lane",
    "dr": "drive",
    "ind": "industrial",
    "indl": "industrial",
    "indus": "industrial",
    "industial": "industrial",
    "inds": "industrial",
    "ez": "economic zone",
    "dist": "district",
    "distt": "district",
    "bldg": "building",
    "blk": "block",
    "fl": "floor",
    "flr": "floor",
    "twp": "township",
    "vill": "village",
    "vil": "village",
    "prov": "province",
    "pref": "prefecture",
    "tn": "town",
    "cty": "city",
    "zn": "zone",
    "number": "no",
    "num": "no",
    "nr": "no",
    "nos": "no",
    "mfg": "manufacturing",
    "sec": "section",
    "hse": "house",
    "ctr": "centre",
    "center": "centre",
    "pk": "park",
    "rm": "room",
    "apt": "apartment",
    "e": "east",
    "w": "west",
    "n": "north",
    "s": "south",
}

_ADDRESS_PHRASES: tuple[tuple[str, str], ...] = (
    ("industrial area", "industrial zone"),
    ("industrial estate", "industrial zone"),
    ("industrial park", "industrial zone"),
    ("export processing zone", "epz"),
)

_DIGIT_SPLIT_RE = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z]{3,})")


# Words that nearly every address has, in the forms ``normalise_address`` leaves: street and place
# types, directions, unit words. Two addresses that share only these share nothing that locates a site
# ("1347 W Erie Street" / "2510 W Cortez Street"), so they are left out of the compared address.
_ADDRESS_GENERIC = frozenset(
    [
        "road",
        "street",
        "avenue",
        "lane",
        "boulevard",
        "highway",
        "drive",
        "way",
        "place",
        "court",
        "square",
        "east",
        "west",
        "north",
        "south",
        "no",
        "plot",
        "lot",
        "unit",
        "floor",
        "building",
        "block",
        "room",
        "suite",
        "apartment",
        "house",
        "section",
        "sector",
        "phase",
        "industrial",
        "zone",
        "economic",
        "development",
        "epz",
        "village",
        "town",
        "township",
        "district",
        "province",
        "city",
        "county",
        "state",
        "prefecture",
        "the",
        "of",
        "and",
        "sokak",
        "sok",
        "sk",
        "cadde",
        "cad",
        "caddesi",
        "mah",
        "mahallesi",
        "jalan",
        "jl",
        "duong",
        "calle",
        "rua",
        "via",
        "strasse",
    ]
)


def address_key(normalised: str) -> str:
    """A normalised address without its generic words; the address itself when nothing else is left."""
    words = [w for w in normalised.split(" ") if w and w not in _ADDRESS_GENERIC]
    return " ".join(words) if words else normalised


def normalise_address(address: str | None) -> str:
    """Normalise an address like a name, with common abbreviations expanded (Rd -> road, Ind. -> industrial)."""
    if not address:
        return ""
    cleaned = clean_text(address[:MAX_NAME_CHARS]).replace(_CJK_MARK, "")
    cleaned = _DIGIT_SPLIT_RE.sub(" ", cleaned)
    words: list[str] = []
    for tok in cleaned.split(" "):
        if not tok:
            continue
        words.append(_ADDRESS_ABBREVIATIONS.get(tok, tok))
    s = " ".join(words)
    for phrase, canonical in _ADDRESS_PHRASES:
        s = s.replace(phrase, canonical)
    return s
