"""Satellite family: clouds, haze and band misregistration in aerial and satellite imagery.

Clouds and haze are smooth random fields, drawn on a coarse grid (their features span tens of
pixels at any resolution) and upsampled, so their cost barely depends on the image size.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import smooth_field, to_float, to_uint8

SATELLITE = ("satellite", "remote_sensing")
_FIELD_SIDE = 128  # short side of the grid that cloud and haze fields are drawn on


def _coarse_field(
    shape: tuple[int, int], feature: float, octaves: int, rng: np.random.Generator
) -> np.ndarray:
    """A smooth field in [0, 1] on a grid with short side <= ``_FIELD_SIDE``.

    ``feature`` is the feature size as a fraction of the image's short side.
    """
    h, w = shape
    f = min(1.0, _FIELD_SIDE / min(h, w))
    gh, gw = max(2, round(h * f)), max(2, round(w * f))
    return smooth_field((gh, gw), feature * min(gh, gw), rng, octaves=octaves)


def _rgb(plane: np.ndarray) -> np.ndarray:
    """A float32 plane repeated into HxWx3 (much faster than numpy's ``[:, :, None]`` broadcast)."""
    return cv2.cvtColor(np.ascontiguousarray(plane, np.float32), cv2.COLOR_GRAY2RGB)


def _upsample(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    if field.shape[:2] == (h, w):
        return field
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)


@register(
    "cloud_cover",
    "satellite",
    ladder={"coverage": (0.08, 0.16, 0.28, 0.42, 0.58)},
    identity={"coverage": 0.0},
    tags=SATELLITE,
)
class CloudCover(Primitive):
    """Clouds over part of an optical satellite or aerial scene, with their shadows on the ground.

    Cloud density is a multi-octave value-noise field (a fractal cloud model in the spirit of the
    plasma fractals used for fog in ImageNet-C and for cloud synthesis in remote sensing, e.g.
    SatelliteCloudGenerator, Czerkawski et al. 2023) thresholded so that a fraction ``coverage`` of
    the scene is cloudy, with a soft rim ``softness`` wide in field units. Clouds are bright grey to
    white (thicker = brighter and more opaque); each casts a shadow displaced by ``shadow_px``
    (at 224 px) in a random sun direction, darkening the ground by up to ``shadow``.
    """

    coverage: float = Field(0.28, ge=0.0, le=1.0, description="fraction of the scene under cloud")
    opacity: float = Field(0.95, ge=0.0, le=1.0, description="opacity of the thickest cloud")
    softness: float = Field(0.2, ge=0.01, le=0.5, description="width of the soft cloud rim (field units)")
    feature: float = Field(0.5, ge=0.05, le=2.0, description="largest cloud size / short image side")
    shadow: float = Field(0.45, ge=0.0, le=1.0, description="max darkening of the ground in cloud shadow")
    shadow_px: float = Field(12.0, ge=0.0, le=60.0, description="shadow displacement (px at 224 px)")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        field = _coarse_field((h, w), self.feature, 4, ctx.rng)
        theta = ctx.rng.uniform(0.0, 2 * np.pi)
        if self.coverage <= 0:
            return image.copy()
        gh, gw = field.shape
        k = round((1.0 - self.coverage) * (field.size - 1))
        thr = float(np.partition(field.ravel(), k)[k])
        density = np.clip((field - thr) / np.float32(self.softness), 0.0, 1.0)
        # the shadow is the density map displaced along the sun azimuth (on the coarse grid)
        d = ctx.px(self.shadow_px) * gh / h
        m = np.array([[1, 0, d * np.cos(theta)], [0, 1, d * np.sin(theta)]], dtype=np.float32)
        shade = cv2.warpAffine(density, m, (gw, gh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        density, shade = _upsample(density, (h, w)), _upsample(shade, (h, w))
        alpha = density * np.float32(self.opacity)
        cloud = np.float32(0.72) + np.float32(0.28) * density * density  # thick cores are brighter
        x = to_float(image)
        x *= _rgb((1.0 - np.float32(self.shadow) * shade) * (1.0 - alpha))
        x += _rgb(cloud * alpha)
        return to_uint8(x)


# Angstrom-law optical-depth ratios (exponent 1.3, Angstrom 1929) for R, G, B at 650, 550, 450 nm.
_ANGSTROM = (np.array([550.0 / 650.0, 1.0, 550.0 / 450.0]) ** 1.3).astype(np.float32)


@register(
    "haze",
    "satellite",
    ladder={"depth": (0.12, 0.25, 0.42, 0.62, 0.9)},
    identity={"depth": 0.0},
    tags=SATELLITE,
)
class Haze(Primitive):
    """Atmospheric haze over an aerial or satellite scene: aerosol scattering veils it in blue-grey airlight.

    Koschmieder's scattering model as used in dehazing (He, Sun & Tang, CVPR 2009):
    ``I = J * t + A * (1 - t)`` with transmission ``t = exp(-tau)``. The optical depth ``tau`` is
    ``depth`` times a smooth random field (mean 1, spread ``patchiness``) and grows toward the blue
    with the Angstrom law (exponent 1.3), so haze is patchy and blue-ish. ``airlight`` is the
    brightness of the scattered path radiance ``A``.
    """

    depth: float = Field(0.42, ge=0.0, le=3.0, description="mean aerosol optical depth (green band)")
    patchiness: float = Field(0.5, ge=0.0, le=1.0, description="relative spatial spread of the depth")
    airlight: float = Field(0.85, ge=0.3, le=1.0, description="brightness of the airlight")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        field = _coarse_field((h, w), 0.6, 2, ctx.rng)
        tau = np.float32(self.depth) * (1.0 + np.float32(self.patchiness) * (2.0 * field - 1.0))
        tau = _rgb(_upsample(tau, (h, w)))
        t = cv2.exp(cv2.multiply(tau, (*(-_ANGSTROM).tolist(), 0.0)))
        airlight = (*(float(self.airlight) * c for c in (0.9, 0.95, 1.0)), 0.0)
        veiled = cv2.subtract(to_float(image), airlight)
        veiled *= t
        return to_uint8(cv2.add(veiled, airlight))


@register(
    "band_misalignment",
    "satellite",
    ladder={"shift": (0.7, 1.2, 1.8, 2.7, 4.0)},
    identity={"shift": 0.0},
    tags=SATELLITE,
    backend="opencv",
)
class BandMisalignment(Primitive):
    """Spectral band misregistration: the red and blue bands are offset from the green one.

    Push-broom sensors image each band through a separate detector line, so bands are acquired at
    slightly different times and view angles; residual attitude error, terrain parallax and moving
    objects leave them misregistered along track (Sentinel-2 specifies inter-band co-registration
    within 0.3 px; Gascon et al., Remote Sensing 2017). Red and blue are shifted in opposite
    directions along a random track direction by ``shift`` px (at 224 px) times a random factor in
    [0.6, 1], plus a small cross-track component (``cross``).

    ``geometric=False``: the scene, its footprint and the reference (green) band stay in place; only
    the relative registration of two bands changes, so an alpha or validity mask, registered to the
    reference band, must not move (a geometric primitive would warp it as if it were the red band).
    """

    shift: float = Field(1.8, ge=0.0, le=20.0, description="along-track band offset (px at 224 px)")
    cross: float = Field(0.25, ge=0.0, le=1.0, description="max cross-track offset as a fraction of shift")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        theta = ctx.rng.uniform(0.0, 2 * np.pi)
        along = ctx.rng.uniform(0.6, 1.0, 2) * np.array([1.0, -1.0])
        across = ctx.rng.uniform(-self.cross, self.cross, 2)
        d = ctx.px(self.shift)
        c, s = np.cos(theta), np.sin(theta)
        out = image.copy()
        for band, a, b in ((0, along[0], across[0]), (2, along[1], across[1])):
            dx, dy = d * (a * c - b * s), d * (a * s + b * c)
            m = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
            out[:, :, band] = cv2.warpAffine(
                image[:, :, band], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
        return out
