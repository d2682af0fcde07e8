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

from robustlens.agent.understood import summary_lines
from robustlens.errors import ToolError, UserInputError, did_you_mean
from robustlens.expert.knowledge import Question
from robustlens.expert.questionnaire import (
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
UNDERSTOOD = "understood"  # the pending question that shows the chain facts for confirmation
ACCEPT = {"", "y", "yes", "ok", "accept", "right", "correct"}


def interview_step(
    state: dict[str, Any],
    data: str | None = None,
    models: Sequence[str] = (),
    run_dir: Path | None = None,
    confirm: bool | None = None,
) -> dict[str, Any]:
    """Apply the user's reply (an answer or a command) and return the next question or the brief.

    ``data`` (``--data``) is offered as the images answer; ``models`` (``--model``) answers the models
    question, which is then never asked. With ``run_dir`` the finished brief is saved as brief.yaml.
    Once the questionnaire is complete, ``confirm`` (default: stdin is a terminal) shows what the
    expert understood and asks the user to accept or correct it; otherwise the summary is only shown.
    """
    answers = dict(state.get("answers") or {})
    drafts = dict(state.get("drafts") or {})
    given = list(state.get("given") or [])
    if models and "models" not in given:
        answers["models"], given = list(models), [*given, "models"]
    pending, reply = state.get("pending"), state.get("reply")
    notice = ""
    if pending and reply is not None and pending.get("field") == UNDERSTOOD:
        update, reopen = _understood_reply(pending, str(reply), answers, given, run_dir)
        if update is not None:
            return update
        drafts[reopen] = shown_default(BY_FIELD[reopen], answers.pop(reopen))
    elif pending and reply is not None:
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
        done = f"Brief complete (offline expert questionnaire): {brief.domain}."
        return {
            "answers": answers,
            "drafts": {},
            "given": given,
            **confirm_brief(brief, run_dir, confirm, [done]),
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
    """RUN/brief.yaml: the finished interview, runnable again with ``robustlens run RUN/brief.yaml``.

    What the expert understood heads the file as comments; the user's corrections are in the brief
    itself (``chain``, ``deployment_conditions``), so a rerun reproduces them."""
    from robustlens.evaluation.store import RunStore

    header = ["robustlens brief, saved by `robustlens chat`", *summary_lines(brief)]
    return RunStore(run_dir).write_brief(brief, header)


def confirm_brief(
    brief: DomainBrief, run_dir: Path | None = None, confirm: bool | None = None, events: Sequence[str] = ()
) -> dict[str, Any]:
    """The state update for a finished brief (offline questionnaire or the LLM's submitted brief).

    Interactive: a question showing what the expert understood (chain facts and conditions, each with
    the brief's words) that the user accepts or corrects. Otherwise nothing is asked: the summary is
    an event (printed once, kept in the checkpointed transcript) and the brief is final.
    """
    lines = summary_lines(brief)
    if lines and (confirm if confirm is not None else _interactive()):
        return {
            "pending": _understood_question(brief, lines),
            "reply": None,
            "brief": None,
            "events": list(events),
        }
    if run_dir is not None:
        save_brief(run_dir, brief)
    summary = ["\n".join(lines)] if lines else []
    return {
        "brief": brief.model_dump(mode="json"),
        "pending": None,
        "reply": None,
        "events": [*events, *summary],
    }


# --------------------------------------------------------------------------- helpers


def _interactive() -> bool:
    """Ask only a person at a terminal: piped or scripted answers never get an extra question."""
    import sys

    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _understood_question(brief: DomainBrief, lines: list[str], **extra: Any) -> dict[str, Any]:
    from robustlens.agent.understood import QUESTION

    return {
        "field": UNDERSTOOD,
        "text": "\n".join(lines) + "\n" + QUESTION,
        "default": None,
        "brief": brief.model_dump(mode="json"),
        "error": None,
        "notice": None,
        **extra,
    }


def _understood_reply(
    pending: dict[str, Any], reply: str, answers: dict[str, Any], given: list[str], run_dir: Path | None
) -> tuple[dict[str, Any] | None, str]:
    """Accept, correct, or go back to a questionnaire answer: (update, "") or (None, field to reopen)."""
    from robustlens.agent.understood import HELP, apply_corrections

    brief = DomainBrief.model_validate(pending["brief"])
    text = reply.strip()
    word, _, arg = text.partition(" ")
    word, arg = word.lower(), arg.strip()
    if text.lower() in ACCEPT:
        if run_dir is not None:
            save_brief(run_dir, brief)
        done = "Understood as shown; the expert plans from these facts."
        return {"brief": brief.model_dump(mode="json"), "pending": None, "reply": None, "events": [done]}, ""
    if word in ("help", "?") and not arg:
        return _reask(pending, notice=f"{HELP}\nEnter accepts."), ""
    if word == "back" and not arg:
        answered = [f for f in BY_FIELD if f in answers and f not in given]
        if not answered:  # the LLM's brief: there is no questionnaire to go back to
            return _reask(
                pending, notice="There is no earlier question; correct the facts or press Enter."
            ), ""
        return None, answered[-1]
    if word == "edit" and arg and _names_a_field(arg):
        problem = _edit_problem(arg, arg, answers, given)
        if not problem and arg not in answers:
            problem = f"{arg} was not asked in this chat; correct the facts here instead."
        return (_reask(pending, notice=problem), "") if problem else (None, arg)
    try:
        changed, notes = apply_corrections(brief, text)
        lines = summary_lines(changed)
    except UserInputError as exc:
        return _reask(pending, error=exc.message()), ""
    question = _understood_question(changed, lines, notice="Changed: " + " ".join(notes))
    return {"pending": question, "reply": None}, ""


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
