"""Wire shapes (Pydantic) of escalation policy requests."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from tocsin.http.inputs import WireInput, reject_nulls

# PagerDuty's API takes a delay of at least one minute (its web UI asks more of multi-target
# rules, the API does not). The upper bound is Tocsin's: a week, far beyond any real policy.
MIN_DELAY, MAX_DELAY = 1, 7 * 24 * 60
MAX_TARGETS = 10  # per rule, PagerDuty's limit
MAX_RULES = 50  # Tocsin's bound, well above what a paging chain needs
MAX_LOOPS = 9  # PagerDuty repeats a policy at most 9 times


class TargetIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: Literal["user_reference", "schedule_reference", "user", "schedule"]

    @property
    def kind(self) -> str:
        return self.type.removesuffix("_reference")


Strategy = Literal["assign_to_everyone", "round_robin"]


class StrategyIn(WireInput):
    type: Strategy


class RuleIn(WireInput):
    id: str | None = Field(default=None, max_length=16)
    escalation_delay_in_minutes: StrictInt = Field(ge=MIN_DELAY, le=MAX_DELAY)
    targets: list[TargetIn] = Field(min_length=1, max_length=MAX_TARGETS)
    # PagerDuty's request examples send {"type": "round_robin"}; its schema (and our answers) a
    # plain string: both are taken. Left out: every target is assigned.
    escalation_rule_assignment_strategy: StrategyIn | Strategy | None = None

    @property
    def strategy(self) -> str:
        value = self.escalation_rule_assignment_strategy
        if value is None:
            return "assign_to_everyone"
        return value if isinstance(value, str) else value.type


class TeamIn(WireInput):
    id: str = Field(min_length=1, max_length=16)
    type: Literal["team_reference", "team"] | None = None


NOT_NULLABLE = ("name", "escalation_rules", "num_loops", "on_call_handoff_notifications", "teams")


class PolicyFields(WireInput):
    """Every field optional: what an update may send."""

    type: Literal["escalation_policy", "escalation_policy_reference"] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1024)
    num_loops: StrictInt | None = Field(default=None, ge=0, le=MAX_LOOPS)
    on_call_handoff_notifications: Literal["if_has_services", "always"] | None = None
    escalation_rules: list[RuleIn] | None = Field(default=None, min_length=1, max_length=MAX_RULES)
    teams: list[TeamIn] | None = Field(default=None, max_length=10)

    _no_nulls = reject_nulls(*NOT_NULLABLE)


class PolicyCreate(PolicyFields):
    name: str = Field(min_length=1, max_length=255)
    escalation_rules: list[RuleIn] = Field(min_length=1, max_length=MAX_RULES)


class PolicyCreateBody(WireInput):
    escalation_policy: PolicyCreate


class PolicyUpdateBody(WireInput):
    escalation_policy: PolicyFields
