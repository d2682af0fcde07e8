"""The offline chat interview: one questionnaire step per user reply.

Each answer is checked when it is given, against what the user said before and against the disk
(the images exist, the class names fit the folders found, the model ids resolve, checkpoints exist),
so a mistake is re-asked at once with the reason instead of surfacing after planning. Replies can
also be commands (``back``, ``help``, ``edit FIELD``); Enter accepts the shown default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from robustlens.errors import ToolError, UserInputError, did_you_mean
from robustlens.llm.knowledge import Question
from robustlens.llm.offline import (
    QUESTIONS,
    apply_answer,
    brief_from_answers,
    next_question,
    shown_default,
)
from robustlens.schemas import DomainBrief

BY_FIELD = {q.field: q for q in QUESTIONS}
COMMANDS = (
    "Commands: 'back' (previous question), 'help', 'edit FIELD' (change an earlier answer; fields: "
    + ", ".join(BY_FIELD)
    + "). Enter accepts the default shown in brackets."
)
BRIEF_FILE = "brief.yaml"


def interview_step(
    state: dict[str, Any], data: str | None = None, models: Sequence[str] = (), run_dir: Path | None = None
) -> dict[str, Any]:
    """Apply the user's reply (an answer or a command) and return the next question or the brief.

    ``data`` (``--data``) is offered as the images answer; ``models`` (``--model``) answers the models
    question, which is then never asked. With ``run_dir`` the finished brief is saved as brief.yaml.
    """
    answers = dict(state.get("answers") or {})
    drafts = dict(state.get("drafts") or {})
    given = list(state.get("given") or [])
    if models and "models" not in given:
        answers["models"], given = list(models), [*given, "models"]
    pending, reply = state.get("pending"), state.get("reply")
    notice = ""
    if pending and reply is not None:
        current = BY_FIELD.get(str(pending.get("field")))
        text = str(reply).strip()
        word, _, arg = text.partition(" ")
        word, arg = word.lower(), arg.strip()
        if current is None:  # a stale question (e.g. from an older version): ask afresh
            pass
        elif word in ("help", "?") and not arg:
            return _reask(pending, notice=f"{current.help}\n{COMMANDS}")
        elif word == "back" and not arg:
            previous = _previous(current.field, answers, given)
            if previous is None:
                return _reask(pending, notice="This is the first question; there is nothing to go back to.")
            drafts[previous] = shown_default(BY_FIELD[previous], answers.pop(previous))
        elif word == "edit" and _names_a_field(arg):
            problem = _edit_problem(arg, current.field, answers, given)
            if problem:
                return _reask(pending, notice=problem)
            if arg != current.field:
                drafts[arg] = shown_default(BY_FIELD[arg], answers.pop(arg))
        else:
            answer = text or str(pending.get("default") or "")
            try:
                answers = check_answer(current, apply_answer(answers, current, answer), data)
            except (UserInputError, ToolError) as exc:
                error = exc.message() if isinstance(exc, UserInputError) else str(exc)
                return _reask(pending, error=error)
            drafts.pop(current.field, None)
            answers, drafts, notice = _after_answer(current.field, answers, drafts, data)
    question = next_question(answers)
    if question is None:
        brief = brief_from_answers(answers)
        if run_dir is not None:
            save_brief(run_dir, brief)
        return {
            "answers": answers,
            "drafts": {},
            "given": given,
            "brief": brief.model_dump(mode="json"),
            "pending": None,
            "reply": None,
            "events": [f"Brief complete (offline expert questionnaire): {brief.domain}."],
        }
    default = drafts.get(question.field)
    if default is None:
        default = data if question.field == "image_source" and data else shown_default(question)
    return {
        "answers": answers,
        "drafts": drafts,
        "given": given,
        "reply": None,
        "pending": {
            "field": question.field,
            "text": question.prompt,
            "help": question.help,
            "default": default,
            "notice": notice or None,
            "error": None,
        },
    }


def check_answer(question: Question, answers: dict[str, Any], data: str | None = None) -> dict[str, Any]:
    """Check a parsed answer against the disk and the earlier answers; UserInputError names the field."""
    field = question.field
    value = answers.get(field)
    if field == "image_source":
        return {**answers, field: _check_source(value or data)}
    if field == "labels" and value is not None:
        return {**answers, field: _check_labels(value, answers.get("image_source") or data)}
    if question.kind == "models" and value:
        checkpoints = dict(answers.get("checkpoints") or {})
        for model in value if isinstance(value, list) else [value]:
            check_model(model, checkpoints.get(model), field)
        return {**answers, "checkpoints": {m: _path_text(p) for m, p in checkpoints.items()}}
    return answers


def check_model(model: str, checkpoint: str | None = None, field: str = "models") -> None:
    """Fast local checks (preflight's): the id resolves, local folders and checkpoint files exist."""
    from robustlens.preflight import check_checkpoint, check_model_id

    try:
        check_model_id(model)
        if checkpoint is not None:
            check_checkpoint(model, checkpoint)
    except UserInputError as exc:
        raise UserInputError(exc.what, exc.why, exc.fix, field=field) from None


def save_brief(run_dir: Path, brief: DomainBrief) -> Path:
    """RUN/brief.yaml: the finished interview, runnable again with ``robustlens run RUN/brief.yaml``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / BRIEF_FILE
    text = yaml.safe_dump(brief.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    path.write_text("# robustlens brief, saved by `robustlens chat`\n" + text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- helpers


def _reask(pending: dict[str, Any], error: str | None = None, notice: str | None = None) -> dict[str, Any]:
    return {"pending": {**pending, "error": error, "notice": notice}, "reply": None}


def _previous(field: str, answers: dict[str, Any], given: list[str]) -> str | None:
    fields = list(BY_FIELD)
    before = fields[: fields.index(field)]
    answered = [f for f in before if f in answers and f not in given]
    return answered[-1] if answered else None


def _names_a_field(arg: str) -> bool:
    """'edit FIELD' is a command when FIELD is (close to) a question's field; 'edit suite' is an answer."""
    import difflib

    return not arg or (" " not in arg and bool(difflib.get_close_matches(arg, BY_FIELD, n=1, cutoff=0.75)))


def _edit_problem(field: str, current: str, answers: dict[str, Any], given: list[str]) -> str:
    if field not in BY_FIELD:
        hint = did_you_mean(field, BY_FIELD) if field else ""
        return f"No question is named {field!r}. {hint} Fields: {', '.join(BY_FIELD)}.".replace("  ", " ")
    if field in given:
        return f"{field} was given on the command line (--model); start the chat again to change it."
    if field != current and field not in answers:
        return f"{field} has not been asked yet; it comes later."
    return ""


def _after_answer(
    field: str, answers: dict[str, Any], drafts: dict[str, str], data: str | None
) -> tuple[dict[str, Any], dict[str, str], str]:
    """Keep later answers consistent: new images re-check (or re-ask) the class names."""
    if field != "image_source":
        return answers, drafts, ""
    classes = _found_classes(answers.get("image_source") or data)
    if "labels" not in answers:
        if "labels" not in drafts:  # the names found, or 'none' where the images carry no labels
            drafts["labels"] = ", ".join(classes) if classes else "none"
        return answers, drafts, ""
    labels = answers.get("labels")
    try:
        if labels is not None:
            _check_labels(labels, answers.get("image_source") or data)
    except UserInputError as exc:
        answers = {k: v for k, v in answers.items() if k != "labels"}
        drafts["labels"] = ", ".join(classes or [])
        return answers, drafts, f"The class names no longer fit these images ({exc.what}); asked again."
    return answers, drafts, ""


def _check_source(value: str | None) -> str:
    from robustlens.data.sources import open_images

    if not value:
        raise UserInputError(
            "The audit needs images.",
            fix="Give a class-per-folder tree, a flat folder, a .csv/.jsonl manifest, or demo:textile.",
            field="image_source",
        )
    text = value if value.startswith("demo:") else _path_text(value)
    try:
        open_images(text)
    except UserInputError as exc:
        raise UserInputError(exc.what, exc.why, exc.fix, field="image_source") from None
    return text


def _found_classes(source: str | None) -> list[str] | None:
    from robustlens.data.sources import open_images

    if not source:
        return None
    try:
        return open_images(source).class_names
    except UserInputError:
        return None


def _check_labels(labels: list[str], source: str | None) -> list[str]:
    """Class names must fit the classes found: one per class folder (or manifest label), and names
    that are folder names must all be folder names (then they are put in the folders' label order)."""
    if not source:
        return labels
    classes = _found_classes(source)
    if classes is None:
        raise UserInputError(
            f"{source} has no classes: no class subfolders (or no label column), so images carry no labels.",
            why="zero-shot accuracy needs to know each image's class.",
            fix="Answer 'none' for a label-free audit, or type 'back' and give a class-per-folder tree.",
            field="labels",
        )
    if len(labels) != len(classes):
        raise UserInputError(
            f"{len(labels)} class names given for {len(classes)} classes.",
            why=f"the classes found, in label order, are: {', '.join(classes)}.",
            fix="Give one name per class in that order (Enter takes the names found).",
            field="labels",
        )
    found = {c.lower(): c for c in classes}
    matching = [name for name in labels if name.lower() in found]
    if matching and len(matching) != len(labels):
        strays = [name for name in labels if name.lower() not in found]
        raise UserInputError(
            f"Some class names are folder names and some are not: {', '.join(strays)}.",
            why=f"the classes found, in label order, are: {', '.join(classes)}.",
            fix="Use the folder names, or one descriptive name per folder in that order.",
            field="labels",
        )
    if matching:
        return list(classes)
    return labels


def _path_text(value: str) -> str:
    """A typed path as an absolute path, so brief.yaml runs from any folder."""
    return str(Path(value).expanduser().resolve())
