"""The access table: one source for who may run an action and what a role is offered."""

from __future__ import annotations

import pytest

from domain.dispute import ACCESS, COMMAND_ROLES, ROLES, Dispute, may
from tests.unit.test_dispute_lifecycle import POLICY, la
from tests.unit.test_next_actions import DISPUTES


def test_every_case_action_is_a_command_of_the_dispute() -> None:
    for name, access in ACCESS.items():
        if access.guard is not None:
            assert callable(getattr(Dispute, name, None)), name


def test_command_roles_come_from_the_table() -> None:
    assert {name: access.roles for name, access in ACCESS.items()} == dict(COMMAND_ROLES)
    assert all(roles <= set(ROLES) for roles in COMMAND_ROLES.values())


@pytest.mark.parametrize("story", sorted(DISPUTES))
@pytest.mark.parametrize("role", ROLES)
def test_a_role_is_offered_only_what_it_may_run(story: str, role: str) -> None:
    for action in DISPUTES[story].next_actions(role, POLICY, la(11, 25)):
        assert may(role, action)
