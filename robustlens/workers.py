"""Start worker processes without forking a threaded parent.

By the time robustlens starts workers the parent has usually run OpenCV (validation, previews),
torch and the encoder, all of which keep thread pools. A plain ``fork`` copies those pools'
locks in whatever state they are in, and the child can block forever (seen as a DataLoader worker
stuck in ``pthread_cond_destroy`` inside OpenCV on ordinary photos). So workers come from a
fork server: a fresh, single-threaded process that has only imported the heavy modules, and
forks cheap, clean children on request. ``init_worker`` then pins OpenCV and torch to one thread
before any image is touched: the pool of processes gives the parallelism.

As with any non-fork start method, a script that calls robustlens with workers must guard its
entry point with ``if __name__ == "__main__":`` (the fork server imports the main module once).
"""

from __future__ import annotations

import atexit
import io
import multiprocessing
import os
import pickle
import pickletools
import signal
import sys
import time
from collections.abc import Sequence
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

# Imported once by the fork server, so a worker starts in milliseconds instead of re-importing
# torch/OpenCV/albumentations. "__main__" lets a console script's main module load there once.
PRELOAD = ("__main__", "robustlens.evaluation.loader", "robustlens.data.corrupted_copies")


def worker_context(*payload: object, modules: Sequence[str] = ()) -> BaseContext:
    """The multiprocessing context of every robustlens worker pool (DataLoader, ProcessPool).

    Starts the fork server if needed, preloading ``modules`` and what unpickling ``payload`` (e.g.
    a model's image transform, sent to every worker) imports; call it early so the server loads
    while the parent does other work. Once running, the server keeps its modules: a later
    payload's extra modules are imported by each worker instead (correct, only slower).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows: fresh interpreters
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    preload = [*PRELOAD, *modules]
    for obj in payload:
        preload += [m for m in pickled_modules(obj) if m not in preload]
    ctx.set_forkserver_preload(preload)
    forkserver.ensure_running()
    atexit.unregister(stop_fork_server)  # registered once, however many pools a run starts
    atexit.register(stop_fork_server, os.getpid())
    return ctx


def stop_fork_server(owner: int) -> None:
    """Ends the fork server when robustlens's process exits.

    The server inherits the process's stdout and stderr and only notices its parent is gone once it
    has imported everything it preloads. A command that ends first (a clear error, a short run) would
    otherwise leave its pipe open for that long: ``robustlens eval ... | tee log`` seems to hang
    seconds after the command is done, and so does a caller waiting for the output to end. At exit
    the server has no work left (pools and DataLoader workers are shut down before interpreter exit).
    Only ``owner``, the process that started the server, stops it (not a child forked from it).
    """
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is None or os.getpid() != owner:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(500):  # reaped before this process ends (at most 5 s; SIGTERM ends it at once)
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.01)
    except OSError:  # gone already, or reaped elsewhere
        pass


def pickled_modules(obj: object) -> list[str]:
    """Modules whose classes or functions ``obj``'s pickle refers to (imported when unpickled)."""
    try:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # unpicklable payloads fail loudly later, where they are sent
        return []
    found: list[str] = []
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append(strings[-2])
        elif op.name in ("GLOBAL", "INST"):
            found.append(str(arg).split(" ")[0])
    # An object's classes are imported here already, which also drops strings that are not modules.
    skip = ("builtins", "copyreg", "__main__")
    return list(dict.fromkeys(m for m in found if m in sys.modules and m not in skip))


def init_worker(*_: object) -> None:
    """Single-threaded libraries in a worker; runs before the worker touches any image."""
    os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"
    from robustlens.quiet import apply_in_worker

    apply_in_worker()  # a fork-server child does not inherit the parent's warning filters
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
