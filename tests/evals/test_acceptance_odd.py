"""The offline expert's acceptance test on the dev scenarios at odd positions (``acceptance.py``)."""

from __future__ import annotations

import pytest

from robustlens.evals.scenarios import Scenario
from tests.evals.acceptance import check, check_critic, half


@pytest.mark.parametrize(("scenario", "position"), half(1))
def test_offline_expert_passes_the_expert_rules(scenario: Scenario, position: int) -> None:
    check(scenario, position)


def test_offline_rule_critic_flags_planted_unrealistic_specs() -> None:
    """Defined after the acceptance tests so it runs after them, with this half's analyses cached."""
    check_critic(1)
