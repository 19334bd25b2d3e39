import pytest

from risk_engine.matching.identifiers import (
    clean_identifier,
    duns_is_valid,
    lei_is_valid,
    uscc_check_char,
    uscc_is_valid,
    valid_identifier,
)


@pytest.mark.parametrize("lei", ["HWUPKR0MPOU8FGXBT394", "529900T8BM49AURSDO55", "hwupkr0mpou8fgxbt394"])
def test_real_leis_pass_the_mod97_check(lei: str) -> None:
    assert lei_is_valid(lei)


@pytest.mark.parametrize("lei", ["HWUPKR0MPOU8FGXBT395", "HWUPKR0MPOU8FGXBT3", "", "HWUPKR0MPOU8FGXBT3AA"])
def test_corrupted_leis_fail(lei: str) -> None:
    assert not lei_is_valid(lei)


def test_uscc_check_character() -> None:
    # Published example of a Unified Social Credit Code.
    assert uscc_is_valid("91350100M000100Y43")
    assert not uscc_is_valid("91350100M000100Y44")
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_check_char("91350100M000100I4") is None  # I is not in the GB 32100 alphabet


def test_clean_and_validate() -> None:
    assert clean_identifier(" 12-345-6789 ") == "123456789"
    assert duns_is_valid("12-345-6789")
    assert valid_identifier("duns", "12345") is None
    assert valid_identifier("tax_id", "91350100M000100Y44") is None  # USCC-shaped but wrong check
    assert valid_identifier("tax_id", "DE123456789") == "DE123456789"
    assert valid_identifier("lei", None) is None
