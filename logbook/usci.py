"""Normalise and validate a Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

The 18th character is a mod-31 check over the first 17, weights 3^(i-1) mod 31. Pure: its only import of ours
is rules.Problem (itself pure), so a page can show why a code is wrong in the reader's language.
"""

import unicodedata

from .rules import Problem

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]


class InvalidUSCI(ValueError):
    """The text is not a valid Unified Social Credit Code; str(error) says why in English, `problem` translatably."""

    def __init__(self, problem):
        self.problem = problem
        super().__init__(str(problem))


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
        raise InvalidUSCI(Problem("usci_length", "a USCI has 18 characters, this one has {length}", length=len(code)))
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        raise InvalidUSCI(Problem("usci_characters", "a USCI cannot contain {characters} (I, O, S, V and Z are never used)",
                                  characters=", ".join(bad)))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidUSCI(Problem("usci_check", "the check character should be {expected}, not {found}: a character is mistyped",
                                  expected=expected, found=code[17]))
    return code


def is_valid(text):
    """True when the text is, after normalising, a valid code."""
    try:
        validate(text)
    except InvalidUSCI:
        return False
    return True
