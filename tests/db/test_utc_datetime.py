"""UTC datetimes on SQLite: written as the text SQLAlchemy's DATETIME writes (so comparisons in
SQL and rows written before agree) and read back aware, in UTC, whatever form the text has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from tocsin.db.base import UTCDateTime

DIALECT = sqlite.dialect()
TO_TEXT = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
FROM_TEXT = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
PLAIN = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-8))])))
def test_written_as_sqlalchemy_writes_it_and_read_back_the_same_instant(moment: datetime) -> None:
    assert TO_TEXT is not None and FROM_TEXT is not None and PLAIN is not None
    text = TO_TEXT(moment)
    assert text == PLAIN(moment.astimezone(UTC).replace(tzinfo=None))
    back = FROM_TEXT(text)
    assert back == moment and back.tzinfo is UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("2030-01-07 08:00:00.000250", datetime(2030, 1, 7, 8, 0, 0, 250, tzinfo=UTC)),
    ("2030-01-07 08:00:00", datetime(2030, 1, 7, 8, tzinfo=UTC)),
    ("2030-01-07", datetime(2030, 1, 7, tzinfo=UTC)),
    ("2030-01-07 10:00:00+02:00", datetime(2030, 1, 7, 8, tzinfo=UTC)),  # an offset is honoured
])
def test_other_stored_forms_are_read_as_utc(text: str, expected: datetime) -> None:
    assert FROM_TEXT is not None
    found = FROM_TEXT(text)
    assert found == expected and found.tzinfo is UTC


def test_a_naive_datetime_is_refused() -> None:
    assert TO_TEXT is not None
    with pytest.raises(ValueError, match="naive"):
        TO_TEXT(datetime(2030, 1, 7, 8))
