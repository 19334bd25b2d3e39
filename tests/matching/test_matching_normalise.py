import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.matching.normalise import (
    MAX_NAME_CHARS,
    clean_text,
    name_key,
    native_key,
    normalise_address,
    normalise_name,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("QUANZHOU XINXING FOOTWEAR CO., LTD", "Quanzhou Xinxing Footwear Company Limited"),
        ("Hanes Ink S.A. de C.V.", "hanes ink"),
        ("NXP , B.V.", "NXP BV"),
        ("Siemens GmbH & Co. KG", "SIEMENS"),
        ("PT Indofood Sukses Makmur Tbk", "Indofood Sukses Makmur"),
        ("ООО «Ромашка»", "Romashka LLC"),
        ("Ｆｏｏ Ｂａｒ Ltd", "bar foo limited"),
        ("Sanofi S.A.", "SANOFI"),
    ],
)
def test_name_key_equal_for_legal_form_and_order_variants(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)
    assert name_key(a) != ""


def test_name_key_distinguishes_different_companies() -> None:
    assert name_key("Quanzhou Xinxing Footwear Co Ltd") != name_key("Quanzhou Xinhua Footwear Co Ltd")


def test_legal_form_kept_as_attribute() -> None:
    n = normalise_name("Shenzhen Bright Electronics Co., Ltd.")
    assert n.core == "shenzhen bright electronics"
    assert n.legal_form == "co ltd"
    assert n.legal_generic == "LLC"
    assert normalise_name("Foo Holdings PLC").legal_generic == "JSC"


def test_chinese_legal_form_removed_and_transliterated() -> None:
    n = normalise_name("广州华美服装有限公司")
    assert n.core == "guangzhouhuameifuzhuang"
    assert n.legal_form is not None
    assert normalise_name("广州华美服装股份有限公司").core == n.core


def test_name_that_is_only_a_legal_form_keeps_it() -> None:
    assert name_key("Ltd") == "ltd"
    assert name_key("Co., Ltd.") != ""


def test_empty_and_none() -> None:
    assert name_key("") == ""
    assert name_key(None) == ""
    assert normalise_name("   ").tokens == ()


def test_long_name_is_truncated_not_rejected() -> None:
    n = normalise_name("a" * 10 + " " + "b" * 10_000)
    assert n.truncated
    assert len(n.text) <= MAX_NAME_CHARS


def test_dotted_abbreviations_join() -> None:
    assert clean_text("S.A. de C.V.") == "sa de cv"
    assert normalise_name("A.B.C. Textiles").tokens == ("abc", "textiles")
    # Each dotted group joins on its own: the legal form is not glued to the initials.
    assert normalise_name("D.S.M. N.V.").core == "dsm"
    assert normalise_name("NXP B.V").key == normalise_name("NXP , B.V.").key == "nxp"


def test_ampersand_reads_as_and_and_leading_article_goes() -> None:
    assert normalise_name("Johnson & Johnson").core == normalise_name("Johnson and Johnson").core
    assert normalise_name("The Coca-Cola Company").core == normalise_name("Coca-Cola Company").core
    assert normalise_name("The").core == "the"


def test_seat_after_legal_form_is_a_qualifier_not_the_name() -> None:
    n = normalise_name("AMP-Holland B.V., Hertogenbosch, NL")
    assert (n.core, n.legal_form, n.qualifier) == ("amp holland", "bv", "hertogenbosch nl")
    m = normalise_name("Quanzhou Xinxing Footwear Co., Ltd, Quanzhou City")
    assert (m.core, m.legal_form, m.qualifier) == ("quanzhou xinxing footwear", "co ltd", "quanzhou city")
    # Commas inside the legal form, names with commas and no form, and branches are left alone.
    assert normalise_name("XYZ Co., Ltd.").qualifier == ""
    assert normalise_name("Smith, Jones & Co.").core == "smith jones"
    b = normalise_name("XYZ Co., Ltd., Dongguan Branch")
    assert (b.core, b.branch, b.qualifier) == ("xyz", "dongguan branch", "")


