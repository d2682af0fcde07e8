"""Markdown text for the report: escaping of untrusted text (brief, plan, LLM) and small table
builders. Split from ``robustlens.report.markdown``, which re-exports ``text``, ``block`` and ``code``."""

from __future__ import annotations

import re
from typing import Any

Data = dict[str, Any]


class Md(str):
    """Markdown this renderer wrote itself (escaped text plus its own ``**``/backtick markup).

    Everything else that reaches a table is treated as untrusted text and escaped: the brief, the
    plan and every LLM text are user- or model-controlled, and ``report.md`` is opened in viewers
    (GitHub, IDEs) that render links, images and some raw HTML. Escaping by default, as Jinja's
    autoescape does for ``report.html``, means a forgotten call cannot leak markup.
    """


_SPECIAL = re.compile(r"([\\`*\[\]|~])")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # intraword _ is plain text in GFM
_LINK_PAREN = re.compile(r"(?<=\])\(")  # '](' would start a link or image destination
_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data|file)(\s*):")
_BLOCK_START = re.compile(r"^(#|=|-|\+|\d+[.)])")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")


def text(value: Any) -> Md:
    """Untrusted text as inert, one-line Markdown that still reads as the original.

    HTML is entity-escaped (no tags, no entities smuggled in), Markdown punctuation that could open
    emphasis, code, links or images is backslash-escaped, ``javascript:``-like schemes lose their
    colon, and newlines become spaces so text cannot start a heading, list or table row.
    """
    s = " ".join(str(value).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    s = _LONE_UNDERSCORE.sub(r"\\_", s)
    s = _LINK_PAREN.sub(r"\\(", s)
    return Md(_SCHEME.sub(r"\1\2\\:", s))


def block(value: Any) -> Md:
    """Untrusted multi-paragraph text (an LLM narrative): paragraphs kept, each one made inert."""
    paragraphs = [text(p) for p in re.split(r"\n\s*\n", str(value)) if p.strip()]
    return Md("\n\n".join(_BLOCK_START.sub(r"\\\1", p) for p in paragraphs))


def code(value: Any) -> Md:
    """Untrusted text as an inline code span (ids, paths, commands): literal whatever it holds."""
    s = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return Md(f"{fence}{pad}{s}{pad}{fence}")


def _cell(value: Any) -> str:
    """A table cell: untrusted values escaped; a '|' that is not escaped yet cannot split the row."""
    s = value if isinstance(value, Md) else text(value)
    return _UNESCAPED_PIPE.sub(r"\1\\|", s.replace("\n", " "))


def _mv(x: Data) -> str:
    return f"{x['text']} ({x['ci_text']})" if x.get("ci_text") else x["text"]


def _table(header: list[Any], rows: list[list[Any]], right_from: int = 1) -> list[str]:
    """A GFM table; columns from ``right_from`` on are right-aligned (numbers)."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]
