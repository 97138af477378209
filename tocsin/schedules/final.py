"""The final schedule: layers and overrides flattened by precedence.

Precedence, highest first: overrides from the most recently created back to the oldest, then
layers from the last in the list back to the first. Each source only fills time that no
higher source already covers ("painting from the top"), which needs one pass per source over
the covered set instead of a sweep over every boundary of every source at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .timeline import Piece, Span, SpanSet, merge_adjacent, subtract, union


@dataclass(frozen=True, slots=True)
class Timeline:
    """All sub-schedules over one window, in integer microseconds.

    ``layers`` is indexed like the input layers; ``covered`` is the union of everything on call.
    """

    layers: list[list[Piece]]
    overrides: list[Piece]
    final: list[Piece]
    covered: list[Span]


def flatten(layers: list[list[Piece]], overrides: list[Piece]) -> Timeline:
    """``layers`` hold each layer's sorted pieces; ``overrides`` are in creation order."""
    taken = SpanSet()
    visible: list[Piece] = []
    for start, end, user in reversed(overrides):
        for free_start, free_end in taken.free_parts(start, end):
            visible.append((free_start, free_end, user))
        taken.add(start, end)
    effective_overrides = merge_adjacent(sorted(visible))

    covered = taken.spans()
    final = list(effective_overrides)
    for pieces in reversed(layers):
        if not pieces:
            continue
        final.extend(subtract(pieces, covered))
        # Timsort merges the two already-sorted runs in linear time.
        covered = union(covered + [(start, end) for start, end, _ in pieces])
    return Timeline(
        layers=layers,
        overrides=effective_overrides,
        final=merge_adjacent(sorted(final)),
        covered=covered,
    )
