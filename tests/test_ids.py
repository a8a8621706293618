"""Row ids (UUIDv7), and ticket numbers as people type them and the canonical form's shortcut."""

from __future__ import annotations

import re
import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from kefu.core.ids import (
    TICKET_ALPHABET,
    TICKET_NUMBER_RE,
    new_id,
    new_ticket_number,
    normalize_ticket_number,
)


def _general(raw: str) -> str | None:
    """The rule without the shortcut for text already canonical."""
    cleaned = re.sub(r"[\s\-_]", "", raw.strip().upper())
    if cleaned.startswith("KF"):
        cleaned = cleaned[2:]
    candidate = f"KF-{cleaned}"
    return candidate if TICKET_NUMBER_RE.match(candidate) else None


def test_what_people_type_becomes_the_canonical_number() -> None:
    assert normalize_ticket_number("KF-7Q4M2X") == "KF-7Q4M2X"
    assert normalize_ticket_number("kf 7q4m2x") == "KF-7Q4M2X"
    assert normalize_ticket_number("KF7Q4M2X") == "KF-7Q4M2X"
    assert normalize_ticket_number(" kf_7q4-m2x\n") == "KF-7Q4M2X"
    assert normalize_ticket_number("KF-7Q4M2X\n") == "KF-7Q4M2X"  # not returned as it came
    assert normalize_ticket_number("KF-7Q4M2") is None
    assert normalize_ticket_number("KF-7Q4M2XX") is None
    assert normalize_ticket_number("KF-7Q4M2I") is None  # I is not in the alphabet
    assert normalize_ticket_number("") is None


near_numbers = st.builds(
    lambda prefix, body, suffix: prefix + body + suffix,
    st.sampled_from(["", "KF-", "kf-", "KF", "kf ", " KF-", "KF_", "ＫＦ-"]),
    st.text(alphabet=TICKET_ALPHABET + TICKET_ALPHABET.lower() + "01ILOU- _\n", min_size=4,
            max_size=8),
    st.sampled_from(["", " ", "\n", "-", "x"]))


@given(st.one_of(near_numbers, st.text(max_size=12),
                 st.builds(lambda _: new_ticket_number(), st.none())))
def test_the_shortcut_agrees_with_the_rule(raw: str) -> None:
    assert normalize_ticket_number(raw) == _general(raw)


def test_ids_are_uuid7_in_order_of_creation_with_74_random_bits() -> None:
    before = time.time_ns() // 1_000_000
    first = [new_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_id()
    after = time.time_ns() // 1_000_000
    for made in (*first, later):
        assert made.version == 7
        assert made.variant == uuid.RFC_4122
        assert before <= made.int >> 80 <= after  # the Unix time in ms leads
    assert later > max(first)  # a later millisecond sorts after every earlier id
    assert len(set(first)) == len(first)
    # the 74 bits after the time are random, not a counter: ids of one millisecond are not
    # neighbours, and every one of those bits takes both values
    tails = [(made.int >> 64 & 0xFFF) << 62 | made.int & ((1 << 62) - 1) for made in first]
    assert sorted(tails) != tails
    assert all(0 < sum(t >> bit & 1 for t in tails) < len(tails) for bit in range(74))


async def test_rows_inserted_without_the_orm_get_time_ordered_ids_too(database_url: str) -> None:
    """Some rows are written with ``INSERT … ON CONFLICT DO NOTHING`` (two first requests may
    race), so the model's default id does not apply; they take ``new_id()`` as well."""
    from datetime import timedelta

    from kefu.accounts.security import CustomerClaims
    from kefu.accounts.service import upsert_customer
    from kefu.channels.email_in import customer_for_address
    from kefu.core import clock
    from kefu.db import Database

    db = Database(database_url)
    try:
        async with db.transaction() as session:
            now = clock.now()
            by_token = await upsert_customer(session, CustomerClaims(
                sub="ids-test-1", issued_at=now, expires_at=now + timedelta(minutes=5)))
            by_email = await customer_for_address(session, "ids@example.com", "Ids")
    finally:
        await db.dispose()
    assert by_token.id.version == by_email.id.version == 7
    assert by_token.id < by_email.id  # made in that order
