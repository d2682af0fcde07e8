"""report.md carries brief, plan and LLM text: none of it may become markup in a Markdown viewer.

A synthetic run gets a brief, rationales, critic reasons, a skipped file and an LLM narrative full of
script tags, ``javascript:`` links, remote images, raw HTML and table-breaking ``|``/newlines. The
written report.md is checked as text and rendered with a real CommonMark+tables renderer (raw HTML
allowed, as GitHub allows some): nothing executable, no remote image, every table row intact, and
the text still reads as what the user wrote.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

from robustlens.report.markdown import block, code, text
from robustlens.report.render import write_report
from robustlens.schemas import Check, CriticVerdict, DomainBrief, SkippedFile, ValidationReport
from tests.report.synthetic import synthetic_run

EVIL = (
    "dust <script>alert(1)</script> [click](javascript:alert(2)) ![x](http://evil.example/x.png) "
    '<img src="http://evil.example/y.png"> <a href="JavaScript:alert(3)">a</a> a | b | c'
)
EVIL_BLOCK = EVIL + "\n# not a heading\n| --- | --- |\n\n- not a list\n<iframe src=http://evil.example>"
UNESCAPED_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")


def _evil_run(tmp_path: Path) -> Path:
    run, result = synthetic_run(tmp_path / "run")
    brief = DomainBrief(
        domain="loom " + EVIL,
        description=EVIL_BLOCK,
        imaging_setup="line-scan | camera\n| --- |",
        deployment_conditions=[EVIL, "night"],
    )
    specs = [s.model_copy(update={"rationale": EVIL_BLOCK}) for s in result.plan.specs]
    verdict = CriticVerdict(realistic=False, score=0.25, reasons=[EVIL, "too | strong"], critic="llm")
    validation = [
        ValidationReport(spec_name="blur", ok=False, checks=[Check(name="ssim", passed=True)], critic=verdict)
    ]
    skipped = [SkippedFile(path="local/x|`y`.png", reason=EVIL)]
    update = {
        "brief": brief,
        "validation": validation,
        "skipped": skipped,
        "plan": result.plan.model_copy(update={"specs": specs}),
    }
    result.model_copy(update=update).save(run / "result.json")
    return run


def _tables(md: str) -> list[list[str]]:
    tables, current = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return [*tables, current] if current else tables


def test_report_md_is_inert_and_readable(tmp_path: Path) -> None:
    run = _evil_run(tmp_path)
    md = write_report(run, ("md",), narrative=EVIL_BLOCK, narrative_source="llm")["md"].read_text()

    assert "<script" not in md.lower() and "<img" not in md.lower() and "<iframe" not in md.lower()
    assert "javascript:" not in md.lower()
    assert "](http" not in md, "no remote image or link destination survives"
    assert not re.search(r"^#+ not a heading", md, flags=re.M)

    tables = _tables(md)
    assert len(tables) > 5
    for rows in tables:
        widths = {len(UNESCAPED_PIPE.findall(row)) for row in rows}
        assert len(widths) == 1, f"a cell broke its table row: {rows}"

    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    lowered = rendered.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<a href" not in lowered
    images = re.findall(r'<img src="([^"]+)"', rendered)
    assert images and all(src.startswith("figures/") for src in images), "only the report's own figures"
    assert "<h1>not a heading" not in lowered

    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    readable = "dust <script>alert(1)</script> [click](javascript:alert(2)) ![x](http://evil.example/x.png)"
    assert readable in shown, "the text still reads as written"
    assert "a | b | c" in shown and "line-scan | camera" in shown
    assert "LLM narrative" in shown and "# not a heading" in shown


def test_escaping_helpers_round_trip_through_a_renderer() -> None:
    render = MarkdownIt("commonmark", {"html": True}).enable("table")
    for raw in ("a_b *c* `d` [e](f) <g> & h | i ~j~ \\ k", "x\\|y", "```", "data:text/html,1"):
        out = render.renderInline(text(raw))
        assert html.unescape(out) == raw, (raw, out)
        assert "<" not in out.replace("<code>", "").replace("</code>", "")
    assert html.unescape(render.renderInline(code("a ``b`` c"))) == "<code>a ``b`` c</code>"
    assert render.render(block("1. one\n\n- two")).count("<p>") == 2
