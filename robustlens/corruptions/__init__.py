"""Corruption library: registry of primitives, recipe compiler, severity ladders, seeding."""

from robustlens.corruptions import primitives  # noqa: F401  (registers every family)
from robustlens.corruptions.base import FAMILIES, REGISTRY, PrimitiveInfo
from robustlens.corruptions.compiler import CompiledCorruption, compile_plan, compile_spec, get_info, single

__all__ = [
    "FAMILIES",
    "REGISTRY",
    "CompiledCorruption",
    "PrimitiveInfo",
    "compile_plan",
    "compile_spec",
    "get_info",
    "single",
]