def test_address_abbreviations() -> None:
    assert normalise_address("No.8 Shuangbao Rd., Ind. Zone") == "no 8 shuangbao road industrial zone"
    assert normalise_address("Wuyi Industrial Area") == normalise_address("Wuyi Ind Zone")
    assert normalise_address(None) == ""


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=200))
def test_normalise_never_crashes_and_is_deterministic(s: str) -> None:
    assert name_key(s) == name_key(s)
    assert name_key(s).isascii()
    normalise_address(s)


def test_comma_inside_co_ltd_is_not_a_qualifier_split() -> None:
    # The comma of "Co., Ltd." sits inside the legal form: what follows stays in the name.
    n = normalise_name("Shenzhen Huamei Co., Ltd. Huamei Garment Factory")
    assert (n.core, n.legal_form, n.qualifier) == ("shenzhen huamei huamei garment factory", "co ltd", "")
    # A seat after the whole form is still split off.
    m = normalise_name("Shenzhen Huamei Co., Ltd., Dongguan")
    assert (m.core, m.legal_form, m.qualifier) == ("shenzhen huamei", "co ltd", "dongguan")


def test_comma_before_another_legal_form_is_not_a_qualifier_split() -> None:
    # "Unlimited" can be a legal form, but here a second form follows the comma and then the site's
    # name (Chicago early-childhood list): the words after the comma are the name's, not a seat.
    n = normalise_name("TRINITY RESOURCES UNLIMITED, INC. HOPE FOR YOUTH")
    assert (n.core, n.qualifier) == ("trinity resources unlimited hope for youth", "")
    assert n.key == normalise_name("Trinity Resources Unlimited Inc Hope for Youth").key
    assert n.key != normalise_name("TRINITY RESOURCES UNLIMITED, INC. HIGH MOUNTAIN").key


@pytest.mark.parametrize(
    ("broken", "intact"),
    [
        ("DSL Lanka ( pr i v ate ) ltd", "DSL Lanka (Private) Ltd"),
        ("Foo Garments Com pa ny Li mi ted", "Foo Garments Company Limited"),
        ("Bar Textiles Pv t L td", "Bar Textiles Pvt Ltd"),
    ],
)
def test_legal_form_broken_by_scanning_is_recognised(broken: str, intact: str) -> None:
    a, b = normalise_name(broken), normalise_name(intact)
    assert (a.core, a.legal_form) == (b.core, b.legal_form)
    assert a.legal_form is not None


def test_fragments_that_spell_no_legal_word_stay_apart() -> None:
    # "c am bo" is not a legal-form word: the fragments are not turned into one.
    assert normalise_name("Unity Fashion C am bo Co Ltd").legal_forms[-1].canonical == "co ltd"
    assert "cambo" in normalise_name("Unity Fashion C am bo Co Ltd").core
    # Short vocabulary entries that unrelated fragments spell easily are not re-joined.
    assert normalise_name("Ak T Trading Ltd").core == "ak t trading"


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("Bellarma S.R.L.", "LLC"),
        ("Chiron SARL", "LLC"),
        ("Foo Ltda.", "LLC"),
        ("Foo S.p.A.", "JSC"),
        ("Philips N.V.", "JSC"),
        ("Chiron B.V.", "LLC"),
        ("Foo ApS", "LLC"),
        ("Foo A/S", "JSC"),
        ("Rinplay S. de R.L. de C.V.", "LLC"),
        ("Rinplay S. de R.L.", "LLC"),
        ("Hanes Ink S.A. de C.V.", "JSC"),
    ],
)
def test_legal_form_generic_class(name: str, generic: str) -> None:
    # Limited-liability forms (SRL, SARL, Ltda, BV, ApS) and share companies (SpA, NV, A/S) differ.
    assert normalise_name(name).legal_generic == generic


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CÔNG TY TNHH MTV HIMARU VIỆT NAM", "Himaru Viet Nam Co., Ltd"),
        ("Cong Ty TNHH Go Binh Phong", "Go Binh Phong Company Limited"),
        ("Công ty Cổ phần Dệt May Thành Công", "CTCP Dệt May Thành Công"),
    ],
)
def test_vietnamese_legal_forms_before_the_name(a: str, b: str) -> None:
    # "Công ty TNHH" (limited liability) and "Công ty Cổ phần" / "CTCP" (joint stock) lead the name.
    assert name_key(a) == name_key(b)
    assert normalise_name(a).legal_generic == normalise_name(b).legal_generic


