"""Medical family: MRI, ultrasound, X-ray and histology acquisition artefacts.

Each primitive follows the physics of one modality (coil sensitivity, k-space phase errors, coherent
speckle, photon-limited radiography, stain chemistry) but runs on any RGB image, so it can be used
on clinical images and as a stress test on natural ones. Grey-scale modalities (MRI, ultrasound,
X-ray) modulate all channels alike.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import scipy.fft
from pydantic import Field

from robustlens.corruptions.base import Context, Primitive, register
from robustlens.corruptions.ops import grain_noise, standard_normal, to_float, to_uint8

MEDICAL = ("medical",)


def _rgb(plane: np.ndarray) -> np.ndarray:
    """A float32 plane repeated into HxWx3 (much faster than numpy's ``[:, :, None]`` broadcast)."""
    return cv2.cvtColor(np.ascontiguousarray(plane, np.float32), cv2.COLOR_GRAY2RGB)


def _unit_coords(n: int) -> np.ndarray:
    """Pixel centres mapped to [-1, 1] (float64, for Vandermonde matrices)."""
    return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)


@register(
    "mri_bias_field",
    "medical",
    ladder={"strength": (0.35, 0.5, 0.65, 0.8, 1.0)},
    identity={"strength": 0.0},
    tags=(*MEDICAL, "mri"),
)
class MriBiasField(Primitive):
    """MRI intensity inhomogeneity (bias field) from non-uniform RF coil sensitivity.

    The field is ``exp(strength * p(x, y))`` with ``p`` a random polynomial of total degree ``order``
    normalised to a peak of 1, the model of TorchIO's RandomBiasField (Perez-Garcia et al., CMPB
    2021) after Sled et al.'s N3 (IEEE TMI 1998): a smooth multiplicative field of low spatial
    frequency. ``strength`` is the peak log-gain, so 1.0 means up to 2.7x brighter or 0.37x darker.
    """

    strength: float = Field(0.65, ge=0.0, le=1.5, description="peak log-gain of the field (0 = uniform)")
    order: int = Field(3, ge=1, le=6, description="total degree of the polynomial log-field")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        n = self.order + 1
        coef = ctx.rng.uniform(-1.0, 1.0, (n, n))
        coef[np.add.outer(np.arange(n), np.arange(n)) > self.order] = 0.0  # total degree <= order
        coef[0, 0] = 0.0  # the mean level is the scanner's gain, not the bias
        gh, gw = min(h, 64), min(w, 64)  # a low-order polynomial: evaluate coarsely, upsample
        vy = np.vander(_unit_coords(gh), n, increasing=True)
        vx = np.vander(_unit_coords(gw), n, increasing=True)
        poly = vy @ coef @ vx.T
        poly /= max(float(np.abs(poly).max()), 1e-6)
        field = np.exp(poly * self.strength).astype(np.float32)
        if (gh, gw) != (h, w):
            field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        return to_uint8(to_float(image) * _rgb(field))


def _is_gray(image: np.ndarray) -> bool:
    return (
        image.shape[2] == 3
        and np.array_equal(image[:, :, 0], image[:, :, 1])
        and np.array_equal(image[:, :, 0], image[:, :, 2])
    )


