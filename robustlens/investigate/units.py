"""Severity -> physical units: what a tolerated severity means for the camera, not on the 0..5 knob.

A deployment owner cannot act on "severity 2.4"; they can act on "Gaussian blur sigma up to 2.4 px at
224 px" or "JPEG quality down to 17". Each ladder parameter is interpolated on the primitive's own
ladder (``robustlens.corruptions.base.interpolate``, the same rule the primitives use), so the value
printed is the parameter the corruption actually applied at that severity. Pixel lengths are given at
the reference short side (``REFERENCE_SIDE``), as the primitives define them.
"""

from __future__ import annotations

from robustlens.corruptions.base import REFERENCE_SIDE, REGISTRY, interpolate
from robustlens.investigate.records import PhysicalLevel
from robustlens.schemas import CorruptionSpec

PX = f"px at {REFERENCE_SIDE} px"

# (primitive, param) -> (unit, wording); the wording names the physical quantity.
SPECIFIC: dict[tuple[str, str], tuple[str, str]] = {
    ("gaussian_blur", "sigma"): (PX, "Gaussian blur sigma"),
    ("glass_blur", "sigma"): (PX, "glass blur sigma"),
    ("defocus_blur", "radius"): (PX, "defocus blur radius"),
    ("motion_blur", "length"): (PX, "motion blur length"),
    ("vibration_blur", "amplitude"): (PX, "vibration amplitude"),
    ("zoom_blur", "zoom"): ("x", "zoom blur factor"),
    ("jpeg", "quality"): ("", "JPEG quality"),
    ("webp", "quality"): ("", "WebP quality"),
    ("pixelate", "factor"): ("x", "pixelation scale"),
    ("downscale", "factor"): ("x", "resolution scale"),
    ("bit_depth", "bits"): ("bits", "colour depth"),
    ("rotation", "angle"): ("deg", "rotation"),
    ("scan_skew", "angle"): ("deg", "scan skew"),
    ("overexposure", "stops"): ("EV", "overexposure"),
    ("underexposure", "stops"): ("EV", "underexposure"),
    ("brightness", "shift"): ("of full scale", "brightness shift"),
    ("white_balance", "mired_shift"): ("mired", "white-balance shift"),
    ("gaussian_noise", "sigma"): ("of full scale", "sensor noise sigma"),
    ("speckle_noise", "sigma"): ("of full scale", "speckle noise sigma"),
    ("chromatic_aberration", "shift"): (PX, "chromatic aberration"),
    ("perspective", "shift"): (PX, "perspective shift"),
    ("rain", "length"): (PX, "rain streak length"),
    ("saturate", "gain"): ("x", "saturation gain"),
}
# Generic fallbacks by parameter name.
GENERIC: dict[str, str] = {
    "sigma": PX,
    "radius": PX,
    "length": PX,
    "amplitude": PX,
    "displacement": PX,
    "angle": "deg",
    "stops": "EV",
}


def physical_levels(spec: CorruptionSpec, severity: float) -> list[PhysicalLevel]:
    """Every ladder parameter of ``spec``'s recipe at ``severity``, in its unit (recipe order)."""
    out: list[PhysicalLevel] = []
    for call in spec.recipe:
        info = REGISTRY.get(call.name)
        if info is None:
            continue
        for param in info.ladder:
            value = interpolate(info.ladder_values(param, call.ladder.get(param)), severity)
            unit, wording = SPECIFIC.get(
                (call.name, param), (GENERIC.get(param, ""), f"{call.name.replace('_', ' ')} {param}")
            )
            shown = f"{value:.3g}"
            text = f"{wording} {shown}" + (f" {unit}" if unit else "")
            out.append(PhysicalLevel(primitive=call.name, param=param, value=value, unit=unit, text=text))
    return out


def physical_text(spec: CorruptionSpec, severity: float) -> str:
    """One line, e.g. 'Gaussian blur sigma 2.4 px at 224 px; JPEG quality 17'."""
    return "; ".join(p.text for p in physical_levels(spec, severity))
