"""LLM-facing tools: a pydantic argument model and one plain function call each. No logic here."""

from robustlens.tools import audit_tools, catalog, investigate_tools  # noqa: F401  (register the tools)
from robustlens.tools.context import ToolContext
from robustlens.tools.registry import TOOLS, dispatch, specs

__all__ = ["TOOLS", "ToolContext", "dispatch", "specs"]
