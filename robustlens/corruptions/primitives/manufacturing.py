"""Manufacturing family: factory-floor illumination, vibration and dust in machine-vision images.

Inline inspection cameras look at parts on a conveyor under line or ring lights, on machines that
vibrate, behind cover glass that collects dust. Lengths are given at the 224 px reference and scaled
with the image.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import filter2d, gaussian, to_float, to_uint8

MANUFACTURING = ("manufacturing", "machine_vision")


def _rgb(plane: np.ndarray) -> np.ndarray:
    """A float32 plane repeated into HxWx3 (much faster than numpy's ``[:, :, None]`` broadcast)."""
    return cv2.cvtColor(np.ascontiguousarray(plane, np.float32), cv2.COLOR_GRAY2RGB)


@register(
    "uneven_illumination",
    "manufacturing",
    ladder={"strength": (0.25, 0.38, 0.5, 0.63, 0.78)},
    identity={"strength": 0.0},
    tags=MANUFACTURING,
)
class UnevenIllumination(Primitive):
    """Uneven illumination: a line light off to one side and lens falloff leave the part unevenly lit.

    Irradiance from a long bar light at height ``height`` (in half short sides) falls off with the
    lateral distance ``d`` as ``1 / (1 + (d / height)^2)`` (an infinite line source, Lambert's cosine
    law); the bar lies just outside a random side of the field of view. The lens adds cos^4 falloff
    (natural vignetting) with weight ``vignette``. The relative field darkens the image by up to
    ``strength`` where it is weakest: ``gain = 1 - strength * (1 - E / max E)``.
    """

    strength: float = Field(0.5, ge=0.0, le=1.0, description="max relative light loss across the field")
    height: float = Field(1.0, ge=0.2, le=10.0, description="light height above the part (half short sides)")
    vignette: float = Field(0.4, ge=0.0, le=1.0, description="weight of cos^4 lens falloff")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        theta = ctx.rng.uniform(0.0, 2 * np.pi)
        offset = ctx.rng.uniform(1.0, 1.6)  # distance of the bar from the centre (half short sides)
        centre = ctx.rng.uniform(-0.3, 0.3, 2)  # optical axis offset for the vignette
        half = min(h, w) / 2.0
        xs = ((np.arange(w, dtype=np.float32) - (w - 1) / 2.0) / half).astype(np.float32)
        ys = ((np.arange(h, dtype=np.float32) - (h - 1) / 2.0) / half).astype(np.float32)
        d = np.add.outer(ys * np.float32(np.sin(theta)), xs * np.float32(np.cos(theta))) - np.float32(offset)
        light = 1.0 / (1.0 + (d / np.float32(self.height)) ** 2)
        r2 = np.add.outer((ys - np.float32(centre[1])) ** 2, (xs - np.float32(centre[0])) ** 2)
        cos4 = 1.0 / (1.0 + r2 * np.float32(0.25)) ** 2  # focal length = 2 half short sides
        light *= np.float32(1.0 - self.vignette) + np.float32(self.vignette) * cos4
        gain = 1.0 - np.float32(self.strength) * (1.0 - light / light.max())
        return to_uint8(to_float(image) * _rgb(gain))


def _vibration_kernel(amplitude: float, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """PSF of harmonic vibration in two axes (a Lissajous path) during the exposure, plus jitter."""
    t = np.linspace(0.0, 1.0, 96)
    freq = rng.uniform(0.6, 2.5, 2)  # cycles per exposure along each vibration axis
    phase = rng.uniform(0.0, 2 * np.pi, 2)
    axis_amp = np.array([1.0, rng.uniform(0.2, 1.0)])
    angle = rng.uniform(0.0, np.pi)
    walk = np.cumsum(rng.standard_normal((t.size, 2)), axis=0) / np.sqrt(t.size)
    u = axis_amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None]) + jitter * walk.T
    c, s = np.cos(angle), np.sin(angle)
    x, y = c * u[0] - s * u[1], s * u[0] + c * u[1]
    x, y = x - x.mean(), y - y.mean()  # no net shift: the part stays registered
    x, y = np.array([x, y]) * (amplitude / max(float(np.hypot(x, y).max()), 1e-6))
    r = int(np.ceil(amplitude)) + 1
    size = 2 * r + 1
    k = np.zeros((size, size), np.float64)
    px, py = x + r, y + r
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dx, dy, wgt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), wgt)
    return (k / k.sum()).astype(np.float32)


