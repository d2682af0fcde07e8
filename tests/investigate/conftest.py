"""One real small run shared by the investigation tests (see realrun.py)."""

from __future__ import annotations

import pytest

from robustlens.data.sources import open_images
from robustlens.evaluation.engine import evaluate
from tests.fixtures import textile_folder
from tests.investigate.realrun import MODEL, OPTIONS, plan


@pytest.fixture(scope="package")
def run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("inv")
    data = textile_folder(root / "data", per_class=6, broken=False)
    images = open_images(data)
    out = root / "run"
    result = evaluate(plan(), images, [MODEL], out, options=OPTIONS)
    return out, data, result
