"""An animal or a patient changing posture moves ("the sow gets up", "the patient sits up suddenly"); a
clause about the link that carries the pictures moves nothing ("the Wi-Fi drops out when the auger runs")."""

from __future__ import annotations

import pytest

from robustlens.expert.movers import says_it_moves


@pytest.mark.parametrize(
    ("clause", "moves"),
    [
        ("the sow gets up without warning", True),
        ("patients sit up during the scan", True),
        ("the calf turns its head suddenly", True),
        ("the Wi-Fi drops out when the feed auger runs", False),
        ("the connection drops in the afternoon", False),
        ("parts lie down flat on the belt", False),
        ("the light changes suddenly", False),
    ],
)
def test_postures_move_and_links_do_not(clause: str, moves: bool) -> None:
    assert says_it_moves(clause) is moves
