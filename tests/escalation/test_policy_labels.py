"""``escalation.queries.policy_labels``: a policy's name, team ids and live team names in one
statement, as pages of incidents and services show them for every row."""

from __future__ import annotations

from sqlalchemy import event

from tests.conftest import Harness
from tests.escalation.helpers import make_policy, make_team, make_user, user_target
from tocsin.escalation.queries import policy_labels


async def test_names_teams_and_only_live_team_names_in_one_statement(h: Harness) -> None:
    user = await make_user(h, "Ada")
    ops, db_team = await make_team(h, "Ops"), await make_team(h, "Databases")
    teamed = await make_policy(h, [user_target(user)], name="Teamed",
                               teams=[{"id": ops, "type": "team_reference"}, {"id": db_team, "type": "team_reference"}])
    lone = await make_policy(h, [user_target(user)], name="Lone")
    r = await h.client.delete(f"/teams/{db_team}", headers=h.writer)
    assert r.status_code == 204, r.text

    statements: list[str] = []
    engine = h.tocsin.db.engine.sync_engine

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        async with h.tocsin.db.transaction() as session:
            labels = await policy_labels(session, [teamed["id"], lone["id"], "PNOSUCH", ""])
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert len(statements) == 1
    assert labels.names == {teamed["id"]: "Teamed", lone["id"]: "Lone"}
    # The deleted team is still linked (old references show it) but has no name to show.
    assert labels.team_ids == {teamed["id"]: sorted([ops, db_team]), lone["id"]: [], "PNOSUCH": []}
    assert labels.team_names == {ops: "Ops"}