@pytest.mark.parametrize(
    ("spaced", "intact"),
    [
        ("u ni ty fash i o n c am bo c o ltd", "Unity Fashion Cambo Co Ltd"),
        ("M E R C U R Y Appar e l Se e th awaka", "Mercury Apparel Seethawaka"),
        ("ne o c o nc e pt fash i o n", "Neoconcept Fashion"),
        # Runs of single letters ("s u n r i" reads "sunri") are fragments too.
        ("s u n r i se knit s", "Sunrise Knits"),
        # The legal form fell apart as well: its fragments count once the form is re-joined.
        ("a bc lanka ( pr i v ate ) ltd", "ABC Lanka (Private) Ltd"),
    ],
)
def test_name_whose_letters_fell_apart_is_glued(spaced: str, intact: str) -> None:
    # PDF or scan extraction keeps no word boundaries: the name becomes one token of its letters.
    a, b = normalise_name(spaced), normalise_name(intact)
    assert a.tokens == ("".join(b.tokens),)
    assert a.legal_form == b.legal_form


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("M M Exports", ("mm", "exports")),
        ("K & S Textiles", ("k", "s", "textiles")),
        ("Cong Ty TNHH My An Ha", ("my", "an", "ha")),
        ("Textiles y Confecciones de la Costa S.A.", ("textiles", "confecciones", "costa")),
        ("Hilos e Fios do Brasil Ltda", ("hilos", "e", "fios", "do", "brasil")),
        ("A B C Garments Ltd", ("abc", "garments")),  # initials before a word
        ("Home of Life II I/T", ("home", "life", "ii", "it")),  # two-letter runs are abbreviations
    ],
)
def test_names_of_short_words_are_not_glued(name: str, tokens: tuple[str, ...]) -> None:
    assert normalise_name(name).tokens == tokens


@pytest.mark.parametrize(
    "name",
    [
        "Rinplay S. DE R.L. DE C.V. (Huichapan)",
        "Rinplay S.A. de C.V. (Huichapan)",
        "Rinplay S de RL de CV Huichapan",
    ],
)
def test_mexican_legal_form_before_a_site_name_is_removed(name: str) -> None:
    # A multi-word form is unambiguous anywhere; before, "sa de cv" was even re-joined into one word.
    assert normalise_name(name).core == "rinplay huichapan"


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("An Phat Invest JSC - Zone A ( Unit 2, 3, 4)", "an phat invest zone a unit 2 3 4"),
        ("An Phat Invest Joint Stock Company - Zone A ( Unit 2, 3, 4)", "an phat invest zone a unit 2 3 4"),
        ("Evolv Clothing Company Private Limited - Perungudi", "evolv clothing company perungudi"),
        ("Auriquimica Ltda Filial", "auriquimica filial"),
        ("Ege Deri Ltd. Sti. Mill", "ege deri mill"),
    ],
)
def test_long_legal_forms_before_a_site_are_removed_like_short_ones(name: str, core: str) -> None:
    # "JSC" before a site was always removed; its long form stayed in the name, so the two spellings
    # of one site differed by three words.
    assert normalise_name(name).core == core
    assert normalise_name(name).legal_form is not None


