"""Severity bounds from the quantities a brief states (speeds, exposure times, pixels of motion, the
degrees of a tilt).

Motion blur is the distance the image moves while the sensor integrates light: its length in pixels
is ``speed x exposure / pixel footprint`` (the linear-motion blur kernel; Potmesil & Chakravarty,
"Modeling motion blur in computer-generated images", SIGGRAPH 1983; Hendrycks & Dietterich,
ICLR 2019, for the corruption ladder). A brief that says "moves 3 pixels per frame", or gives a
speed, an exposure and a pixel size, bounds the blur in pixels; a brief that gives only an exposure
of a few tens of microseconds (a light pulse, a flash, a very short shutter) freezes any everyday
motion the way a strobe does. The bound is mapped onto the default ladder (the severity at which
its blur length reaches the bound), so the planner caps its ladder and the critic checks the same
bound. A brief that states no quantity gets no bound from here: today's caps stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FREEZE_S = 1e-4  # an exposure of at most 100 us freezes everyday motion (as a strobe does)
FREEZE_CAP = 1.0  # only a short residual streak
MIN_PIXELS = 1.0  # a sub-pixel bound still tests a one-pixel streak (never an identity spec)
_NUM = r"(\d+(?:[.,]\d+)?)"
_TIME_UNITS = {
    "ns": 1e-9,
    "nanosecond": 1e-9,
    "nanoseconds": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "microsecond": 1e-6,
    "microseconds": 1e-6,
    "ms": 1e-3,
    "millisecond": 1e-3,
    "milliseconds": 1e-3,
}
_SPEED_UNITS = {
    "m/s": 1.0,
    "mm/s": 1e-3,
    "km/h": 1 / 3.6,
    "kph": 1 / 3.6,
    "km/hr": 1 / 3.6,
    "mph": 0.44704,
    "metres a second": 1.0,
    "meters a second": 1.0,
    "metres per second": 1.0,
    "meters per second": 1.0,
    "metre a second": 1.0,
    "meter a second": 1.0,
    "metre per second": 1.0,
    "meter per second": 1.0,
    "kilometres an hour": 1 / 3.6,
    "kilometers an hour": 1 / 3.6,
    "kilometres per hour": 1 / 3.6,
    "kilometers per hour": 1 / 3.6,
    "miles an hour": 0.44704,
    "miles per hour": 0.44704,
}
_WORD_NUMBERS = {"a": 1.0, "one": 1.0, "half a": 0.5, "half": 0.5, "two": 2.0, "ten": 10.0}
_FRACTIONS = {"millionth": 1e-6, "hundred-thousandth": 1e-5, "ten-thousandth": 1e-4, "thousandth": 1e-3}
# words that make a duration an exposure (not a latency or a cycle time)
_EXPOSURE = re.compile(r"expos|shutter|pulse|flash|strobe|integrat|lit\b|light|illuminat", re.IGNORECASE)
_TIME = re.compile(
    rf"(?:\b{_NUM}\s*-?\s*({'|'.join(sorted(map(re.escape, _TIME_UNITS), key=len, reverse=True))})\b)"
    r"|(?:\b1\s*/\s*(\d+)\s*(?:s|sec|second)s?\b)"
    rf"|(?:\b(?:a|one)\s+({'|'.join(_FRACTIONS)})\s+of\s+a\s+second\b)"
    r"|(?:\b(microsecond|nanosecond)s?\b)",
    re.IGNORECASE,
)
_SPEED = re.compile(
    rf"(?:\b{_NUM}|\b({'|'.join(sorted(_WORD_NUMBERS, key=len, reverse=True))}))\s*-?\s*"
    rf"({'|'.join(sorted(map(re.escape, _SPEED_UNITS), key=len, reverse=True))})(?![a-z])",
    re.IGNORECASE,
)
_PIXELS_MOVED = re.compile(
    rf"\b{_NUM}\s*(?:px|pixels?)\s*(?:per|a|each|every|/)\s*(?:frame|exposure|shot|image)\b", re.IGNORECASE
)
_PIXEL_SIZE = re.compile(
    rf"\b{_NUM}\s*(µm|μm|um|microns?|mm|cm)\s*(?:per|a|/)\s*(?:px|pixel)\b", re.IGNORECASE
)
_ANGLE = re.compile(rf"(?<![\w-]){_NUM}\s*(?:°|(?:deg|degs|degrees?)\b)", re.IGNORECASE)
_TILT = re.compile(r"skew|tilt|crooked|askew|slant|rotat|misalign|off-square|twist", re.IGNORECASE)
_LENGTH = {"µm": 1e-6, "μm": 1e-6, "um": 1e-6, "micron": 1e-6, "microns": 1e-6, "mm": 1e-3, "cm": 1e-2}


@dataclass(frozen=True)
class MotionBound:
    """What the brief states about motion during one exposure, and the blur length it allows."""

    exposure_s: float | None
    speed_ms: float | None
    pixel_m: float | None
    pixels: float | None  # blur length in pixels, stated or derived; None when the brief gives no scale

    def reason(self) -> str:
        """The bound in words, from the brief's own quantities."""
        parts = []
        if self.speed_ms is not None:
            parts.append(f"speed {self.speed_ms:g} m/s")
        if self.exposure_s is not None:
            parts.append(f"exposure {self.exposure_s * 1e6:g} us")
        if self.pixel_m is not None:
            parts.append(f"pixel {self.pixel_m * 1e6:g} um")
        said = ", ".join(parts)
        if self.pixels is not None:
            said = said or "stated pixels of motion"
            return f"the brief's quantities ({said}) allow a blur of about {self.pixels:.3g} px"
        limit = f"at most {FREEZE_S * 1e6:g} us"
        return f"the brief's exposure ({said}) is short enough to freeze motion ({limit})"


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def exposure(text: str) -> float | None:
    """The shortest exposure-like duration the text states, in seconds (None when none is stated)."""
    found = []
    for sentence in re.split(r"[.;\n]", text):
        if not _EXPOSURE.search(sentence):
            continue
        for m in _TIME.finditer(sentence):
            if m.group(1):
                found.append(_number(m.group(1)) * _TIME_UNITS[m.group(2).lower()])
            elif m.group(3):
                found.append(1.0 / max(int(m.group(3)), 1))
            elif m.group(4):
                found.append(_FRACTIONS[m.group(4).lower()])
            elif m.group(5):
                found.append(_TIME_UNITS[m.group(5).lower()])
    return min(found) if found else None


