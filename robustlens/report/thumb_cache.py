"""The report's regenerated thumbnails, kept in ``RUN/.thumbs`` so a rebuild does not remake them.

The severity strips and the failure gallery regenerate corrupted images at the source's native
resolution (see gallery.py): on 12-megapixel photos one corruption takes ~0.5-1 s, and a report of
8 specs x 5 severities spent most of its ~25 s on them. Each thumbnail is a pure function of the
source file, the spec, the severity, the seed, the thumbnail size and the code, so a rebuild
(``robustlens report RUN`` after ``robustlens run``, another format, a new narrative) reads the PNG
bytes back instead: the report stays byte-identical. The key holds the source's size and mtime (an
edited image is remade) and the robustlens version with ``FORMAT`` (bumped when thumbnails change).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robustlens import __version__
from robustlens.evaluation.store import atomic_write_bytes

FORMAT = 1  # bump when the thumbnail pixels or encoding change (gallery.thumbnail_png, corruptions)
FOLDER = ".thumbs"


class ThumbCache:
    """PNG bytes by key under ``RUN/.thumbs``; ``ThumbCache(None)`` makes every thumbnail anew."""

    def __init__(self, run_dir: Path | None) -> None:
        self.folder = Path(run_dir) / FOLDER if run_dir is not None else None

    def png(self, source: Path, key: dict[str, Any], make: Callable[..., bytes], *args: Any) -> bytes:
        """The cached thumbnail of ``source`` under ``key`` (spec, severity, seed, size), else
        ``make(*args)``, stored for the next build. An unreadable or unwritable cache is only skipped."""
        if self.folder is None:
            return make(*args)
        try:
            st = source.stat()
            parts = [__version__, FORMAT, str(source.resolve()), st.st_size, st.st_mtime_ns, key]
            digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
            path = self.folder / f"{digest[:40]}.png"
            if path.is_file():
                return path.read_bytes()
        except OSError:
            return make(*args)
        data = make(*args)
        with contextlib.suppress(OSError):  # a read-only run folder still gets its report
            atomic_write_bytes(path, data)
        return data
