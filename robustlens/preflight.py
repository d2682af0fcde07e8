"""Check a run's inputs before anything is created.

A run that fails after its folder exists leaves a manifest behind, and the corrected retry is then
refused as "a different audit". So every cheap check (data path, model ids, checkpoint files, the
--out folder, the class count) runs first, and a mistake costs nothing but the error message.
``eval``, ``run`` and ``chat`` all call :func:`check_run_inputs`.
"""

from __future__ import annotations

import os
from pathlib import Path

from robustlens.errors import UserInputError, did_you_mean

FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_run_inputs(
    data: str | None,
    models: list[str],
    out: Path,
    checkpoints: dict[str, str] | None = None,
    labelled: bool | None = None,
    device: str | None = None,
) -> None:
    """Raise ``UserInputError`` for the first problem found; create nothing.

    ``data`` None skips the data checks (chat asks for it later); ``labelled`` True demands at least
    two classes in a class-folder tree; None or False checks nothing about classes. ``device``
    (``--device``) is checked against this machine (``cuda:7`` without that GPU is a user mistake).
    """
    if device is not None:
        from robustlens.models.base import pick_device

        pick_device(device)
    if data is not None:
        check_data(data, labelled)
    for model_id in models:
        check_model_id(model_id)
    for model_id, path in (checkpoints or {}).items():
        check_checkpoint(model_id, path)
    check_out(out)


def check_data(data: str, labelled: bool | None = None) -> None:
    """The data path exists (or names a bundled demo set); a labelled folder has >= 2 classes."""
    if data.startswith("demo:"):
        return  # bundled sets: the data layer names the known ones
    path = Path(data)
    if not path.exists():
        raise UserInputError(
            f"Dataset not found: {data}",
            why="--data must be a folder of images, a .csv/.jsonl manifest, or demo:textile.",
            fix="Check the path (relative paths are taken from the current directory).",
            field="data",
        )
    if labelled and path.is_dir():
        check_class_count(path)


def check_class_count(folder: Path) -> None:
    """A labelled (class-per-subfolder) tree needs two classes: accuracy over one class is meaningless."""
    from robustlens.data.sources import is_image_path

    try:
        subdirs = [p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")]
        classes = [d.name for d in subdirs if any(is_image_path(p) for p in d.rglob("*"))]
    except OSError:
        return  # unreadable: the data loader reports it
    if len(classes) == 1:
        raise UserInputError(
            f"{folder} has one class folder ({classes[0]}); a labelled audit needs at least two.",
            why="zero-shot classification picks among the class names; with one class every answer is right.",
            fix="Add a folder per class, or use --labels none for a label-free audit.",
            field="data",
        )


def check_model_id(model_id: str) -> None:
    """The id has a known prefix and, where it can be known offline, names something that exists."""
    from robustlens.models.registry import parse_model_id

    prefix, rest = parse_model_id(model_id)
    if prefix == "demo":
        from robustlens.models.demo import DEMO_MODELS

        if rest not in DEMO_MODELS:
            raise UserInputError(
                f"Unknown demo model {model_id!r}.",
                fix=(
                    did_you_mean(model_id, [f"demo:{m}" for m in DEMO_MODELS])  # what the user types
                    + f" Known: {', '.join('demo:' + m for m in DEMO_MODELS)}."
                ).strip(),
                field="model",
            )
    elif prefix == "hf" and rest.startswith(("/", "./", "../", "~")):
        local = Path(rest).expanduser()
        if not local.is_dir():
            raise UserInputError(
                f"Model folder not found: {rest}",
                why="hf:/path loads a model saved with save_pretrained from that folder.",
                fix="Check the path, or use a Hugging Face id like hf:openai/clip-vit-base-patch32.",
                field="model",
            )
    elif prefix == "openclip" and not rest.startswith("hf-hub:"):
        from robustlens.models.openclip import list_architectures

        arch = rest.split("/", 1)[0]
        known = list_architectures()
        if arch not in known:
            raise UserInputError(
                f"Unknown open_clip architecture {arch!r} in {model_id!r}.",
                fix=(did_you_mean(arch, known) + " Run `robustlens models list --all`.").strip(),
                field="model",
            )


def check_checkpoint(model_id: str, path: str | Path) -> None:
    """A checkpoint names a readable file."""
    p = Path(path).expanduser()
    if not p.is_file() or not os.access(p, os.R_OK):
        raise UserInputError(
            f"Checkpoint for {model_id} not found: {path}",
            why="--checkpoint (or checkpoints: in the brief) must name a readable weights file.",
            fix="Check the path to the .pt / .bin / .safetensors file.",
            field="checkpoint",
        )


def check_out(out: Path) -> None:
    """--out can hold a run: not a file, not a system folder, and writable (or creatable) by us."""
    from robustlens.evaluation.store import check_run_folder

    out = Path(out).expanduser()
    resolved = out.resolve()
    for root in FORBIDDEN_ROOTS:
        if resolved == root or root in resolved.parents:
            raise UserInputError(
                f"--out {out} is under {root}, a system folder.",
                why=f"{root} is a virtual file system of the kernel, not a place for files.",
                fix="Give --out a folder in your home or project directory.",
                field="out",
            )
    check_run_folder(out)  # a file, or a folder robustlens did not make
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserInputError(
            f"--out {out} cannot be created: {existing} is a file.",
            fix="Give --out a path whose parent folders are folders.",
            field="out",
        )
    if not os.access(existing, os.W_OK | os.X_OK) or _read_only_mount(existing):
        raise UserInputError(
            f"--out {out} is not writable ({existing} is read-only).",
            why="a run writes its results into that folder.",
            fix="Give --out a folder you can write to.",
            field="out",
        )


def _read_only_mount(path: Path) -> bool:
    """True on a read-only file system (os.access says writable there for root)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
