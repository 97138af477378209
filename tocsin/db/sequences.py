"""Gap-free per-account counters (incident numbers), safe across processes sharing PostgreSQL:
the UPDATE takes the row lock, so two transactions never receive the same values."""

from __future__ import annotations

from sqlalchemy import String, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tocsin.db.base import Base, table_of


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


# Built once, on the table: the events processor takes its batch's numbers with it, where
# building the statement and the ORM's handling of an UPDATE cost more than running it.
_SEQUENCES = table_of(Sequence)
_TAKE = (update(_SEQUENCES).where(_SEQUENCES.c.name == bindparam("b_name"))
         .values(value=_SEQUENCES.c.value + bindparam("b_count")).returning(_SEQUENCES.c.value))


def take_sync(session: Session, name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive values of sequence ``name`` in the caller's transaction
    (synchronous: async callers use ``AsyncSession.run_sync``)."""
    last = session.connection().execute(_TAKE, {"b_name": name, "b_count": count}).scalar_one_or_none()
    if last is None:
        session.add(Sequence(name=name, value=count))
        session.flush()
        last = session.execute(select(Sequence.value).where(Sequence.name == name)).scalar_one()
    return range(last - count + 1, last + 1)
