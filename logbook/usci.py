"""Normalise and validate a Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

The 18th character is a mod-31 check over the first 17, weights 3^(i-1) mod 31.
"""

import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]


class InvalidUSCI(ValueError):
    """The text is not a valid Unified Social Credit Code; the message says why."""


def normalise(text):
    """Trim, fold full-width characters to ASCII, drop inner spaces and upper-case."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(folded.split()).upper()


def check_character(first17):
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate(text):
    """Return the normalised code, or raise InvalidUSCI with a message a person can act on."""
    code = normalise(text)
    if len(code) != 18:
        raise InvalidUSCI(f"a USCI has 18 characters, this one has {len(code)}")
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        raise InvalidUSCI(f"a USCI cannot contain {', '.join(bad)} (I, O, S, V and Z are never used)")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidUSCI(f"the check character should be {expected}, not {code[17]}: a character is mistyped")
    return code


def is_valid(text):
    """True when the text is, after normalising, a valid code."""
    try:
        validate(text)
    except InvalidUSCI:
        return False
    return True
