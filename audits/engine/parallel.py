"""Work handed to a second core: a forked child process computes a result while the parent goes on.

An audit has two long stretches that do not depend on each other: matching the contact records
(board tables only) and building the household graph and validating the export; and, at the
end, writing the runbooks and writing the other reports. Python runs one thread at a time, so
the second core is used through a child process. It is *forked*: it starts with the parent's
memory (the loaded board) without copying or pickling it; only its result travels back, pickled.

Anything may refuse the second core (no ``fork`` on the platform, ``CONNECT_AUDIT_WORKERS=1``,
one core): :func:`start` then returns a job that does the work in the parent, on first
:meth:`Job.result`, so a caller never has two code paths. A child that dies (out of memory,
killed) is reported and its work is done again in the parent: slower, never wrong.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

log = logging.getLogger(__name__)

WORKERS_VARIABLE = "CONNECT_AUDIT_WORKERS"


def available() -> bool:
    """True when work can go to a second process: ``fork`` exists, there is more than one core,
    and ``CONNECT_AUDIT_WORKERS`` (when set) asks for more than one."""
    wanted = os.environ.get(WORKERS_VARIABLE, "").strip()
    if wanted:
        try:
            if int(wanted) <= 1:
                return False
        except ValueError:
            log.warning("%s=%r is not a number; using the default", WORKERS_VARIABLE, wanted)
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1


def _worker_setup(task: tuple[Callable[..., Any], tuple, dict]) -> None:
    """Runs first in every worker, given the job's task: a forked worker inherits it with the
    parent's memory, so the function's arguments (a whole board) are never pickled. A worker
    must never outlive the audit or leave half its output behind:

    - the kernel ends it if the audit process dies, however it dies (Linux ``PR_SET_PDEATHSIG``;
      elsewhere a killed audit leaves the worker to finish on its own);
    - SIGTERM (how :meth:`Job.cancel` ends it) becomes ``SystemExit``, so ``finally`` blocks
      and cleanups (a half-written runbooks folder) run;
    - its standard streams are fresh: a lock the parent's progress thread held at the moment
      of the fork would otherwise hang the worker's exit, and a worker prints nothing anyway.
    """
    _parent[0] = os.getppid()
    _task[:] = [task]
    signal.signal(signal.SIGTERM, _exit_on_term)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # no prctl (not Linux): a killed audit's worker finishes its task, then exits
    if os.getppid() == 1:  # the audit died before the line above took effect
        os._exit(1)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


_PR_SET_PDEATHSIG = 1


def _exit_on_term(signum, frame) -> None:
    if os.getppid() != _parent[0]:
        # The audit is gone: nobody will read a result or end this worker's task loop.
        os._exit(128 + signum)
    raise SystemExit(128 + signum)


_parent = [0]
_task: list[tuple[Callable[..., Any], tuple, dict]] = []
"""In a worker only: the task it inherited (:func:`_worker_setup`)."""


def _run_task() -> Any:
    function, args, kwargs = _task[0]
    return function(*args, **kwargs)


class Job:
    """A result being computed, in a child process or (when none is available) on demand."""

    def __init__(self, function: Callable[..., Any], args: tuple, kwargs: dict,
                 background: bool) -> None:
        self._function, self._args, self._kwargs = function, args, kwargs
        self._executor: ProcessPoolExecutor | None = None
        self._future = None
        self._done = False
        self._value: Any = None
        if background:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_setup, initargs=((function, args, kwargs),))
            self._future = self._executor.submit(_run_task)

    @property
    def in_background(self) -> bool:
        return self._future is not None

    def result(self) -> Any:
        """The value (computed here if no child could); an exception of the work is raised here
        as if the work had run in this process."""
        if self._done:
            return self._value
        if self._future is not None:
            try:
                self._value = self._future.result()
            except BrokenProcessPool:
                self._release()
                log.warning("the background process ended without a result (out of memory?); "
                            "doing its work in the main process")
                self._value = self._function(*self._args, **self._kwargs)
            except BaseException:
                # The work's own error, or this process interrupted while waiting (Ctrl-C):
                # end the worker now rather than wait for it to finish.
                self.cancel()
                raise
            else:
                self._release()
        else:
            self._value = self._function(*self._args, **self._kwargs)
        self._done = True
        self._function = self._args = self._kwargs = None  # type: ignore[assignment]
        return self._value

    def cancel(self) -> None:
        """Stop waiting for the work (the child is ended; nothing is computed). A no-op once
        the result is taken."""
        if self._done:
            return
        if self._executor is not None:
            for process in list((self._executor._processes or {}).values()):
                process.terminate()
            self._release()
        self._done = True
        self._value = None

    def _release(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._future = None


def start(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
    """``function(*args, **kwargs)``, started in a forked child when a second core is available
    (see :func:`available`), else deferred to :meth:`Job.result`. Its result must pickle."""
    return Job(function, args, kwargs, background=available())