@pytest.mark.parametrize(
    ("name", "core", "form"),
    [
        ("CHANGSHU XINPINGCOLIMITED", "changshu xinping", "co ltd"),
        ("Changshu Xinping.co.Ltd", "changshu xinping", "co ltd"),
        ("Eastwestrubbertradingllc", "eastwestrubbertrading", "llc"),
        ("Muster Andelgmbh", "muster andel", "gmbh"),
        ("Unlimited", "unlimited", None),  # too little left to be a name
        ("Telcoltd", "telco", "ltd"),  # "coltd" would leave "tel"; "ltd" leaves 4+ letters
    ],
)
def test_a_legal_form_typed_onto_the_last_word_is_split_off(name: str, core: str, form: str | None) -> None:
    nn = normalise_name(name)
    assert (nn.core, nn.legal_form) == (core, form)


def test_native_names_are_compared_in_their_own_script() -> None:
    # Homophones transliterate alike ("jiaming") but are two names in a Chinese register.
    assert native_key("佛山佳明服装有限公司") == "佛山佳明服装"
    assert native_key("佛山嘉铭服装有限公司") != native_key("佛山佳明服装有限公司")
    # Traditional and simplified characters are one spelling; legal forms in the script go.
    assert native_key("佛山佳明服裝有限公司") == native_key("佛山佳明服装有限公司")
    assert native_key("トヨタ自動車株式会社") == "トヨタ自動車"
    assert native_key("삼성전자주식회사") == "삼성전자"
    assert native_key("ООО «Ромашка»") == "ромашка"
    # A name that is only a legal form keeps it; a Latin name gets the usual key.
    assert native_key("有限公司") == "有限公司"
    assert native_key("Himaru Viet Nam Co., Ltd") == name_key("Himaru Viet Nam Co., Ltd")


@pytest.mark.parametrize(
    ("name", "core"),
    [("S.C. Bellarma S.R.L.", "bellarma"), ("SC Textile SA", "textile"), ("SC Johnson", "sc johnson")],
)
def test_romanian_sc_before_the_name_is_a_legal_form(name: str, core: str) -> None:
    # "S.C." (societate comercială) leads Romanian registrations that end with SRL or SA; elsewhere it stays.
    assert normalise_name(name).core == core


@pytest.mark.parametrize(
    ("slipped", "clean"),
    [
        (
            "Sri Ranga Marine Products Private Liimited",
            "Sri Ranga Marine Products Private Limited",
        ),  # doubled
        ("Angshuk Limtied Ltd.", "Angshuk Limited Ltd."),  # neighbours swapped
        ("Meridian Canned Food Corporaton", "Meridian Canned Food Corporation"),  # left out
        ("Shree Ganga Solar Technology Privatte Limited", "Shree Ganga Solar Technology Private Limited"),
        ("Phuoc Loc Solar Energy Joint Stock Copmany", "Phuoc Loc Solar Energy Joint Stock Company"),
    ],
)
def test_typing_slip_in_a_legal_form_still_reads_as_the_form(slipped: str, clean: str) -> None:
    a, b = normalise_name(slipped), normalise_name(clean)
    assert a.tokens == b.tokens
    assert a.legal_generic == b.legal_generic


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("Limitex Garments Ltd", ("limitex", "garments")),  # a letter replaced is no slip
        ("Canon Europa NV", ("canon", "europa")),  # one slip from a form word, but no form with it
        ("Private Label Garments Ltd", ("private", "label", "garments")),  # a form word, not a slip
        ("Comunity Bank Ltd", ("comunity", "bank")),
    ],
)
def test_name_words_near_a_form_word_are_not_corrected(name: str, tokens: tuple[str, ...]) -> None:
    assert normalise_name(name).tokens == tokens


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Barnhardt Mfg. Co.", "Barnhardt Manufacturing Company"),
        ("Celanese Shanghai Intl Trading Co., Ltd.", "Celanese (Shanghai) International Trading Co., Ltd."),
        ("Ahoo Pai Tools Int'l Loading", "Ahoo Pai Tools International Loading"),
        ("Connell Bros Co.", "Connell Brothers Company"),
        ("Hutchinson Fluid Mgmt Systems Inc.", "Hutchinson Fluid Management Systems Inc"),
        ("Punjab Spring & Engg. Works", "Punjab Spring and Engineering Works"),
    ],
)
def test_agreed_contractions_are_written_out(short: str, long: str) -> None:
    a, b = normalise_name(short), normalise_name(long)
    assert a.key == b.key
    assert a.written and not b.written  # the name as written is kept for spacing-free comparison


