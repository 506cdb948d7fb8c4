"""Customer and account rules (pure): phone numbers, numbering, the account lifecycle, search terms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

CUSTOMER_KINDS = ("person", "company")
CATEGORIES = ("residential", "commercial", "industrial")
PAYMENT_MODES = ("prepaid", "postpaid")
ACCOUNT_STATUSES = ("applied", "active", "suspended", "closed")
# Languages the utility writes to its customers in (SMS, receipts, portal).
LANGUAGES = ("en", "sw", "fr", "pt", "ar", "so")

# The account lifecycle: applied → active → suspended → closed. Suspended accounts can be reactivated;
# an application can be closed (withdrawn) before it is activated; a closed account never reopens.
TRANSITIONS: dict[str, frozenset[str]] = {
    "applied": frozenset({"active", "closed"}),
    "active": frozenset({"suspended", "closed"}),
    "suspended": frozenset({"active", "closed"}),
    "closed": frozenset(),
}
CHANGE_OF_TENANCY = "change of tenancy"

CUSTOMER_NO_PREFIX = "C"
ACCOUNT_NO_PREFIX = "A"
NUMBER_DIGITS = 8
MAX_TERM_LENGTH = 64

_PHONE_NOISE = re.compile(r"[\s\-().]")
_EMAIL_RE = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
_PHONEISH = re.compile(r"^\+?[\d\s\-().]+$")


class PhoneError(ValueError):
    """A phone number that cannot be turned into E.164."""


def normalise_phone(raw: str, default_country_code: str) -> str:
    """E.164 form (``+254712345678``) of a phone number as people write it.

    ``+254 712 345 678`` and ``00254712345678`` are international; ``0712 345678`` is national (the
    trunk 0 is replaced by the default country code); ``712345678`` gets the default country code;
    ``254712345678`` (already starting with the country code and long enough) is taken as international.
    E.164 numbers have at most 15 digits; we require at least 8.
    """
    text = _PHONE_NOISE.sub("", raw.strip())
    if not text:
        raise PhoneError("The phone number is empty.")
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0"):
        digits = default_country_code + text[1:]
    elif text.startswith(default_country_code) and len(text) >= len(default_country_code) + 8:
        digits = text
    else:
        digits = default_country_code + text
    if not digits.isdigit():
        raise PhoneError(
            f"'{raw.strip()}' is not a phone number: use digits, spaces and an optional leading +."
        )
    if digits.startswith("0"):
        raise PhoneError(f"'{raw.strip()}' has no valid country code.")
    if not 8 <= len(digits) <= 15:
        raise PhoneError(
            f"'{raw.strip()}' has {len(digits)} digits with its country code; a phone number has 8 to 15."
        )
    return "+" + digits


def email_problem(email: str) -> str | None:
    if len(email) > 200 or not _EMAIL_RE.fullmatch(email):
        return f"'{email}' is not an e-mail address like name@example.com."
    return None


def format_number(prefix: str, sequence: int) -> str:
    """``C00000042``: the prefix and the zero-padded sequence (fixed width, so text order = number order)."""
    if sequence < 1 or sequence >= 10**NUMBER_DIGITS:
        raise ValueError(f"sequence {sequence} out of range")
    return f"{prefix}{sequence:0{NUMBER_DIGITS}d}"


def next_number(prefix: str, highest: str | None) -> str:
    """The number after ``highest`` (the largest issued so far, or None for the first)."""
    if highest is None:
        return format_number(prefix, 1)
    return format_number(prefix, int(highest[len(prefix) :]) + 1)


def transition_problem(current: str, target: str) -> str | None:
    if target not in TRANSITIONS:
        return f"Unknown account status '{target}'."
    if target == current:
        return f"The account is already {current}."
    if target not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current])
        if not allowed:
            return "The account is closed; a closed account cannot change status. Open a new account instead."
        return f"An account that is {current} can only become {' or '.join(allowed)}, not {target}."
    return None


def close_problem(credit_minor: int, note: str | None) -> str | None:
    """Closing rule: an account holding credit closes only with a note saying how the credit is settled.

    The credit (and any debt) stays on the closed account, visible, until settled by a ledger posting;
    it is never moved silently.
    """
    if credit_minor > 0 and not (note and note.strip()):
        return (
            "The account still holds credit. Refund or transfer it first, or give a note saying how it "
            "will be settled."
        )
    return None


def payment_mode_problem(tariff_mode: str, payment_mode: str) -> str | None:
    if payment_mode not in PAYMENT_MODES:
        return f"Payment mode must be prepaid or postpaid, not '{payment_mode}'."
    if tariff_mode not in ("any", payment_mode):
        return f"This tariff is for {tariff_mode} accounts only; the account is {payment_mode}."
    return None


# ------------------------------------------------------------------ search terms


def fold(text: str) -> str:
    """Lower case, accents removed (``Njérí`` → ``njeri``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The searchable words of a text: folded, split at anything that is not a letter or digit."""
    return [w[:MAX_TERM_LENGTH] for w in re.split(r"[^a-z0-9]+", fold(text)) if w]


def compact(text: str) -> str:
    """A code or number as one term: folded, only letters and digits (``A-0001 2`` → ``a00012``)."""
    return "".join(words(text))[:MAX_TERM_LENGTH]


def phone_term(e164: str) -> str:
    return e164.lstrip("+")


def build_terms(
    *,
    name: str,
    customer_no: str,
    phones: Iterable[str | None] = (),
    id_number: str | None = None,
    account_nos: Iterable[str] = (),
    meter_nos: Iterable[str] = (),
) -> set[tuple[str, str]]:
    """Every (term, kind) under which a customer is found. Phones must already be E.164."""
    terms: set[tuple[str, str]] = {(w, "name") for w in words(name)}
    terms.add((compact(customer_no), "customer_no"))
    for phone in phones:
        if phone:
            terms.add((phone_term(phone), "phone"))
    if id_number and compact(id_number):
        terms.add((compact(id_number), "id_number"))
    for number in account_nos:
        terms.add((compact(number), "account"))
    for number in meter_nos:
        if compact(number):
            terms.add((compact(number), "meter"))
    return terms


def query_tokens(query: str, default_country_code: str) -> list[set[str]]:
    """What to look up for a search text: one set of alternative prefixes per token, all must match.

    A query that looks like a phone number (digits, spaces, dashes, brackets, a leading +) is one token,
    looked up as typed (account, meter and ID numbers) and as the E.164 prefix it stands for
    (``0712 3`` → ``2547123``). Other text is split into words, each a prefix of some term.
    """
    text = query.strip()
    if not text:
        return []
    if _PHONEISH.fullmatch(text) and any(c.isdigit() for c in text):
        digits = "".join(c for c in text if c.isdigit())
        alternatives = {digits[:MAX_TERM_LENGTH]}
        stripped = _PHONE_NOISE.sub("", text)
        if stripped.startswith("+"):
            alternatives = {digits}
        elif stripped.startswith("00") and len(digits) > 2:
            alternatives.add(digits[2:])
        elif stripped.startswith("0") and len(digits) > 1:
            alternatives.add(default_country_code + digits[1:])
        elif not digits.startswith(default_country_code):
            alternatives.add(default_country_code + digits)
        return [{a[:MAX_TERM_LENGTH] for a in alternatives if a}]
    return [{w} for w in dict.fromkeys(words(text))]


def prefix_range(prefix: str) -> tuple[str, str]:
    """Inclusive bounds of the terms starting with ``prefix``: a range scan on the term index.

    Terms hold only ``[a-z0-9]`` and are at most 64 characters, so every term starting with the prefix
    lies between the prefix and the prefix padded with ``z`` (valid in byte and in linguistic collations).
    """
    return prefix, prefix + "z" * (MAX_TERM_LENGTH - len(prefix))
