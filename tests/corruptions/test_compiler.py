"""Spec compilation: recipes, ladders, overrides, layouts, and errors that name the field."""

from __future__ import annotations

import numpy as np
import pytest

from robustlens.corruptions import compile_spec, single
from robustlens.corruptions.base import REGISTRY, interpolate, run_primitive
from robustlens.corruptions.quality import ssim
from robustlens.errors import UserInputError


def test_interpolation_between_ladder_points() -> None:
    points = [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert interpolate(points, 0) == 0
    assert interpolate(points, 2.5) == 3.0
    assert interpolate(points, 5) == 16.0


def test_fractional_params_interpolate() -> None:
    info = REGISTRY["gaussian_noise"]
    assert info.params_at(0).sigma == 0
    assert info.params_at(1.5).sigma == pytest.approx((0.08 + 0.12) / 2)


def test_recipe_of_two_primitives_applies_both(astronaut: np.ndarray) -> None:
    both = compile_spec({"name": "both", "recipe": [{"name": "gaussian_noise"}, {"name": "impulse_noise"}]})
    one = single("gaussian_noise")
    out = both(astronaut, 3, seed=1)
    assert ssim(astronaut, out) < ssim(astronaut, one(astronaut, 3, seed=1))


def test_ladder_override_changes_strength(astronaut: np.ndarray) -> None:
    weak = compile_spec(
        {
            "name": "w",
            "recipe": [{"name": "gaussian_noise", "ladder": {"sigma": [0.01, 0.02, 0.03, 0.04, 0.05]}}],
        }
    )
    default = single("gaussian_noise")
    assert ssim(astronaut, weak(astronaut, 5, 0)) > ssim(astronaut, default(astronaut, 5, 0))


def test_unknown_primitive_suggests_close_names() -> None:
    with pytest.raises(UserInputError) as err:
        compile_spec({"name": "x", "recipe": [{"name": "gausian_noise"}]})
    assert "gaussian_noise" in err.value.fix
    assert err.value.field == "spec.recipe[0].name"


def test_unknown_parameter_lists_allowed() -> None:
    with pytest.raises(UserInputError) as err:
        compile_spec({"name": "x", "recipe": [{"name": "impulse_noise", "params": {"amout": 0.1}}]})
    assert "amount" in err.value.why and err.value.field == "spec.recipe[0].params.amout"


def test_ladder_param_cannot_be_fixed() -> None:
    with pytest.raises(UserInputError, match="severity knob"):
        compile_spec({"name": "x", "recipe": [{"name": "gaussian_noise", "params": {"sigma": 0.1}}]})


def test_ladder_needs_five_values() -> None:
    with pytest.raises(UserInputError, match="5 values"):
        compile_spec({"name": "x", "recipe": [{"name": "gaussian_noise", "ladder": {"sigma": [0.1, 0.2]}}]})


def test_out_of_range_ladder_names_field_and_range() -> None:
    with pytest.raises(UserInputError) as err:
        compile_spec(
            {"name": "x", "recipe": [{"name": "gaussian_noise", "ladder": {"sigma": [0.1] * 4 + [3.0]}}]}
        )
    assert "sigma" in str(err.value) and "allowed 0.0 .. 1.0" in str(err.value)
    assert "severity 5" in str(err.value)


def test_bad_spec_shape_is_a_user_error() -> None:
    with pytest.raises(UserInputError, match="recipe"):
        compile_spec({"name": "x", "recipe": []})


def test_rgba_alpha_is_kept_for_photometric() -> None:
    rgba = np.dstack(
        [np.full((40, 50, 3), 120, np.uint8), np.arange(40 * 50).reshape(40, 50).astype(np.uint8)]
    )
    out = single("gaussian_noise")(rgba, 3, seed=0)
    assert np.array_equal(out[:, :, 3], rgba[:, :, 3])


def test_primitive_must_keep_shape() -> None:
    class Bad:
        info = REGISTRY["gaussian_noise"]

        def apply(self, image, ctx):
            return image[:10]

    with pytest.raises(RuntimeError, match="returned"):
        run_primitive(Bad(), np.zeros((20, 20, 3), np.uint8), 0)  # type: ignore[arg-type]


def test_rejects_non_uint8() -> None:
    with pytest.raises(TypeError):
        single("gaussian_noise")(np.zeros((8, 8, 3), np.float32), 1, 0)