def test_contractions_with_several_readings_stay_as_written() -> None:
    # "Ind" (industry, industrial, India), "Tech" and "Tex" are trade-name words too.
    for name in ("Art Latex Ind & Comercio Ltda", "Ab Tech Industries", "Bavly Tex Factory"):
        n = normalise_name(name)
        assert n.written == "" and n.core == " ".join(n.core.split())
    assert normalise_name("Printline Ltd").core == "printline"  # "intl" inside a word is no contraction


@pytest.mark.parametrize(
    ("glued", "spaced"),
    [
        ("Artistic Milliners Pvt Ltdunit14", "Artistic Milliners (Pvt) Limited. (Unit No. 14)"),
        ("Soorty Enterprises (Pvt) Ltd. Unit10", "Soorty Enterprises (Pvt) Ltd Unit 10"),
        ("Acme Garments Plant2", "Acme Garments Plant 2"),
    ],
)
def test_plant_markers_glued_or_with_a_number_word_are_branches(glued: str, spaced: str) -> None:
    a, b = normalise_name(glued), normalise_name(spaced)
    assert (a.core, a.branch) == (b.core, b.branch)
    assert a.branch.split()[-1].isdigit()


def test_words_that_merely_contain_a_marker_stay_whole() -> None:
    assert normalise_name("Coworks Ltd").core == "coworks"
    assert normalise_name("Sunworks Textile Ltd").core == "sunworks textile"
    assert normalise_name("Unit 2 Garments").branch == ""  # a marker at the start is part of the name


def test_bracketed_tail_after_legal_form_is_a_qualifier() -> None:
    # Registers add a country code, seat or the company's own acronym in brackets after the form.
    n = normalise_name("UNILEVER N.V. (NL)")
    assert (n.core, n.legal_form, n.qualifier) == ("unilever", "nv", "nl")
    assert normalise_name("UNILEVER NV (NL").qualifier == "nl"  # an unclosed bracket, as lists cut it
    s = normalise_name("Schlumberger Technology B.V. (STBV)")
    assert (s.core, s.legal_form, s.qualifier) == ("schlumberger technology", "bv", "stbv")
    # Brackets inside the name, around a legal form, or holding a plant number are left alone.
    assert normalise_name("Du Pont de Nemours (Nederland) B.V.").qualifier == ""
    assert normalise_name("Sang Woo (Cambodia) Co., Ltd.").core == "sang woo cambodia"
    assert normalise_name("ABC Co. (Pvt) Ltd").qualifier == ""
    assert normalise_name("M&V Intl Manufacturing Ltd (M&V3)").qualifier == ""
    assert normalise_name("ABC Ltd (Cambodia) Co Ltd").qualifier == ""
    b = normalise_name("XYZ Co., Ltd. (Dongguan Branch)")
    assert (b.core, b.branch, b.qualifier) == ("xyz", "dongguan branch", "")


def test_seat_introduced_by_a_preposition_after_legal_form_is_a_qualifier() -> None:
    # Dutch registers write the seat as "te <city>" ("at"); others "in <city>".
    n = normalise_name("DSM N.V. TE HEERLEN.")
    assert (n.core, n.legal_form, n.qualifier) == ("dsm", "nv", "heerlen")
    m = normalise_name("Sara Lee/DE N.V. te Utrecht")
    assert (m.core, m.qualifier) == (normalise_name("Sara Lee/DE N.V.").core, "utrecht")
    assert normalise_name("Muller GmbH in Hamburg").qualifier == "hamburg"
    # Without a legal form before it, or with a number or a long tail after it, the words stay.
    assert normalise_name("Made in Italy Srl").qualifier == ""
    assert normalise_name("Tools in Motion").core == "tools in motion"
    assert normalise_name("ABC Ltd in Unit 4").qualifier == ""
    assert normalise_name("ABC Ltd in the heart of the old town").qualifier == ""


