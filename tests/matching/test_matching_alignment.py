"""Word alignment features and the realistic-variant perturbations the model is trained on."""

import random

import numpy as np
import polars as pl
from rapidfuzz import fuzz

from risk_engine.matching import compare, synth
from risk_engine.matching.compare import token_alignment
from risk_engine.matching.index import EntityIndex
from risk_engine.matching.normalise import name_key


def _align(pairs: list[tuple[str, str]], close: bool = True) -> tuple[list[float], list[float]]:
    sub, share = token_alignment(
        [name_key(a) for a, _ in pairs], [name_key(b) for _, b in pairs], np.full(len(pairs), close)
    )
    return [round(float(x), 3) for x in sub], [round(float(x), 3) for x in share]


def test_substitution_is_a_word_replaced_not_a_spelling() -> None:
    sub, share = _align(
        [
            ("Shenzhen Huamei Garment Co., Ltd.", "Shenzhen Huamei Textile Co., Ltd."),  # another word
            ("Shenzhen Huamei Garment Co., Ltd.", "Shenzhen Huamei Garments Co Ltd"),  # plural
            ("Schlumberger Tech B.V.", "Schlumberger Technology"),  # abbreviation
            ("C. vander Lely N.V.", "C. van der Lely N.V."),  # glued words
            ("Du Pont de Nemours (Nederland) B.V.", "Du Pont de Nemours BV"),  # extra word, one side
            ("Shell Canada Ltd", "Shell Oil Co"),
        ]
    )
    assert sub == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert share[1] == share[2] == 0.0
    assert share[4] == 0.2  # one word of five unmatched
    assert share[0] == round(2 / 6, 3) and share[5] == 2 / 4


def test_far_pairs_use_exact_words_only_and_empty_names_give_zero() -> None:
    sub, _ = _align([("Huamei Garment", "Huamei Garments")], close=False)
    assert sub == [1.0]  # without the fuzzy pass the plural is another word
    assert token_alignment(["", "abc"], ["abc", ""], np.ones(2, bool))[0].tolist() == [0.0, 0.0]


def test_identical_names_score_high_without_address_and_replaced_words_low() -> None:
    left = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "name": ["Coca-Cola Company", "Shenzhen Huamei Garment Co., Ltd.", "Sina Style Kornitsa Branch"],
            "country": [None, "CN", "BG"],
        }
    )
    right = pl.DataFrame(
        {
            "id": ["x", "y", "z"],
            "name": [
                "The Coca-Cola Company",
                "Shenzhen Huamei Textile Co., Ltd.",
                "Sina Style Kochan Branch",
            ],
            "country": [None, "CN", "BG"],
        }
    )
    out = EntityIndex.build(right).score(left, [("a", "x"), ("b", "y"), ("c", "z")])
    p = dict(zip(out["left_id"], out["probability"], strict=True))
    assert p["a"] >= 0.9
    assert p["b"] < 0.5
    assert p["c"] < 0.9  # two named branches are two sites


def test_new_perturbations_are_deterministic_and_realistic() -> None:
    name = "Mercury Apparel Pvt. Ltd."
    a = [synth.perturb(name, random.Random(5)) for _ in range(3)]
    assert a == [synth.perturb(name, random.Random(5)) for _ in range(3)]
    rng = random.Random(1)
    scattered = synth.PERTURBATIONS["scatter_spaces"](name, rng)
    assert scattered.replace(" ", "") == name.replace(" ", "") and scattered != name
    assert synth.PERTURBATIONS["article"]("Johnson & Johnson", rng) == "Johnson and Johnson"
    seat = synth.PERTURBATIONS["seat"](name, rng)
    assert name_key(seat) != "" and "mercury" in name_key(seat)
    assert synth.PERTURBATIONS["drop_legal"](name, rng) == "Mercury Apparel"
    inflect = synth.PERTURBATIONS["inflect"]
    assert inflect(name, rng) == "Mercury Apparels Pvt. Ltd."
    assert inflect("SHENZHEN HUAMEI TECHNOLOGIES", rng) == "SHENZHEN HUAMEI TECHNOLOGY"
    assert inflect("Philips", rng) == "Philips"  # a trade name is no plural


