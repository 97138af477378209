"""Gap-free per-account counters (incident numbers), safe across processes sharing PostgreSQL:
the UPDATE takes the row lock, so two transactions never receive the same values."""

from __future__ import annotations

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tocsin.db.base import Base


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def take_sync(session: Session, name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive values of sequence ``name`` in the caller's transaction
    (synchronous: async callers use ``AsyncSession.run_sync``)."""
    result = session.execute(
        update(Sequence)
        .where(Sequence.name == name)
        .values(value=Sequence.value + count)
        .returning(Sequence.value)
    )
    last = result.scalar_one_or_none()
    if last is None:
        session.add(Sequence(name=name, value=count))
        session.flush()
        last = session.execute(select(Sequence.value).where(Sequence.name == name)).scalar_one()
    return range(last - count + 1, last + 1)
