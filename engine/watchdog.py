"""A CPU budget for every step that runs a diagram, enforced from outside the step's thread.

The sandbox checks its own budget inside the scripts it compiles, but SpiffWorkflow's own loops
(a cycle timer of period zero, a gateway loop) and single C-level calls (``str()`` of a list
sharing one big text a million times) never reach those checks. So a watchdog thread reads the
CPU clock of each guarded thread; a step past ``BPMDESK_STEP_SECONDS`` gets :class:`StepAborted`
raised into it (at its next bytecode), which unwinds the unit of work (rolled back: nothing of the
step is saved) and reaches the user as a :class:`ProcessError`.

A C call holding the interpreter lock runs no bytecode and lets no thread run, the watchdog
included. For that, processes that serve (``bpmdesk serve``, ``bpmdesk scheduler``) call
:func:`guard_process`: their address space is capped at ``BPMDESK_MEMORY_MB`` (a call building a
terabyte-long text fails with MemoryError, and the step with it), and faulthandler's own C thread,
which needs no interpreter lock, ends the process a grace period after the earliest deadline of a
step (or after a shutdown was asked for, :func:`exit_within`). The transaction then dies with its
connection, as after ``kill -9``; gunicorn or the service manager starts the process again.
"""
from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import resource
import sys
import threading
import time
from typing import Iterator

from engine import limits
from engine.errors import ProcessError

POLL_S = 0.05
HARD_EXIT_GRACE_S = 10.0


class StepAborted(BaseException):
    """Raised into a step past its budget. A BaseException, so no ``except Exception`` in the
    library or a script can swallow it."""


class _Guarded:
    def __init__(self, thread_id: int, budget_s: float):
        self.thread_id = thread_id
        self.clock = time.pthread_getcpuclockid(thread_id)
        self.started = time.clock_gettime(self.clock)
        self.budget_s = budget_s
        self.deadline = time.monotonic() + budget_s  # wall time: for the hard exit only
        self.aborted = False

    def over(self) -> bool:
        return time.clock_gettime(self.clock) - self.started > self.budget_s


class _Watchdog:
    """One thread per process watching every guarded step (one per thread: an inner step of a
    guarded one is part of it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: dict[int, _Guarded] = {}
        self.hard_exit = False
        self.exit_at: float | None = None  # a shutdown's deadline (monotonic)
        self.thread: threading.Thread | None = None

    def enter(self, budget_s: float) -> _Guarded | None:
        thread_id = threading.get_ident()
        with self.lock:
            if thread_id in self.steps:
                return None
            step = self.steps[thread_id] = _Guarded(thread_id, budget_s)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._watch, name="bpmdesk-step-watchdog", daemon=True)
                self.thread.start()
            self.arm_hard_exit()
        return step

    def leave(self, step: _Guarded) -> bool:
        """Stop watching; True if the step was aborted. An abort not yet raised is cancelled,
        so it cannot land in the code after the step."""
        with self.lock:
            self.steps.pop(step.thread_id, None)
            if step.aborted:
                _raise_in(step.thread_id, None)
            self.arm_hard_exit()
        return step.aborted

    def _watch(self) -> None:
        while True:
            time.sleep(POLL_S)
            with self.lock:
                for step in self.steps.values():
                    if not step.aborted and step.over():
                        step.aborted = True
                        _raise_in(step.thread_id, StepAborted)

    def arm_hard_exit(self) -> None:
        """(Under the lock.) faulthandler's timer for the earliest deadline, or none."""
        deadlines = [step.deadline + HARD_EXIT_GRACE_S for step in self.steps.values()] if self.hard_exit else []
        if self.exit_at is not None:
            deadlines.append(self.exit_at)
        if deadlines:
            faulthandler.dump_traceback_later(max(min(deadlines) - time.monotonic(), 0.001), exit=True,
                                              file=sys.stderr)
        else:
            faulthandler.cancel_dump_traceback_later()


_WATCHDOG = _Watchdog()


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in another thread at its next bytecode (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exception) if exception else None)


def guard_process() -> None:
    """For a process that serves (a web worker, a scheduler): cap its memory at
    ``BPMDESK_MEMORY_MB`` and end it if a step stays stuck in C code past its budget."""
    megabytes = limits.number(limits.MEMORY_MB)
    if megabytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = megabytes * 2**20 if hard == resource.RLIM_INFINITY else min(megabytes * 2**20, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    with _WATCHDOG.lock:
        _WATCHDOG.hard_exit = True
        _WATCHDOG.arm_hard_exit()


def exit_within(seconds: float) -> None:
    """A shutdown was asked for: if the process has not ended ``seconds`` from now (a step that
    will not finish), it ends there, its open transaction rolled back with its connection."""
    with _WATCHDOG.lock:
        _WATCHDOG.exit_at = time.monotonic() + seconds
        _WATCHDOG.arm_hard_exit()


@contextlib.contextmanager
def step_budget(what: str) -> Iterator[None]:
    """Run one step (a start, completion or firing of ``what``) within ``BPMDESK_STEP_SECONDS`` of CPU."""
    budget_s = limits.seconds(limits.STEP_SECONDS)
    step = _WATCHDOG.enter(budget_s) if budget_s else None
    if step is None:
        yield
        return
    try:
        yield
    except StepAborted:
        pass
    finally:
        aborted = _leave(step)
    if aborted:  # also when the abort came as the step ended: it ran too long all the same
        raise ProcessError(f"{what}运行超过 {budget_s:g} 秒（{limits.STEP_SECONDS.env}）仍未结束，已中止，"
                           "本次操作未保存。请联系流程管理员检查流程图（循环或定时器）。")


def _leave(step: _Guarded) -> bool:
    """``leave``, even if the abort lands while it is on its way (it lands once: then it is done)."""
    while True:
        try:
            return _WATCHDOG.leave(step)
        except StepAborted:
            continue
