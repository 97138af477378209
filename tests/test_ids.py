"""Ids keep PagerDuty's shape (clients validate ``^[PQ]\\w{6,13}$``) and their randomness."""

from __future__ import annotations

import re
from collections import Counter

from tocsin.ids import ID_LENGTH, new_id


def test_ids_are_p_and_13_base32_characters_each_equally_likely() -> None:
    ids = [new_id() for _ in range(4000)]
    assert all(re.fullmatch(r"P[A-Z2-7]{13}", i) for i in ids), ids[:5]
    assert len(set(ids)) == len(ids)
    counts = Counter(c for i in ids for c in i[1:])
    assert set(counts) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")  # 0, 1, 8, 9 never: base32
    expected = 4000 * ID_LENGTH / 32  # 1,625 each; a biased table would put some at 0 or twice that
    assert all(0.85 * expected < n < 1.15 * expected for n in counts.values()), counts