def test_field_cut_keeps_a_prefix_at_a_field_width() -> None:
    name = "Shenzhen Huamei Garment Manufacturing Co., Ltd."
    rng = random.Random(3)
    for _ in range(20):
        cut = synth.PERTURBATIONS["field_cut"](name, rng)
        assert name.startswith(cut) and len(cut) <= 40 and len(cut) < len(name)
        assert cut[-1] not in " ,.(&-"
    assert synth.PERTURBATIONS["field_cut"]("Garg Dyeing Ltd", rng) == "Garg Dyeing Ltd"  # fits every field
    # A cut name is found and scored near the match threshold, above a sibling with another word.
    right = pl.DataFrame({"id": ["x"], "name": [name], "country": ["CN"]})
    left = pl.DataFrame(
        {
            "id": ["cut", "sibling"],
            "name": ["SHENZHEN HUAMEI GARMENT MANUFACTURI", "Shenzhen Huamei Garment Printing Co., Ltd."],
            "country": ["CN", "CN"],
        }
    )
    out = EntityIndex.build(right).score(left, [("cut", "x"), ("sibling", "x")])
    p = dict(zip(out["left_id"], out["probability"], strict=True))
    assert p["cut"] >= 0.85 and p["sibling"] < 0.7


def test_field_cut_leaves_blank_and_short_names_alone() -> None:
    rng = random.Random(0)
    for name in ("", " " * 50, "Acme"):
        assert synth.PERTURBATIONS["field_cut"](name, rng) == name


def test_group_prefix_and_same_site_addresses() -> None:
    rng = random.Random(5)
    address = "No. 8 Shuangbao Road, Wuyi Industrial Zone, Jinhua"
    for _ in range(50):
        written = synth.group_prefix("Mercury Apparel Seethawaka", rng)
        assert (
            written.endswith(" Mercury Apparel Seethawaka")
            and len(written) > len("Mercury Apparel Seethawaka") + 3
        )
        # The same site written another way: never missing, never another site's address.
        same = synth.perturb_address(address, rng, same_site=True)
        assert same and "Building" not in same
        assert any(fuzz.partial_ratio(w, same.lower()) >= 80 for w in ("shuangbao", "wuyi", "jinhua"))
    # Without same_site a share of addresses goes missing, as lists leave them out.
    assert any(synth.perturb_address(address, rng) is None for _ in range(50))


def test_contractions_and_ies_plurals_are_spellings_not_substitutions() -> None:
    # A contraction keeps first and last letter, letters in order, at most one vowel, at most half the
    # length; "-y" / "-ies" is a plural. Neither is another word; a short word that merely shares the
    # first and last letter with a vowel-rich rest is.
    pairs = [
        ("Sri Velan Spg Mills Pvt. Ltd.", "Sri Velan Spinning Mills Pvt. Ltd."),
        ("Yung Fa Fishery Co., Ltd.", "Yung Fa Fisheries Co., Ltd."),
        ("Kumar Bros Textiles", "Kumar Brothers Textiles"),
        ("Kumar Silk Textiles", "Kumar Stock Textiles"),  # more than half the length: another word
        ("Velan Spring Mills", "Velan Spinning Mills"),  # "spring" has two vowels: another word
    ]
    sub, share = _align(pairs)
    assert sub == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert share[:3] == [0.0, 0.0, 0.0]
    # The loop used for a few pairs and the arrays used for many agree.
    many_sub, many_share = token_alignment(
        [name_key(a) for a, _ in pairs] * 20, [name_key(b) for _, b in pairs] * 20, np.full(100, True)
    )
    assert [round(float(x), 3) for x in many_sub[:5]] == sub
    assert [round(float(x), 3) for x in many_share[:5]] == share


