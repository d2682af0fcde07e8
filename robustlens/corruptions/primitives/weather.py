"""Weather family, part 1: precipitation, haze and deposits on the lens (snow, frost, fog, spatter, rain).

Snow, frost, fog and spatter are the ImageNet-C weather corruptions (Hendrycks & Dietterich, ICLR
2019), re-implemented with vectorised numpy/OpenCV; frost uses a procedural crystal texture instead
of ImageNet-C's frost photographs. Texture layers (flakes, crystals, drops, streaks, haze) are drawn
on a grid whose short side is the 224 px reference and resized to the image, so every length is
defined at the reference resolution and the cost of a layer does not grow with the image.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import IMAGENET_C, REFERENCE_SIDE, Context, Primitive, register
from robustlens.corruptions.crystals import blurred_crystals, dendrite_canvas
from robustlens.corruptions.crystals import dendrites as _dendrites  # noqa: F401  (device kernels)
from robustlens.corruptions.mixing import mix, mix_levels
from robustlens.corruptions.ops import blend, gaussian, line_kernel, to_float, to_uint8
from robustlens.corruptions.primitives.blur import streak_filter

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
RGB = tuple[Unit, Unit, Unit]
# Smoothed derivative toward the lower right (a 3x3 Sobel pair), for highlights on drop rims.
_SHINE = np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]], np.float32) * np.float32(0.25)


def _ref_shape(image: np.ndarray) -> tuple[int, int]:
    """Shape of the reference grid (short side 224 px) with the image's aspect ratio.

    For extremely elongated images the grid is capped at the larger of the image's area and four
    times the reference area, so a 1x2000 px strip does not allocate a 224x448000 layer.
    """
    return _ref_grid(*image.shape[:2])


@lru_cache(maxsize=64)
def _ref_grid(h: int, w: int) -> tuple[int, int]:
    s = REFERENCE_SIDE / min(h, w)
    s = min(s, float(np.sqrt(max(h * w, 4 * REFERENCE_SIDE**2) / (h * w))))
    return max(1, round(h * s)), max(1, round(w * s))


def _resize(layer: np.ndarray, h: int, w: int) -> np.ndarray:
    if layer.shape[:2] == (h, w):
        return layer
    interp = cv2.INTER_AREA if h < layer.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(layer, (w, h), interpolation=interp)


def _to_image(layer: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Resize a reference-grid layer (HxW or HxWxC, C <= 4) to the image's size."""
    return _resize(layer, *image.shape[:2])