def test_seat_after_a_legal_form_written_first_is_a_qualifier() -> None:
    # "N.V. Nutricia, Zoetermeer": the form leads (as "PT", "OOO", "N.V." may), the seat follows a comma.
    n = normalise_name("N.V. NUTRICIA, ZOETERMEER")
    assert (n.core, n.legal_form, n.qualifier) == ("nutricia", "nv", "zoetermeer")
    assert normalise_name("NAAMLOZE VENNOOTSCHAP NUTRICIA, ZOETERMEER, NL").core == "nutricia"
    assert normalise_name("PT Indofood, Jakarta").qualifier == "jakarta"
    # A lone prefix form with a comma and a name is not a seat split.
    assert normalise_name("PT, Indofood").core == "indofood"


_SEAT_PARTS = [
    "N.V.",
    "(",
    ")",
    ",",
    "te",
    "in",
    "at",
    "Ltd",
    "PT",
    "NL",
    "Unit 2",
    "ABC",
    "Co.,",
    "Ltd.",
    "(NL)",
]
_SEAT_PARTS += ["Heerlen", "Branch", "B.V.", "GmbH", "Sdn Bhd", "3", "China", "(ABC)", "&", "-", ""]


@settings(deadline=None, max_examples=300)
@given(st.lists(st.sampled_from(_SEAT_PARTS), max_size=9), st.booleans())
def test_names_of_forms_brackets_and_seats_never_crash(parts: list[str], glued: bool) -> None:
    # The seat rules look behind commas, brackets and prepositions: any mix of them gives a defined,
    # deterministic result, with a qualifier in normalised words (lower case, single spaces).
    name = ("" if glued else " ").join(parts)
    n = normalise_name(name)
    assert n == normalise_name(name)
    assert n.qualifier == " ".join(n.qualifier.split()) == n.qualifier.lower()
    assert n.qualifier.replace(" ", "").isalnum() or not n.qualifier


@pytest.mark.parametrize(
    ("cut", "intact"),
    [
        ("Menon Overseas Private", "Menon Overseas Private Limited"),
        ("Saigon Garment Joint Stock Comp", "Saigon Garment Joint Stock Company"),
        ("Ramatex Textiles Industrial Sdn. B", "Ramatex Textiles Industrial Sdn. Bhd."),
        ("Orkum Tekstil San. ve", "Orkum Tekstil San. ve Tic. A.S."),
        ("Koosoon Heng Lee Textile Co. L", "Koosoon Heng Lee Textile Co., Ltd."),
    ],
)
def test_legal_form_cut_off_at_a_field_width_is_removed(cut: str, intact: str) -> None:
    # Fixed-width fields cut names mid-form; the cut form is a legal form, not part of the name.
    assert name_key(cut) == name_key(intact)
    assert normalise_name(cut).legal_forms  # kept as an attribute, written as it stands


@pytest.mark.parametrize(
    "name",
    [
        "Menon Private",  # two words must stay before a cut form
        "Universal Joint",  # "joint" alone is no cut form
        "Jebel Ali Free Zone",  # forms led by common words ("free zone ...") never count
        "Hua Xin San",  # nor "san" alone (a pinyin syllable)
        "Private Label Apparel",
    ],
)
def test_words_that_only_look_like_a_cut_form_stay(name: str) -> None:
    assert name_key(name) == " ".join(sorted(name.lower().split()))


def test_name_cut_after_a_connector_keeps_it_in_the_key() -> None:
    # "National Bank Of" is a stub of a longer name: it must not share the key of "National Bank Ltd.".
    assert name_key("National Bank Of") == "bank national of"
    assert name_key("National Bank Of") != name_key("National Bank Ltd.")
    assert name_key("Johnson And") == "and johnson"
    # Connectors inside a name, "& Co" and names that end in "De" or "The" as written are unchanged.
    assert name_key("National Bank of Pakistan") == "bank national pakistan"
    assert name_key("Johnson & Co") == name_key("Johnson Ltd") == "johnson"
    assert name_key("SARA LEE/DE") == name_key("Sara Lee/DE N.V.") == "lee sara"


