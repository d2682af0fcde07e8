"""The offline expert's acceptance test on the dev scenarios at even positions (``acceptance.py``)."""

from __future__ import annotations

import pytest

from robustlens.evals.scenarios import Scenario
from tests.evals.acceptance import check, half


@pytest.mark.parametrize("scenario", half(0))
def test_offline_expert_passes_the_expert_rules(scenario: Scenario) -> None:
    check(scenario)