def test_words_respelled_by_another_language_or_a_transliteration_agree() -> None:
    # "Tekstil" / "Textile" is 71 by ratio: without respelling it is another word, a substitution.
    assert compare.respelled("textile")[:7] == compare.respelled("tekstil")
    assert compare.respelled("philips") == compare.respelled("filips")
    assert compare.respelled("electronics") == compare.respelled("ehlektroniks")
    sub, share = _align(
        [
            ("Atlas Tekstil", "Atlas Textile"),
            ("Filips Ehlektroniks", "Philips Electronics"),
            ("Chen Garment", "Ken Garment"),  # pinyin syllables are not respelled (too short)
            ("Peter Textile", "Potter Textile"),
        ]
    )
    assert sub == [0, 0, 1, 1]
    assert share[:2] == [0, 0]


def test_the_respelling_perturbation_changes_one_long_word_and_never_pinyin() -> None:
    rng = random.Random(5)
    names = synth.generate_entities(300, seed=9)["name"].to_list()
    changed = 0
    for name in names:
        out = synth._respell(name, rng)
        if out == name:
            continue
        changed += 1
        diff = [(a, b) for a, b in zip(name.split(), out.split(), strict=True) if a != b]
        assert len(diff) == 1 and len(diff[0][0]) >= 6 and not synth._pinyin(diff[0][0].lower())
        assert _align([(name, out)])[0] == [0]  # the model sees a spelling, not another word
    assert changed > 50


def test_words_all_aligned_flags_different_names_whose_every_word_has_a_counterpart() -> None:
    ref = pl.DataFrame(
        {"id": ["r1", "r2", "r3"], "name": ["Hunter Douglas Industries B.V.", "Atlas Textile Ltd", "Desir"]}
    )
    index = EntityIndex.build(ref)
    pairs = {
        "abbreviated": ("Hunter Douglas Ind BV", "r1"),
        "respelled": ("Atlas Tekstil Ltd", "r2"),
        "same": ("HUNTER DOUGLAS INDUSTRIES BV", "r1"),
        "dropped": ("Hunter Industries B.V.", "r1"),
        "substituted": ("Atlas Garment Ltd", "r2"),
        "one_word": ("Desi", "r3"),  # a one-word name: the ratios say all there is
    }
    q = pl.DataFrame({"id": list(pairs), "name": [n for n, _ in pairs.values()]})
    out = index.score(q, [(k, r) for k, (_, r) in pairs.items()])
    flag = dict(zip(out["left_id"], out["feat_words_all_aligned"], strict=True))
    assert flag == {
        "abbreviated": 1,
        "respelled": 1,
        "same": 0,
        "dropped": 0,
        "substituted": 0,
        "one_word": 0,
    }
    prob = dict(zip(out["left_id"], out["probability"], strict=True))
    assert prob["abbreviated"] > prob["dropped"] and prob["respelled"] > prob["substituted"]


def test_same_city_address_keeps_only_the_city() -> None:
    rng = random.Random(4)
    for address in synth.generate_entities(50, seed=2)["address"].to_list():
        other = synth.same_city_address(address, rng)
        assert other != address
        assert other.rpartition(", ")[2] == address.rpartition(", ")[2]  # city (and postcode) kept
        assert other.split(", ")[0] != address.split(", ")[0]  # another number and street
    assert synth.same_city_address("Plot 7 Main Road", rng) == "Plot 7 Main Road"  # no city to keep


def test_a_number_against_a_word_is_no_substitution() -> None:
    # Numbers are number_conflict's evidence; a plant number on one side and a place on the other is
    # one unmatched word each, no word replaced by another.
    sub, share = _align(
        [
            ("Chariessa Fashion 1", "Chariessa Fashion Sandanski"),
            ("Huamei Garment 1", "Huamei Textile 1"),
            ("Huamei Garment 1", "Huamei Garment 2"),
        ]
    )
    assert sub == [0, 1, 0]
    assert share[0] == share[2] == round(2 / 6, 3)