@register(
    "mri_ghosting",
    "medical",
    ladder={"amplitude": (0.25, 0.5, 0.9, 1.4, 2.2)},
    identity={"amplitude": 0.0},
    tags=(*MEDICAL, "mri"),
    backend="opencv",
)
class MriGhosting(Primitive):
    """MRI motion ghosting: periodic motion during acquisition replicates the anatomy along phase-encode.

    Periodic translation ``d(t) = amplitude * sin(2 pi t / period + phase)`` of the object while the
    k-space lines are acquired multiplies line ``k`` by ``exp(-2 pi i k d(t_k) / N)``; the magnitude
    image then shows attenuated, wrapped replicas spaced ``N / period`` pixels apart along the
    phase-encode axis (Wood & Henkelman, Med. Phys. 1985). It is simulated exactly with a 1-D FFT
    along that axis, like TorchIO's RandomGhosting / RandomMotion. ``period`` is in k-space lines
    (repetition times per breath or heartbeat), drawn between ``period_min`` and ``period_max``;
    ``amplitude`` is the peak displacement in pixels at the 224 px reference.
    """

    amplitude: float = Field(0.9, ge=0.0, le=10.0, description="peak motion displacement (px at 224 px)")
    period_min: float = Field(3.0, ge=2.0, le=64.0, description="shortest motion period in k-space lines")
    period_max: float = Field(10.0, ge=2.0, le=64.0, description="longest motion period in k-space lines")
    direction: Literal["vertical", "horizontal"] = Field("vertical", description="phase-encode direction")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        if _is_gray(image):  # MR images are grayscale: one plane instead of three (3x faster)
            out = self.apply(np.ascontiguousarray(image[:, :, :1]), ctx)
            return np.ascontiguousarray(np.repeat(out[:, :, :1], 3, axis=2))
        lo, hi = sorted((self.period_min, self.period_max))
        period = ctx.rng.uniform(lo, hi)
        phase0 = ctx.rng.uniform(0.0, 2 * np.pi)
        # 1-D FFTs along the phase-encode axis (axis 0 = image rows for vertical), in place: SciPy's
        # pocketfft in complex64 is ~2.5x faster here than cv2.dft's complex row transforms and
        # needs no transposed copies.
        axis = 0 if self.direction == "vertical" else 1
        n = image.shape[axis]
        k = np.fft.fftfreq(n) * n  # signed k-space line index
        t = np.arange(n) - n // 2  # acquisition order: -N/2 .. N/2 - 1 (linear ordering)
        disp = ctx.px(self.amplitude) * np.sin(2 * np.pi * t / period + phase0)
        line_phase = np.exp(-2j * np.pi * k * np.fft.ifftshift(disp) / n).astype(np.complex64)
        spec = scipy.fft.fft(image.astype(np.float32), axis=axis)  # stays in 0..255 units
        spec *= line_phase.reshape((n, 1, 1) if axis == 0 else (1, n, 1))
        back = scipy.fft.ifft(spec, axis=axis, overwrite_x=True)
        return cv2.convertScaleAbs(np.abs(back)).reshape(image.shape)  # >= 0: rounds, saturates


@register(
    "ultrasound_speckle",
    "medical",
    ladder={"strength": (0.08, 0.16, 0.27, 0.4, 0.55)},
    identity={"strength": 0.0},
    tags=(*MEDICAL, "ultrasound"),
)
class UltrasoundSpeckle(Primitive):
    """Ultrasound speckle: coherent interference of sub-resolution scatterers in B-mode imaging.

    Fully developed speckle is the envelope of a circular complex Gaussian field filtered by the
    system's point-spread function, so its amplitude is Rayleigh distributed with a grain the size
    of the resolution cell (Burckhardt, IEEE Trans. Sonics Ultrason. 1978; Wagner et al., 1983).
    The field is built that way (complex white noise blurred by an anisotropic Gaussian PSF, longer
    laterally than axially), normalised to unit mean, and multiplies the image with weight
    ``strength`` (1 = fully developed speckle, SNR 1.91).
    """

    strength: float = Field(0.27, ge=0.0, le=1.0, description="mix weight of the unit-mean speckle field")
    cell_px: float = Field(1.6, ge=0.3, le=10.0, description="lateral PSF sigma (px at 224 px)")
    axial_ratio: float = Field(0.5, ge=0.1, le=2.0, description="axial / lateral PSF size")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        h, w = image.shape[:2]
        z = standard_normal((h, w, 2), ctx)
        sx = ctx.px(self.cell_px, 0.3)
        sy = ctx.px(self.cell_px * self.axial_ratio, 0.3)
        kx, ky = int(2 * round(3 * sx) + 1), int(2 * round(3 * sy) + 1)
        z = cv2.GaussianBlur(z, (kx, ky), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REFLECT)
        amp = cv2.magnitude(z[:, :, 0], z[:, :, 1])
        amp *= np.float32(1.0 / max(float(amp.mean()), 1e-6))
        factor = np.float32(1.0 - self.strength) + np.float32(self.strength) * amp
        return to_uint8(to_float(image) * _rgb(factor))


