"""Phone numbers in one form: E.164 ("+12125550147"), read with the `phonenumbers` library.

A number typed without its country code ("(212) 555-0147") is read in the location's country,
which is the country of the location's IANA time zone (America/New_York: US; Europe/London: GB),
from the zone table that ships with tzdata. A zone without a country (UTC, Etc/...) has no default
region: its numbers must be typed with a leading +."""

from __future__ import annotations

from functools import cache
from importlib import resources

import phonenumbers

from core.base.errors import ValidationError

MAX_TYPED = 40  # the column's length: what a person may type, separators included


@cache
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 country code, from tzdata's zone.tab (one country per zone)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone = line.split("\t")[:3]
            out[zone] = country
    return out


def region_for_zone(zone: str | None) -> str | None:
    """The country of a location's time zone ("America/New_York" -> "US"), or None."""
    return _zone_countries().get(zone or "")


def parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number `text` means, read in `region` when it has no country code; None when it is
    not a valid number there."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(text: str, region: str | None) -> str:
    """`text` as E.164, or a ValidationError saying what to type."""
    number = parse(text, region) if len(text) <= MAX_TYPED else None
    if number is None:
        where = f"a {region} number, or " if region else ""
        raise ValidationError(
            f"'{text[:MAX_TYPED]}' is not a phone number: type {where}the number with its country code "
            "(like +1 212 555 0147)."
        )
    return e164(number)


def display(text: str | None) -> str | None:
    """A stored number the way people read it ("+1 212-555-0147"); anything else (a mask, a
    number kept as typed) as it is."""
    number = parse(text, None) if text and text.startswith("+") else None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL) if number else text


def normalised_or_typed(text: str | None, region: str | None) -> str | None:
    """E.164 when `text` reads as a valid number, else `text` as it is (old rows, imports)."""
    if not text:
        return text
    number = parse(text, region)
    return e164(number) if number is not None else text


def search_digits(text: str, regions: list[str]) -> set[str]:
    """The digit strings a phone search for `text` looks for in stored numbers: the digits as
    typed, and the national number when `text` reads as a full number in one of `regions`
    ("020 7946 0123" in GB finds +442079460123)."""
    digits = "".join(c for c in text if c.isdigit())
    found = {digits}
    for region in regions:
        if (number := parse(text, region)) is not None:
            found.add(str(number.national_number))
    return found
