"""One layer's on-call pieces: rotation turns intersected with restriction windows.

Turn ``k`` is ``[virtual_start + k*L, virtual_start + (k+1)*L)`` in absolute (UTC) time, with
``L = rotation_turn_length_seconds``; it belongs to ``users[k mod len(users)]``. ``k`` is negative
before the virtual start, so a layer whose ``start`` precedes its virtual start still rotates
consistently. Because ``L`` is real elapsed time, a 24-hour rotation handing off at 09:00 local
hands off at 10:00 (or 08:00) local after a DST change; restrictions, by contrast, follow the
wall clock (see ``restrictions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Layer, Restriction
from .restrictions import LocalClock, restriction_windows
from .timeline import FAR_FUTURE, US_PER_SECOND, Piece, Span, merge_adjacent, to_us


@dataclass(frozen=True, slots=True)
class CompiledLayer:
    """A ``Layer`` with its instants as integer microseconds, ready for repeated rendering."""

    id: str
    start: int
    end: int
    virtual_start: int
    turn: int
    users: tuple[str, ...]
    restrictions: tuple[Restriction, ...]

    @classmethod
    def of(cls, layer: Layer) -> CompiledLayer:
        return cls(
            id=layer.id,
            start=to_us(layer.start),
            end=FAR_FUTURE if layer.end is None else to_us(layer.end),
            virtual_start=to_us(layer.rotation_virtual_start),
            turn=layer.rotation_turn_length_seconds * US_PER_SECOND,
            users=layer.users,
            restrictions=layer.restrictions,
        )


def layer_pieces(layer: CompiledLayer, clock: LocalClock, lo: int, hi: int) -> list[Piece]:
    """Who this layer puts on call within [lo, hi), as sorted, merged pieces."""
    start = max(lo, layer.start)
    end = min(hi, layer.end)
    if start >= end or not layer.users:
        return []
    windows = restriction_windows(layer.restrictions, clock, start, end) if layer.restrictions else [(start, end)]
    if len(layer.users) == 1:
        # Every turn is the same person: skip generating turns only to merge them back.
        only = layer.users[0]
        return [(w_start, w_end, only) for w_start, w_end in windows]
    return merge_adjacent(_turns_within(layer, windows))


def _turns_within(layer: CompiledLayer, windows: list[Span]) -> list[Piece]:
    users = layer.users
    count = len(users)
    turn = layer.turn
    pieces: list[Piece] = []
    for w_start, w_end in windows:
        # Jump straight to the turn containing the window start; floor division keeps k correct
        # (negative) for windows before the virtual start.
        k = (w_start - layer.virtual_start) // turn
        turn_start = layer.virtual_start + k * turn
        while turn_start < w_end:
            turn_end = turn_start + turn
            pieces.append(
                (
                    w_start if turn_start < w_start else turn_start,
                    w_end if turn_end > w_end else turn_end,
                    users[k % count],
                )
            )
            k += 1
            turn_start = turn_end
    return pieces
