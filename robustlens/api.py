"""The public Python API: what the CLI does, as plain typed functions for notebooks and scripts.

Why a separate module: the CLI commands print, parse flags and exit; a notebook wants values back
(``AuditResult``, numpy images) and exceptions it can catch. Each function here accepts paths as
``str`` or ``Path`` and schema objects or plain dicts, checks its inputs with the same
``UserInputError`` the CLI prints (what / why / fix), and then calls the same stage functions the
CLI calls, so both give identical run folders. Heavy libraries (torch, open_clip) are imported
inside the functions: ``import robustlens`` stays light.

    import robustlens
    result = robustlens.evaluate("plan.yaml", "images/", ["openclip:ViT-B-32/laion2b_s34b_b79k"], "runs/x")
    robustlens.write_report("runs/x")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robustlens.api_checks import _choice, _coerce, _execution, _image, _models, _path, _positive, _severity
from robustlens.errors import UserInputError

if TYPE_CHECKING:
    import numpy as np

    from robustlens.schemas import AuditResult, CorruptionPlan, CorruptionSpec, DomainBrief

PathLike = str | Path
REPORT_FORMATS = ("html", "md", "json", "csv")


def load_brief(path: PathLike) -> DomainBrief:
    """Read a domain brief (YAML/JSON); a bad field raises ``UserInputError`` naming it."""
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model

    return load_model(DomainBrief, _path(path, "brief"))


def load_plan(path: PathLike) -> CorruptionPlan:
    """Read a corruption plan (YAML/JSON with ``specs``), or a single-spec file as a one-spec plan."""
    from robustlens.schemas import CorruptionPlan
    from robustlens.userfiles import load_specs

    specs, plan = load_specs(_path(path, "plan"))
    return plan or CorruptionPlan(specs=specs)


def corrupt(
    image: np.ndarray | PathLike | Any,
    corruption: str | CorruptionSpec | Mapping[str, Any],
    severity: float = 3.0,
    seed: int = 0,
) -> np.ndarray:
    """Apply one corruption to one image and return the corrupted uint8 array (same layout).

    ``image``: a uint8 array (HxW, HxWx3 or HxWx4), a PIL image, or an image file.
    ``corruption``: a primitive name (``"fog"``), a ``CorruptionSpec`` or its dict, or a YAML/JSON
    file holding one spec. ``severity``: 0 (identity) .. 5, fractions interpolate. The same
    (image, corruption, severity, seed) always gives the same pixels.
    """
    from robustlens.corruptions import compile_spec, single

    pixels = _image(image)
    sev = _severity(severity)
    if isinstance(corruption, str) and Path(corruption).suffix.lower() in (".yaml", ".yml", ".json"):
        plan = load_plan(corruption)
        if len(plan.specs) != 1:
            raise UserInputError(
                f"{corruption} holds {len(plan.specs)} specs; corrupt() applies one.",
                fix="Pass one spec (e.g. plan.specs[0]) or a primitive name.",
                field="corruption",
            )
        compiled = compile_spec(plan.specs[0], where=str(corruption))
    elif isinstance(corruption, str):
        compiled = single(corruption)
    else:
        compiled = compile_spec(corruption, where="corruption")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserInputError(f"seed must be an integer, got {seed!r}.", fix="Pass e.g. seed=0.", field="seed")
    return compiled(pixels, sev, seed)


def evaluate(
    plan: CorruptionPlan | Mapping[str, Any] | PathLike,
    data: PathLike,
    models: str | Sequence[str],
    out: PathLike,
    *,
    reference: str | None = None,
    checkpoints: Mapping[str, PathLike] | None = None,
    labels: bool = True,
    class_names: Sequence[str] | None = None,
    templates: Sequence[str] | None = None,
    max_images: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    device: str = "auto",
    amp: bool = True,
    bootstrap: int = 1000,
    fresh: bool = False,
    corrupt_at: str = "native",
    corrupt_on: str = "auto",
    target_ci_width: float | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    ood: PathLike | None = None,
) -> AuditResult:
    """Evaluate models on every corruption x severity of a plan (like ``robustlens eval``).

    ``data``: a class-per-folder tree, a flat folder (``labels=False``), a CSV/JSONL manifest or
    ``demo:textile``. ``out`` is the run folder: re-running resumes, ``fresh`` recomputes. Returns the
    ``AuditResult`` also saved as ``out/result.json``; ``write_report(out)`` renders it.
    ``corrupt_on`` (auto, cpu, device), ``target_ci_width``, ``executor`` (local, ray) and
    ``ray_address`` are the ``--corrupt-on`` etc. flags of ``robustlens eval``; ``ood`` (a folder,
    manifest or ``demo:natural``) adds OOD detection under corruption (``result.summary["ood"]``).
    """
    from robustlens.data.sources import open_images
    from robustlens.evaluation.engine import EngineOptions
    from robustlens.evaluation.engine import evaluate as run_engine
    from robustlens.evaluation.engine_options import with_execution
    from robustlens.evaluation.ood import attach_ood, with_ood
    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES
    from robustlens.preflight import check_run_inputs

    the_plan = _plan(plan)
    model_ids = _models(models)
    all_models = list(dict.fromkeys([*model_ids, *([reference] if reference else [])]))
    out_dir = _path(out, "out", must_exist=False)
    ckpts = {str(k): str(v) for k, v in (checkpoints or {}).items()}
    _choice(corrupt_at, ("native", "model"), "corrupt_at")
    execution = _execution(corrupt_on, target_ci_width, executor, ray_address)
    for name, value in (("max_images", max_images), ("batch_size", batch_size)):
        _positive(value, name)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise UserInputError(f"workers must be an integer >= 0, got {workers!r}.", field="workers")
    unknown = [m for m in ckpts if m not in all_models]
    if unknown:
        raise UserInputError(
            f"checkpoints name {', '.join(unknown)}, which is not among the models.",
            fix="Key checkpoints by a model id given in models= or reference=.",
            field="checkpoints",
        )
    tmpl = list(templates) if templates is not None else list(DEFAULT_TEMPLATES)
    if not tmpl or any("{}" not in t for t in tmpl):
        raise UserInputError(
            "Every prompt template needs a {} for the class name.",
            fix="e.g. templates=['a photo of a {}.']",
            field="templates",
        )
    data_source = str(data)
    # Everything checkable is checked before the run folder exists (as the CLI does).
    check_run_inputs(data_source, all_models, out_dir, ckpts, labelled=labels)
    names = list(class_names) if class_names else None
    images = open_images(
        data_source, labels=labels, class_names=names, max_images=max_images, seed=the_plan.seed
    )
    if not labels and names:
        images.class_names = names  # label-free, but with a label set: LFP needs predictions
    if images.labelled and images.class_names is not None and len(images.class_names) < 2:
        raise UserInputError(
            f"The data has one class ({', '.join(images.class_names)}); a labelled audit needs two.",
            fix="Add images of another class, or pass labels=False for a label-free audit.",
            field="data",
        )
    options = EngineOptions(
        batch_size=batch_size,
        workers=workers,
        device=device,
        amp=amp,
        fresh=fresh,
        templates=tmpl,
        checkpoints=ckpts,
        n_boot=int(bootstrap),
        corrupt_at=corrupt_at,
    )
    options = with_execution(options, None, **execution)
    # a missing OOD set fails before the run folder exists; the engine encodes it with each model
    options = with_ood(options, None if ood is None else str(ood), the_plan.seed)
    result = run_engine(
        the_plan,
        images,
        model_ids,
        out_dir,
        reference=reference,
        options=options,
        command=f"robustlens.evaluate(out={str(out_dir)!r})",
    )
    return attach_ood(result, out_dir, None if ood is None else str(ood), options)


def run(
    brief: DomainBrief | Mapping[str, Any] | PathLike,
    data: PathLike | None = None,
    out: PathLike | None = None,
    models: str | Sequence[str] | None = None,
    *,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    critic_base_url: str | None = None,
    critic_model: str | None = None,
    llm_timeout: float = 60.0,
    checkpoints: Mapping[str, PathLike] | None = None,
    max_images: int | None = None,
    device: str = "auto",
    workers: int | None = None,
    batch_size: int | None = None,
    corrupt_at: str = "native",
    corrupt_on: str | None = None,
    target_ci_width: float | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    on_event: Callable[[str], None] | None = None,
) -> AuditResult:
    """The whole audit from a brief (like ``robustlens run``): plan, validate, evaluate, inspect,
    iterate and write ``out/report/``. Returns the final ``AuditResult``.

    ``data`` and ``models`` override the brief's. With no LLM configured (arguments or
    ``$ROBUSTLENS_LLM_BASE_URL``) the offline expert plans and the rule critic judges. ``on_event``
    receives the agent's progress lines (default: silent). ``out`` defaults to ``runs/<domain>-<time>``.
    ``corrupt_on``, ``target_ci_width``, ``executor`` and ``ray_address`` override the brief's
    ``execution`` (None: the brief's, else the defaults), as the CLI flags of the same names do.
    """
    import re
    import time

    from robustlens.agent.session import make_services, run_brief
    from robustlens.audit import open_brief_images
    from robustlens.evaluation.engine import EngineOptions
    from robustlens.evaluation.engine_options import with_execution
    from robustlens.llm.client import LLMConfig
    from robustlens.preflight import check_run_inputs
    from robustlens.schemas import AuditResult

    the_brief = _brief(brief)
    update: dict[str, Any] = {}
    if models is not None:
        update["models"] = _models(models)
    if max_images is not None:
        _positive(max_images, "max_images")
        update["budget"] = the_brief.budget.model_copy(update={"max_images": max_images})
    if checkpoints:
        update["checkpoints"] = {
            **the_brief.checkpoints,
            **{str(k): str(v) for k, v in checkpoints.items()},
        }
    the_brief = the_brief.model_copy(update=update) if update else the_brief
    if not the_brief.models:
        raise UserInputError(
            "The brief names no model to audit.",
            fix="Add models: [ID, ...] to the brief or pass models=[...].",
            field="models",
        )
    _choice(corrupt_at, ("native", "model"), "corrupt_at")
    execution = _execution(corrupt_on, target_ci_width, executor, ray_address)
    slug = re.sub(r"[^a-z0-9]+", "-", the_brief.domain.lower()).strip("-")[:40] or "audit"
    default = Path("runs") / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = _path(out, "out", must_exist=False) if out is not None else default
    ckpts = dict(the_brief.checkpoints)
    named = [*the_brief.models, *([the_brief.reference_model] if the_brief.reference_model else [])]
    source = str(data) if data is not None else None
    check_run_inputs(None, named, run_dir, ckpts)
    open_brief_images(the_brief, source)  # the images exist and fit the labels before any planning
    llm = LLMConfig.resolve(base_url=llm_base_url, model=llm_model, timeout=llm_timeout)
    critic = LLMConfig.for_critic(llm, critic_base_url, critic_model, llm_timeout)
    options = EngineOptions(
        device=device, corrupt_at=corrupt_at, workers=workers, batch_size=batch_size, checkpoints=ckpts
    )
    options = with_execution(options, the_brief.execution, **execution)
    services = make_services(
        run_dir, llm, critic, options, source, f"robustlens.run(out={str(run_dir)!r})", None
    )
    run_brief(the_brief, services, on_event or (lambda _line: None))
    result_path = run_dir / "result.json"
    if not result_path.is_file():
        raise UserInputError(
            f"The audit in {run_dir} finished without results.",
            why="no corruption in the plan passed validation, so nothing was evaluated.",
            fix="See the run's events; relax the brief (more corruptions, other conditions) and rerun.",
        )
    return AuditResult.load(result_path)


def write_report(
    run_dir: PathLike,
    formats: str | Sequence[str] = REPORT_FORMATS,
    narrative: str | None = None,
) -> dict[str, Path]:
    """Write ``run_dir/report/`` (any of html, md, json, csv) from the stored results; returns the
    written files by format. ``narrative`` adds an executive summary labelled as the LLM's."""
    from robustlens.report.render import write_report as render

    folder = _path(run_dir, "run_dir")
    return render(folder, formats, narrative=narrative, narrative_source="llm" if narrative else "template")


def _plan(plan: Any) -> CorruptionPlan:
    from robustlens.schemas import CorruptionPlan

    return _coerce(plan, CorruptionPlan, load_plan, "plan")


def _brief(brief: Any) -> DomainBrief:
    from robustlens.schemas import DomainBrief

    return _coerce(brief, DomainBrief, load_brief, "brief")


__all__ = ["corrupt", "evaluate", "load_brief", "load_plan", "run", "write_report"]