def test_address_key_leaves_out_generic_words() -> None:
    from risk_engine.matching.normalise import address_key, normalise_address

    assert address_key(normalise_address("1347 W Erie Street")) == "1347 erie"
    assert address_key(normalise_address("2510 West Cortez St.")) == "2510 cortez"
    assert address_key(normalise_address("Plot 12, Dhaka EPZ")) == "12 dhaka"
    # Nothing but generic words: the address stays as normalised, not empty.
    assert address_key(normalise_address("North Road")) == "north road"
    assert address_key("") == ""


def test_an_address_run_on_after_the_legal_form_is_not_part_of_the_name() -> None:
    # Bills of lading and registers run the street address on from the name without a comma.
    for name, core, qualifier in (
        (
            "KONINKLIJKE PHILIPS ELECTRONICS N.V. GROENEWOUDSEWEG 1",
            "philips electronics",
            "groenewoudseweg 1",
        ),
        (
            "Dongguan Huali Garments Co., Ltd. No. 5 Xinhe Road, Dongguan",
            "dongguan huali garments",
            "no 5 xinhe road dongguan",
        ),
        ("ABC TEXTILE CO LTD 12 MAIN STREET", "abc textile", "12 main street"),
    ):
        n = normalise_name(name)
        assert (n.core, n.qualifier, n.address_tail) == (core, qualifier, qualifier), name
    assert normalise_name("AMP-Holland B.V., Hertogenbosch, NL").address_tail == ""  # a seat, not a street
    # Plant and unit words, plant names with a number, and numbers in brackets stay the name's.
    for name in (
        "Thai Garment Export Co. Ltd. Factory 2 4",
        "hochbereg ltd facility 2",
        "Smart Shirts Limited KAT 3",
        "Maxport Limited Vietnam - Nam Dinh - Maxport 5",
        "thai garment export co. ltd. (tg 2 4)) nontaburi",
    ):
        assert normalise_name(name).qualifier == "", name


@pytest.mark.parametrize(
    ("spelled", "intact"),
    [("D S M N. V.", "DSM N.V."), ("A B C S A", "ABC S.A."), ("I B M A G", "IBM AG")],
)
def test_a_name_spelled_in_single_letters_keeps_its_legal_form_apart(spelled: str, intact: str) -> None:
    a, b = normalise_name(spelled), normalise_name(intact)
    assert (a.key, a.legal_form) == (b.key, b.legal_form)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("S A", "sa"),  # too short to hold a name and a form
        ("PT Bumi Putra S e n t o s a", "bumi putra sentosa"),  # letters of the last word fell apart
    ],
)
def test_letter_runs_that_are_not_a_name_and_a_form_stay_whole(name: str, key: str) -> None:
    assert normalise_name(name).key == key


@pytest.mark.parametrize(
    "variant",
    [
        "Koninklijke Philips Electronics N.V.",
        "KONINKLIKE PHILIPS ELECTRONICS N.V.",  # mistyped
        "Koninkl. Philips Electronics NV",  # abbreviated
        "KONIN KLIJKE PHILIPS ELECTRONICS N.V.",  # broken in two
        "The Philips Electronics N.V.",
    ],
)
def test_leading_honorific_predicate_is_not_part_of_the_name(variant: str) -> None:
    a, b = normalise_name(variant), normalise_name("Philips Electronics N.V.")
    assert (a.key, a.core) == (b.key, b.core)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Koninklijke", "koninklijke"),  # alone it is the name
        ("Kon Philips", "kon philips"),  # "Kon" is too short to read as the abbreviation
        ("Philips Koninklijke", "koninklijke philips"),  # only a leading predicate is dropped
    ],
)
def test_predicate_like_words_elsewhere_stay(name: str, key: str) -> None:
    assert normalise_name(name).key == key
