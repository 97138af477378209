"""What the commands print: columns chosen by name, values as text, times in the reader's zone,
progress bars on a terminal only, errors as message, details and hint."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from tocsin.cli.output import Column, Output, UsageProblem, choose, local_time, text
from tocsin.cli.session import hint_for, needs_from
from tocsin.client import ApiError

COLUMNS = [Column("id", "ID", lambda r: r["id"]), Column("name", "Name", lambda r: r["name"]),
           Column("when", "When", lambda r: r["when"])]


def test_columns_are_chosen_by_name_in_the_order_given() -> None:
    assert [c.name for c in choose(COLUMNS, "when, id", ("id", "name"))] == ["when", "id"]
    assert [c.name for c in choose(COLUMNS, None, ("id", "name"))] == ["id", "name"]
    with pytest.raises(UsageProblem, match=r"unknown column.*nope.*choose from: id, name, when"):
        choose(COLUMNS, "id,nope", ("id",))


def test_values_as_text() -> None:
    assert text(None) == "" and text(True) == "yes" and text(3) == "3"
    assert text([{"summary": "Alice"}, {"id": "PBOB"}]) == "Alice, PBOB"
    assert local_time("2024-03-04T10:00:00Z", ZoneInfo("Asia/Tokyo")) == "2024-03-04 19:00"
    assert local_time(None, ZoneInfo("UTC")) == "" and local_time("soon", ZoneInfo("UTC")) == "soon"


def test_progress_draws_on_a_terminal_and_stays_silent_in_a_pipe() -> None:
    out = Output()
    terminal = io.StringIO()
    out.err = Console(file=terminal, force_terminal=True, width=80)
    with out.progress(3, "Acknowledging") as advance:
        advance(2)
        advance(1)
    assert "Acknowledging" in terminal.getvalue()
    piped = io.StringIO()
    out.err = Console(file=piped, force_terminal=False)
    with out.progress(3, "Acknowledging") as advance:
        advance(3)
    assert piped.getvalue() == ""


def test_errors_print_the_message_each_detail_and_a_hint() -> None:
    out = Output()
    buffer = io.StringIO()
    out.err = Console(file=buffer, force_terminal=False, soft_wrap=True)
    out.error("Invalid Input Provided (HTTP 400)", ["name: required", "[not markup]"], "try again")
    assert buffer.getvalue() == ("error: Invalid Input Provided (HTTP 400)\n  - name: required\n  - [not markup]\n"
                                 "hint: try again\n")


@pytest.mark.parametrize(("error", "hint"), [
    (ApiError("Authentication failed", status=401), "check your token: tocsin login"),
    (ApiError("Access Denied", status=403), "this credential may not do that"),
    (ApiError("Not Found", status=404), "check the id or name"),
    (ApiError("Rate Limit Exceeded", status=429, retry_after=12), "rate limited: try again in 12 s"),
    (ApiError("no answer", status=None), "is the server running"),
    (ApiError("Internal Server Error", status=500), "the server failed"),
    (ApiError("Invalid Input Provided", status=400,
              errors=("The From header is required and must name a user's email address",)),
     "writes need the email of a user"),
])
def test_hints(error: ApiError, hint: str) -> None:
    found = hint_for(error)
    assert found is not None and hint in found


def test_an_ordinary_refusal_has_no_hint_and_is_about_its_item() -> None:
    refusal = ApiError("Invalid Input Provided", status=400, errors=("incident.title: too long",))
    assert hint_for(refusal) is None and not needs_from(refusal)