@register(
    "vibration_blur",
    "manufacturing",
    ladder={"amplitude": (0.8, 1.5, 2.5, 3.5, 5.0)},
    identity={"amplitude": 0.0},
    tags=MANUFACTURING,
    backend="opencv",
)
class VibrationBlur(Primitive):
    """Vibration blur: the camera or part oscillates during the exposure on a running machine.

    Harmonic vibration smears each point along a sinusoidal path that lingers at its turning points
    (Stern & Kopeika, "Analytical method to calculate optical transfer functions for image motion
    and vibrations using moments", JOSA A 1997). Two orthogonal vibration modes with random
    frequencies (0.6 to 2.5 cycles per exposure), phases and orientation trace a Lissajous path,
    perturbed by a random-walk ``jitter``; the path, scaled to a peak excursion of ``amplitude`` px
    (at 224 px), is the blur kernel.
    """

    amplitude: float = Field(
        2.5, ge=0.0, le=30.0, description="peak excursion of the vibration (px at 224 px)"
    )
    jitter: float = Field(0.15, ge=0.0, le=1.0, description="random-walk jitter relative to the amplitude")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        amp = ctx.px(self.amplitude)
        kernel = _vibration_kernel(amp, ctx.rng, self.jitter)
        if amp < 0.05:
            return image.copy()
        return filter2d(image, kernel)


@register(
    "dust",
    "manufacturing",
    ladder={"density": (15.0, 30.0, 55.0, 90.0, 140.0)},
    identity={"density": 0.0},
    tags=MANUFACTURING,
)
class Dust(Primitive):
    """Dust and particles on the inspected part or the camera's cover glass.

    Particles on the part are in focus: small sharp specks of radius ~``speck_px`` (at 224 px,
    log-uniform over 0.6x to 1.65x), mostly dark (absorbing fibres, grit) and a fraction
    ``bright`` of them light (glinting metal chips, lint on dark parts). A fraction ``blob`` of the
    particles sit on the cover glass, far out of focus: faint, soft grey discs several times
    larger, the classic "dust spot" of camera sensors. ``density`` is the particle count per
    224 x 224 px area, scaled with the image area; higher severities keep the particles of lower
    ones and add more.
    """

    density: float = Field(55.0, ge=0.0, le=1000.0, description="particles per 224x224 px area")
    speck_px: float = Field(1.0, ge=0.2, le=10.0, description="median speck radius (px at 224 px)")
    bright: float = Field(0.3, ge=0.0, le=1.0, description="fraction of specks that are bright")
    blob: float = Field(0.2, ge=0.0, le=1.0, description="fraction of particles that are out-of-focus blobs")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        area = (h * w) / ctx.px(224.0, 1.0) ** 2
        n = min(50000, round(self.density * area))
        draws = ctx.rng.random((n, 6))  # the first k rows are the same for any n: particles nest
        dark = np.zeros((h, w), np.uint8)
        light = np.zeros((h, w), np.uint8)
        soft = np.zeros((h, w), np.uint8)
        shift = 4  # cv2 sub-pixel coordinates (1/16 px)
        one = 1 << shift
        for u, v, size, kind, tone, shade in draws:
            centre = (int(u * w * one), int(v * h * one))
            if kind < self.blob:
                radius = ctx.px(self.speck_px * (3.0 + 5.0 * size), 1.0)
                cv2.circle(soft, centre, int(radius * one), int(60 + 80 * tone), -1, cv2.LINE_AA, shift)
                continue
            radius = ctx.px(self.speck_px * float(np.exp(size - 0.5)), 0.5)  # 0.6x .. 1.65x
            target = light if shade < self.bright else dark
            cv2.circle(target, centre, int(radius * one), int(170 + 85 * tone), -1, cv2.LINE_AA, shift)
        x = to_float(image)
        a_dark = to_float(dark)
        if soft.any():
            a_dark = np.maximum(a_dark, gaussian(to_float(soft), ctx.px(2.0, 0.5)))
        x *= _rgb(1.0 - a_dark * np.float32(0.85))  # dust absorbs; grit is dark brown-grey, not black
        a_light = _rgb(to_float(light))
        x += (np.float32(0.92) - x) * a_light
        return to_uint8(x)
