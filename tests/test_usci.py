"""Unified Social Credit Codes: real published codes pass, mistyped ones fail with a message a person can act on."""

import pytest

from logbook import usci

# Real codes (see the tech notes, section 6): they must all pass.
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91512081MA62K0260E",  # worked example of a published how-to
    "91350100M000100Y43",  # the GB 32100 worked example
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_a_real_published_code_is_valid(code):
    assert usci.validate(code) == code
    assert usci.is_valid(code)


@pytest.mark.parametrize("first17, check", [
    ("91350100M000100Y4", "3"),   # sum 1640, mod 31 = 28, check 3
    ("91512081MA62K0260", "E"),   # sum 1495, mod 31 = 17, check 14 = E
    ("9144030071526726X", "G"),
])
def test_the_check_character_is_the_mod_31_weighted_sum(first17, check):
    assert usci.check_character(first17) == check


@pytest.mark.parametrize("text, message", [
    ("91350100M000100Y4Z", "a USCI cannot contain Z"),                  # the standard's own invalid case
    ("91350100M000100Y44", "the check character should be 3, not 4"),
    ("914403001922038217", "the check character should be 6, not 7"),   # Huawei, last character changed
    ("914403001922038261", "the check character should be"),            # two digits swapped
    ("9144O3001922038216", "a USCI cannot contain O"),                  # letter O instead of zero
    ("91440300I922038216", "a USCI cannot contain I"),
    ("91440300192203821S", "a USCI cannot contain S"),
    ("91440300192203821V", "a USCI cannot contain V"),
    ("91440300192203821Z", "a USCI cannot contain Z"),
    ("9144030019220382-6", "a USCI cannot contain -"),
    ("91440300192203821", "a USCI has 18 characters, this one has 17"),
    ("9144030019220382166", "a USCI has 18 characters, this one has 19"),
    ("", "a USCI has 18 characters, this one has 0"),
    ("   ", "a USCI has 18 characters, this one has 0"),
    (None, "a USCI has 18 characters, this one has 0"),
    ("华为技术有限公司", "a USCI has 18 characters, this one has 8"),
])
def test_an_invalid_code_is_refused_with_a_clear_message(text, message):
    with pytest.raises(usci.InvalidUSCI) as refused:
        usci.validate(text)
    assert message in str(refused.value)
    assert not usci.is_valid(text)


def test_an_invalid_code_error_is_a_value_error():
    with pytest.raises(ValueError):
        usci.validate("91350100M000100Y4Z")


@pytest.mark.parametrize("text", [
    "91440300708461136t",                          # lower-case check character
    "91440300708461136T",
    "  91440300708461136T\n",                      # surrounding whitespace
    "9144 0300 7084 6113 6T",                      # grouped with spaces
    "9144\t0300\u30007084 6113 6T",                # tab and an ideographic (full-width) space
    "９１４４０３００７０８４６１１３６Ｔ",              # full-width digits and letter
    "９１４４０３００７０８４６１１３６ｔ",              # full-width lower case
])
def test_input_is_normalised_before_it_is_validated(text):
    assert usci.normalise(text) == "91440300708461136T"
    assert usci.validate(text) == "91440300708461136T"


@pytest.mark.parametrize("text, normalised", [
    ("ma62k0260e", "MA62K0260E"),
    ("", ""),
    (None, ""),
    ("Ａ Ｂ", "AB"),
])
def test_normalising_trims_folds_and_upper_cases(text, normalised):
    assert usci.normalise(text) == normalised