def _soft_blur(image: np.ndarray, sigma_ref: float) -> np.ndarray:
    """Gaussian blur with sigma in reference px; wide blurs of large images run on a smaller grid."""
    h, w = image.shape[:2]
    rh, rw = _ref_shape(image)
    f = 2 if sigma_ref >= 2.0 else 1
    gh, gw = max(1, rh // f), max(1, rw // f)
    if h <= 1.5 * gh:
        return gaussian(image, sigma_ref * h / rh)
    return _resize(gaussian(_resize(image, gh, gw), sigma_ref * gh / rh), h, w)


def _fraction(u: np.ndarray) -> np.ndarray:
    """``(u * 7919) % 1``, an independent uniform per pixel from one draw (same float32 values;
    ``x - floor(x)`` is exact and ~30x faster than numpy's float modulo)."""
    scaled = u * np.float32(7919.0)
    return scaled - np.floor(scaled)


def _quantile(values: np.ndarray, q: float) -> float:
    """The ``q`` quantile of an array (linear-time selection, no interpolation)."""
    flat = values.ravel()
    k = min(max(int(round(q * (flat.size - 1))), 0), flat.size - 1)  # (np.clip of a scalar is slow)
    return float(np.partition(flat, k)[k])


def _fractal(
    shape: tuple[int, int], feature: float, rng: np.random.Generator, octaves: int = 4, roughness: float = 0.5
) -> np.ndarray:
    """Multi-octave value noise in [-0.5, 0.5] on a reference grid, computed at quarter resolution."""
    rh, rw = shape
    qh, qw = max(2, -(-rh // 4)), max(2, -(-rw // 4))
    field = np.zeros((qh, qw), np.float32)
    amp, total, size = 1.0, 0.0, max(1.0, feature / 4.0)
    for _ in range(octaves):
        grid = rng.random((int(np.ceil(qh / size)) + 1, int(np.ceil(qw / size)) + 1), dtype=np.float32)
        field += np.float32(amp) * cv2.resize(grid, (qw, qh), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= roughness
        size = max(1.0, size / 2.0)
    field = field / np.float32(total) - np.float32(0.5)
    field /= np.float32(max(1e-3, 2.0 * float(np.abs(field).max())))
    return cv2.resize(field, (rw, rh), interpolation=cv2.INTER_LINEAR)


def _streaks(seeds: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Smear a seed layer along a line of ``length`` px (kernel peak 1: a lone point keeps its value).

    The line kernel's taps are added as shifted copies (``blur.streak_filter``): filter2D of a
    13 px line goes through a DFT at ~5x the cost, for the same values to float rounding.
    """
    if length < 1.5:
        return seeds
    k = line_kernel(length, angle)
    return streak_filter(seeds, k / k.max(), (k.shape[1] // 2, k.shape[0] // 2), cv2.BORDER_CONSTANT)


@register(
    "snow",
    "weather",
    ladder={
        "density": (0.004, 0.0105, 0.01, 0.0115, 0.013),
        "motion": (3.0, 4.0, 6.0, 7.0, 9.0),
        "brighten": (0.35, 0.35, 0.3, 0.35, 0.45),
    },
    identity={"density": 0.0, "motion": 0.0, "brighten": 0.0},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=(
        "approximate",
        "vectorised flakes tuned to ImageNet-C's SSIM; monotone where its s2 is harsher than s3.",
    ),
)
class Snow(Primitive):
    """Falling snow: bright flakes smeared by their fall during the exposure, and a whitened scene.

    After ImageNet-C's snow: the scene is blended toward ``max(x, 1.5 * gray + 0.5)`` with its
    weights 0.2..0.45, and a layer of flakes (small far ones, large near ones) streaked along a
    random near-vertical direction is added; ImageNet-C's flake density and motion radius are
    expressed as flakes per reference pixel and a streak length in px at 224 px.

    ImageNet-C fidelity: approximate. Densities and weights are tuned so mean SSIM to the clean
    image matches ImageNet-C's within 0.03 at 224 px at severities 1, 3, 4, 5; ImageNet-C's
    severity 2 is harsher than its severity 3, which a monotone ladder cannot follow, so severity 2
    here is about as strong as severity 3.
    """

    density: float = Field(0.006, ge=0.0, le=0.1, description="snow flakes per pixel at 224 px")
    motion: float = Field(6.0, ge=0.0, le=40.0, description="length of a flake's fall streak, px at 224 px")
    brighten: float = Field(0.3, ge=0.0, le=1.0, description="blend weight toward the snow-lit scene")
    flake_size: float = Field(0.8, ge=0.3, le=5.0, description="sigma of a small flake in px at 224 px")
    wind: float = Field(25.0, ge=0.0, le=80.0, description="largest deviation of the fall from vertical, deg")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        rh, rw = _ref_shape(image)
        u = ctx.rng.random((rh, rw), dtype=np.float32)
        angle = 90.0 + float(ctx.rng.uniform(-self.wind, self.wind))
        hit = u < np.float32(self.density)
        fine = _fraction(u)  # an independent uniform per pixel
        big = hit & (fine < 0.25)
        s1, s2 = self.flake_size, 2.0 * self.flake_size
        small = (np.float32(0.5) + np.float32(0.5) * fine) * (hit & ~big)  # x * False = 0
        large = (np.float32(0.7) + np.float32(1.2) * fine) * big
        layer = gaussian(small, s1) * np.float32(2 * np.pi * s1 * s1)
        layer += gaussian(large, s2) * np.float32(2 * np.pi * s2 * s2)
        if self.motion >= 1.5:
            k = line_kernel(self.motion, angle)
            gain = max(1.0, self.motion / (2.5 * s1)) ** 0.6
            layer = cv2.filter2D(layer, -1, k * np.float32(gain), borderType=cv2.BORDER_CONSTANT)
        layer = np.minimum(_to_image(layer, image), np.float32(1.0))
        x = to_float(image)
        gray = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        gray *= np.float32(1.5)
        gray += np.float32(0.5)
        x = blend(x, cv2.max(x, cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)), self.brighten)
        x += cv2.cvtColor(layer, cv2.COLOR_GRAY2RGB)  # 3-channel copies: faster than [:, :, None]
        return to_uint8(x)


@lru_cache(maxsize=8)
def _edge(rh: int, rw: int) -> np.ndarray:
    """Squared Chebyshev distance from the centre in [0, 1] (frost thickens toward the pane's border)."""
    yy = np.abs(np.linspace(-1.0, 1.0, rh, dtype=np.float32))[:, None]
    xx = np.abs(np.linspace(-1.0, 1.0, rw, dtype=np.float32))[None, :]
    edge = np.square(np.maximum(yy, xx))
    edge.flags.writeable = False
    return edge


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0, out=x)


@register(
    "frost",
    "weather",
    ladder={
        "coverage": (0.68, 0.75, 0.77, 0.79, 0.81),
        "opacity": (0.7, 0.7, 0.72, 0.72, 0.72),
        "dim": (1.0, 0.8, 0.7, 0.65, 0.6),
    },
    identity={"coverage": 0.0, "opacity": 0.0, "dim": 1.0},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "procedural crystals instead of ImageNet-C's frost photographs, same strength."),
)
class Frost(Primitive):
    """Frost: ice crystals grown on a cold lens or window pane in front of the camera.

    A procedural texture of fern-like crystals (stems along the six directions of hexagonal ice,
    side branches at 60 degrees) over a milky ice grain, thickest toward the border of the pane,
    covers a fraction ``coverage`` of the view; under it the scene is scattered (blurred) and
    blended toward the ice colour. ``opacity`` 0.7..0.72 is close to ImageNet-C's frost blend weights
    (0.4..0.75), which use frost photographs instead of a procedural texture. Like ImageNet-C's
    ``0.6..1 * scene + frost``, the pane also darkens the scene (``dim`` 1..0.6).

    ImageNet-C fidelity: approximate (procedural texture; coverage, opacity and dimming tuned so
    mean SSIM to the clean image matches ImageNet-C's within 0.03 at 224 px).
    """

    coverage: float = Field(0.65, ge=0.0, le=1.0, description="fraction of the view covered by frost")
    opacity: float = Field(0.65, ge=0.0, le=1.0, description="opacity of the thickest frost")
    dim: float = Field(0.7, ge=0.0, le=1.0, description="light the frosted pane lets through to the scene")
    crystal_length: float = Field(22.0, ge=2.0, le=100.0, description="typical crystal length, px at 224 px")
    crystals: int = Field(160, ge=0, le=2000, description="number of crystals per 224x224 px area")
    tint: RGB = Field((0.86, 0.92, 0.97), description="RGB colour of the ice in [0, 1]")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        rh, rw = _ref_shape(image)
        rng = ctx.rng
        count = round(self.crystals * rh * rw / REFERENCE_SIDE**2)
        crystals = blurred_crystals(dendrite_canvas((rh, rw), count, self.crystal_length, rng))
        grain = gaussian(rng.random((rh, rw), dtype=np.float32), 0.8)
        # single-plane affine steps as one OpenCV pass each (numpy takes two or three), clipped in place
        # (and written over their inputs: fewer fresh planes, fewer cache misses)
        texture = _clip01(cv2.addWeighted(crystals, 1.8, grain, 0.7, -0.05, dst=crystals))
        field = _fractal((rh, rw), 90.0, rng, octaves=3)
        thick = cv2.addWeighted(_edge(rh, rw), 0.5, field, 0.5, 0.0, dst=field)
        thr = _quantile(thick, 1.0 - self.coverage)
        cover = _clip01(cv2.addWeighted(thick, 10.0, thick, 0.0, 0.3 - 10.0 * thr, dst=thick))
        weight = cv2.addWeighted(texture, 0.7, texture, 0.0, 0.3, dst=texture)
        alpha = _to_image(cv2.multiply(cover, weight, scale=self.opacity, dst=cover), image)
        dimmed = cv2.convertScaleAbs(image, alpha=self.dim) if self.dim < 1.0 else image
        scatter = alpha * np.float32(1.5)
        np.minimum(scatter, np.float32(1.0), out=scatter)
        x = mix_levels(dimmed.astype(np.float32), _soft_blur(dimmed, 1.5), scatter)
        # rounded in place between the two mixes, as the uint8 image it used to be
        return cv2.convertScaleAbs(mix_levels(np.rint(x, out=x), self.tint, alpha))


@register(
    "fog",
    "weather",
    ladder={"density": (0.52, 0.59, 0.645, 0.67, 0.73), "roughness": (0.5, 0.5, 0.59, 0.67, 0.71)},
    identity={"density": 0.0, "roughness": 0.5},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=("approximate", "multi-octave value noise instead of the plasma fractal, same strength."),
)
class Fog(Primitive):
    """Fog or mist: light scattered by droplets veils the scene in an uneven, bright haze.

    The scene is blended toward a fog colour through a patchy multi-octave haze field: a fast
    stand-in for ImageNet-C's plasma-fractal fog. ImageNet-C's fog weights c/(1+c) for c = 1.5..3
    (0.6..0.75) motivate ``density`` 0.52..0.73; ``roughness`` is the amplitude ratio between
    octaves, ImageNet-C's 1 / wibble decay (0.5..0.71).

    ImageNet-C fidelity: approximate (the densities are tuned so mean SSIM to the clean image
    matches ImageNet-C's within 0.03 at 224 px).
    """

    density: float = Field(0.55, ge=0.0, le=1.0, description="mean fraction of scene light replaced by fog")
    roughness: float = Field(0.55, ge=0.2, le=0.9, description="amplitude ratio between haze octaves")
    patchiness: float = Field(0.5, ge=0.0, le=1.0, description="spatial variation of the fog thickness")
    feature: float = Field(
        160.0, ge=10.0, le=1000.0, description="size of the largest fog banks, px at 224 px"
    )
    color: RGB = Field((0.8, 0.81, 0.83), description="RGB colour of the fog in [0, 1]")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        field = _fractal(_ref_shape(image), self.feature, ctx.rng, octaves=5, roughness=self.roughness)
        alpha = np.clip(self.density * (1.0 + self.patchiness * 1.6 * field), 0.0, 1.0)
        shade = 1.0 + 0.25 * field  # per-channel planes merged: numpy's HxWx1 broadcast is slow
        fog = to_uint8(cv2.merge([np.float32(c) * shade for c in self.color]))
        return mix(image, _to_image(fog, image), _to_image(alpha, image))


@register(
    "spatter",
    "weather",
    ladder={"coverage": (0.06, 0.1, 0.15, 0.2, 0.26), "mud": (0.0, 0.0, 0.3, 0.6, 1.0)},
    identity={"coverage": 0.0, "mud": 0.0},
    tags=IMAGENET_C,
    backend="opencv",
    fidelity=(
        "different",
        "splashes cover a set fraction of the view; ImageNet-C's severity 1 is nearly invisible.",
    ),
)
class Spatter(Primitive):
    """Spatter: water drops and mud splashed onto the lens or windscreen in bad weather.

    As in ImageNet-C, a smoothed random liquid layer is thresholded into splashes; here the
    threshold is set so that splashes cover the fraction ``coverage`` of the view. Water splashes
    refract and blur the scene behind them and catch a highlight; mud splashes are opaque brown.
    ImageNet-C switches from water (severities 1-3) to mud (4-5); ``mud`` is the fraction of the
    splashed area that is mud, so the switch is gradual.

    ImageNet-C fidelity: different, deliberately (coverage grows steadily with severity).
    """

    coverage: float = Field(0.15, ge=0.0, le=1.0, description="fraction of the view covered by splashes")
    mud: float = Field(0.3, ge=0.0, le=1.0, description="fraction of the splashed area that is mud")
    drop_size: float = Field(4.0, ge=1.0, le=30.0, description="typical splash size in px at 224 px")
    mud_color: RGB = Field((0.33, 0.24, 0.15), description="RGB colour of the mud in [0, 1]")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        shape = _ref_shape(image)
        rng = ctx.rng
        # Smoothed white noise is Gaussian (central limit), so uniform draws serve and are faster.
        liquid = gaussian(rng.random(shape, dtype=np.float32), self.drop_size / 2.0)
        std = float(cv2.meanStdDev(liquid)[1][0, 0]) + 1e-6  # one plane: OpenCV's is ~5x numpy's speed
        liquid += np.float32(0.7 * std) * _fractal(shape, 40.0, rng, octaves=2)  # splashes cluster
        kind = _fractal(shape, 3.0 * self.drop_size + 10.0, rng, octaves=2) + np.float32(0.5)
        thr = _quantile(liquid, 1.0 - self.coverage)
        alpha = np.clip((liquid - thr) / np.float32(0.25 * std), 0.0, 1.0)
        is_mud = np.clip((self.mud - kind) / 0.08 + 0.5, 0.0, 1.0)
        # A drop is a small lens: light from the upper left is focused onto its lower-right rim.
        shine = np.clip(cv2.filter2D(alpha, -1, _SHINE), 0.0, 1.0) * (1.0 - is_mud)
        # The mixes chain on float32 levels, rounded in place between them as the uint8 images
        # they stand for (the same bytes as uint8 mixes, see mixing.mix_levels).
        out = image.astype(np.float32)
        if self.mud < 1.0:
            lens = cv2.convertScaleAbs(_soft_blur(image, 2.5), alpha=0.85, beta=0.12 * 255)
            out = np.rint(mix_levels(out, lens, _to_image(alpha * (1.0 - is_mud), image)), out=out)
            out = np.rint(mix_levels(out, (1.0, 1.0, 1.0), _to_image(0.6 * shine, image)), out=out)
        if self.mud > 0.0:
            shade = np.float32(0.85) + np.float32(0.3) * kind  # > 0; one uint8 plane per colour channel
            mud = cv2.merge([cv2.convertScaleAbs(shade, alpha=255.0 * c) for c in self.mud_color])
            out = mix_levels(
                out, _to_image(mud, image), _to_image(alpha * is_mud * (0.75 + 0.25 * kind), image)
            )
        return cv2.convertScaleAbs(out)


@register(
    "rain",
    "weather",
    ladder={
        "density": (0.002, 0.004, 0.007, 0.011, 0.016),
        "length": (8.0, 10.0, 13.0, 16.0, 20.0),
        "dimming": (0.04, 0.07, 0.1, 0.14, 0.18),
        "haze": (0.0, 0.05, 0.1, 0.16, 0.22),
    },
    identity={"density": 0.0, "length": 0.0, "dimming": 0.0, "haze": 0.0},
    backend="opencv",
)
class Rain(Primitive):
    """Rain: bright streaks of falling drops from drizzle to torrential, with dimming and spray.

    Drops are streaked along a wind-slanted direction. At 224 px the ladder's 100..800 drops
    span albumentations' RandomRain from drizzle (56 drops) to beyond torrential (448 drops),
    since these streaks are thinner and fainter; its default brightness coefficient 0.7 (30 %
    dimming) bounds the overcast ``dimming``. Heavier rain also adds a grey veil of spray and
    slightly blurs the scene.
    """

    density: float = Field(0.007, ge=0.0, le=0.1, description="rain drops per pixel at 224 px")
    length: float = Field(13.0, ge=0.0, le=80.0, description="streak length in px at 224 px")
    dimming: float = Field(0.1, ge=0.0, le=0.8, description="fraction of scene brightness lost to overcast")
    haze: float = Field(0.1, ge=0.0, le=0.8, description="blend weight of the grey spray veil")
    slant: float = Field(20.0, ge=0.0, le=60.0, description="largest wind slant from vertical, degrees")
    opacity: float = Field(0.6, ge=0.0, le=1.0, description="opacity of a single rain streak")
    color: RGB = Field((0.78, 0.8, 0.83), description="RGB colour of the streaks in [0, 1]")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        u = ctx.rng.random(_ref_shape(image), dtype=np.float32)
        angle = 90.0 + float(ctx.rng.uniform(-self.slant, self.slant))
        fine = _fraction(u)  # an independent uniform per pixel
        seeds = (np.float32(0.6) + np.float32(0.4) * fine) * (u < np.float32(self.density))
        streaks = _streaks(seeds, self.length, angle)
        alpha = _to_image(np.clip(streaks * np.float32(self.opacity), 0.0, 1.0), image)
        # Dimming, then a grey spray veil of weight ``haze``: one affine map of the blurred scene.
        keep = (1.0 - self.dimming) * (1.0 - self.haze)
        veil = 255.0 * 0.65 * (1.0 - self.dimming) * self.haze
        x = cv2.convertScaleAbs(gaussian(image, ctx.px(3.0 * self.haze)), alpha=keep, beta=veil)
        return mix(x, self.color, alpha)