@register(
    "xray_low_dose",
    "medical",
    ladder={
        "quantum": (1 / 8000, 1 / 3000, 1 / 1200, 1 / 500, 1 / 200),
        "scatter": (0.03, 0.06, 0.1, 0.15, 0.22),
    },
    identity={"quantum": 0.0, "scatter": 0.0},
    tags=(*MEDICAL, "xray"),
)
class XrayLowDose(Primitive):
    """Low-dose radiography: Poisson-Gaussian quantum noise and scatter-reduced contrast.

    The displayed value ``v`` (bright = attenuating) is read as a log-transmission image,
    ``t = exp(-mu * v)``, so bright regions receive fewer photons and are noisier, as in a real
    radiograph. Counts ``N0 * t`` get Poisson noise (Gaussian approximation, as in ``shot_noise``)
    plus additive electronic read noise: the Poisson-Gaussian model of Foi et al. (IEEE TIP 2008)
    used to simulate dose reduction (e.g. Veldkamp et al., J. Digit. Imaging 2009). ``quantum`` is
    1 / N0 (photons reaching an unattenuated detector pixel). A scatter background of ``scatter``
    times the mean primary fluence flattens the log image and lowers contrast. Noise is
    monochrome, as on a radiographic detector.
    """

    quantum: float = Field(1 / 1200, ge=0.0, le=0.05, description="1 / unattenuated photon count per pixel")
    scatter: float = Field(0.1, ge=0.0, le=1.0, description="scatter-to-primary ratio (of mean primary)")
    read_noise: float = Field(2.0, ge=0.0, le=50.0, description="electronic noise std in photon units")
    mu: float = Field(3.0, ge=0.5, le=8.0, description="log attenuation at full-scale brightness")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        mu = float(self.mu)
        lut = np.exp(-mu * np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
        t = cv2.LUT(image, lut)  # primary transmission in (0, 1]
        s = float(self.scatter * float(t.mean()))
        counts = t + np.float32(s)  # fluence in units of N0
        if self.quantum > 0:
            q = np.float32(self.quantum)
            noise = _rgb(grain_noise(image.shape[:2], ctx))
            counts += cv2.sqrt(counts * q + (np.float32(self.read_noise) * q) ** 2) * noise
        counts = cv2.log(np.maximum(counts, np.float32(1e-4)))
        # display: log-transform and window so that an unattenuated pixel stays at 0
        return to_uint8(counts * np.float32(-1.0 / mu) + np.float32(np.log1p(s) / mu))


# Ruifrok & Johnston (Anal. Quant. Cytol. Histol. 2001) optical densities per stain (rows: H, E, DAB).
_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], np.float64)
_RGB_FROM_HED /= np.linalg.norm(_RGB_FROM_HED, axis=1, keepdims=True)
_HED_FROM_RGB = np.linalg.inv(_RGB_FROM_HED)
_OD_LUT = (-np.log(np.maximum(np.arange(256), 1) / 255.0)).astype(np.float32)


@register(
    "stain_variation",
    "medical",
    ladder={"scale": (0.1, 0.18, 0.26, 0.35, 0.45), "shift": (0.04, 0.07, 0.1, 0.14, 0.18)},
    identity={"scale": 0.0, "shift": 0.0},
    tags=(*MEDICAL, "histology"),
)
class StainVariation(Primitive):
    """H&E stain variation in histology: staining protocol, dye batch and scanner differences.

    Colour deconvolution (Ruifrok & Johnston 2001) maps optical density ``-ln(I / 255)`` onto
    haematoxylin, eosin and residual (DAB) concentrations; each stain's concentration is scaled by
    ``1 + scale * u`` and shifted by ``shift * u'`` before mapping back, the HED colour augmentation
    of Tellez et al. (IEEE TMI 2018; MedIA 2019), whose "HED-strong" setting is scale = shift = 0.2.
    ``u, u'`` have a random sign and a magnitude in [0.5, 1], so every draw changes each stain.
    ``residual`` lets the third channel vary too (off by default: H&E only).
    """

    scale: float = Field(0.26, ge=0.0, le=1.0, description="max relative change of each stain's amount")
    shift: float = Field(0.1, ge=0.0, le=0.5, description="max additive change of each stain's OD")
    residual: bool = Field(False, description="also perturb the residual (DAB) channel")

    def apply(self, image: np.ndarray, ctx: Context) -> np.ndarray:
        # random sign, magnitude in [0.5, 1]: every draw perturbs each stain noticeably
        u = ctx.rng.uniform(0.5, 1.0, (2, 3)) * ctx.rng.choice((-1.0, 1.0), (2, 3))
        if not self.residual:
            u[:, 2] = 0.0
        alpha = 1.0 + self.scale * u[0]
        beta = self.shift * u[1]
        # OD' = (OD @ HED_FROM_RGB * alpha + beta) @ RGB_FROM_HED, folded into one affine map
        mat = (_HED_FROM_RGB * alpha[None, :]) @ _RGB_FROM_HED
        off = beta @ _RGB_FROM_HED
        od = cv2.LUT(image, _OD_LUT)
        od = cv2.transform(od, np.hstack([mat.T, off[:, None]]).astype(np.float32))
        return cv2.convertScaleAbs(cv2.exp(-np.maximum(od, 0.0)), alpha=255.0)  # in (0, 1]: no sign issue
