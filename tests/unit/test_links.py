"""Signed links: a token opens only its purpose, only until its expiry, and only untampered."""

from datetime import UTC, datetime, timedelta

import pytest

from core.security import links

pytestmark = pytest.mark.unit
KEY = "unit-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_link_reads_back_its_payload_until_it_expires():
    token = links.sign("intake", {"appointment_id": 7}, expires_at=NOW + timedelta(hours=1), key=KEY)
    assert links.read("intake", token, now=NOW, key=KEY) == {"appointment_id": 7}
    with pytest.raises(links.LinkError, match="expired"):
        links.read("intake", token, now=NOW + timedelta(hours=1), key=KEY)


def test_a_link_for_one_purpose_does_not_open_another():
    token = links.sign("intake", {"appointment_id": 7}, expires_at=NOW + timedelta(hours=1), key=KEY)
    with pytest.raises(links.LinkError, match="not valid"):
        links.read("unsubscribe", token, now=NOW, key=KEY)


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "", lambda t: "x" * 3000]
)
def test_a_tampered_or_empty_link_is_refused(mangle):
    token = links.sign("intake", {"appointment_id": 7}, expires_at=NOW + timedelta(hours=1), key=KEY)
    with pytest.raises(links.LinkError, match="not valid"):
        links.read("intake", mangle(token), now=NOW, key=KEY)


def test_another_installations_key_does_not_open_the_link():
    token = links.sign("intake", {"appointment_id": 7}, expires_at=NOW + timedelta(hours=1), key=KEY)
    with pytest.raises(links.LinkError):
        links.read("intake", token, now=NOW, key=KEY[::-1])