def speed(text: str) -> float | None:
    """The fastest speed the text states, in metres per second (None when none is stated)."""
    found = []
    for m in _SPEED.finditer(text):
        value = _number(m.group(1)) if m.group(1) else _WORD_NUMBERS[m.group(2).lower()]
        found.append(value * _SPEED_UNITS[m.group(3).lower()])
    return max(found) if found else None


def motion_bound(text: str) -> MotionBound | None:
    """The blur the brief's stated quantities allow, or None when they bound nothing."""
    t, v = exposure(text), speed(text)
    size = _PIXEL_SIZE.search(text)
    pixel = _number(size.group(1)) * _LENGTH[size.group(2).lower()] if size else None
    moved = [_number(m.group(1)) for m in _PIXELS_MOVED.finditer(text)]
    pixels: float | None = max(moved) if moved else None
    if pixels is None and t is not None and v is not None and pixel:
        pixels = v * t / pixel
    if pixels is None and (t is None or t > FREEZE_S):
        return None
    return MotionBound(t, v, pixel, pixels)


def tilt(text: str) -> float | None:
    """The largest tilt the text states, in degrees, read only from sentences that name a tilt ("skew
    up to 5 deg", "pages sit crooked by 3 degrees"); a lens's "160-degree" field names no tilt."""
    found = [
        _number(m.group(1))
        for sentence in re.split(r"[.;\n](?!\d)", text)
        if _TILT.search(sentence)
        for m in _ANGLE.finditer(sentence)
    ]
    return max(found) if found else None


def severity_for(bound: MotionBound, lengths: list[float]) -> float:
    """The default-ladder severity whose blur length is the bound (``lengths``: severities 0..5)."""
    if bound.pixels is None:
        return FREEZE_CAP
    return severity_at(max(bound.pixels, MIN_PIXELS), lengths)


def severity_at(value: float, values: list[float]) -> float:
    """The default-ladder severity at which a parameter reaches ``value`` (``values``: severities 0..5)."""
    for s in range(1, len(values)):
        lo, hi = values[s - 1], values[s]
        if value <= hi and hi > lo:
            return s - 1 + (value - lo) / (hi - lo)
    return float(len(values) - 1)
