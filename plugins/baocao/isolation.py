"""Read and check received files in worker processes, so that no file can stop the intake.

A ``ParsePool`` keeps a few worker processes (forked from the caller, so they share the
loaded programme and code). Each worker reads one file at a time, with an address-space
limit (``memory_mb`` above what it had when it started) and a CPU-time limit per file; a
native crash (an abort in a C or Rust library), an out-of-memory or an overrun ends only
that worker: its file gets a parse result that rejects it with a Vietnamese "could not be
processed" problem, a new worker takes its place and the other files go on. Workers handle
many files each (results come back over a pipe); merging stays in the calling process.

``submit`` and ``collect`` let a caller keep the workers busy while it does other work
(issue 17's pipelining); ``parse_many`` is the simple blocking form.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from baocao.parsing import ParsedSubmission, Problem, parse_submission
from baocao.programme import Programme

log = logging.getLogger(__name__)
DEFAULT_MEMORY_MB = 1024
DEFAULT_SECONDS = 60
RULE = "UNPROCESSABLE"
_WHY = {
    "memory": "việc đọc tệp cần quá nhiều bộ nhớ",
    "time": "việc đọc tệp kéo dài quá thời gian cho phép",
    "crash": "chương trình đọc tệp bị dừng đột ngột",
}


def unprocessable(prog: Programme, unit_code: str, why: str) -> ParsedSubmission:
    """The parse result of a file that could not be read at all (``why``: a key of
    ``_WHY`` or a Vietnamese phrase): rejected, with one problem for the sender."""
    reason = _WHY.get(why, why)
    sub = ParsedSubmission(programme=prog.code, unit=unit_code, period="")
    sub.problems.append(Problem(
        f"Hệ thống không xử lý được tệp này ({reason}). Tệp gốc đã được lưu lại và bộ phận "
        "kỹ thuật đã được báo. Hãy mở tệp bằng Excel, lưu lại ở định dạng .xlsx (Excel "
        "Workbook) rồi gửi lại", rule=RULE))
    return sub


@dataclass
class Job:
    """One file to read: ``key`` names it in the results."""

    key: Any
    data: bytes
    unit_code: str
    size: int


class _Worker:
    """One forked worker process and the parent's end of its pipe."""

    def __init__(self, prog: Programme, memory_mb: int, seconds: int,
                 siblings: Iterable[_Worker]) -> None:
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            code = 0
            try:
                parent_end.close()
                for other in siblings:  # so each worker sees EOF when the parent goes
                    other.conn.close()
                _serve(Connection(child_end.detach()), prog, memory_mb, seconds)
            except BaseException:  # noqa: BLE001 - the parent sees the exit code
                import traceback

                traceback.print_exc()  # to the inherited stderr: the task's log
                code = 70
            finally:
                os._exit(code)
        child_end.close()
        self.pid = pid
        self.conn = Connection(parent_end.detach())
        self.job: Job | None = None
        self.started = 0.0

    def stop(self, kill: bool = True) -> str:
        """Reap the worker (killing it first if ``kill``); why it ended: ``time`` (killed
        for overrunning, or by its CPU limit) or ``crash`` (any other death)."""
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            _pid, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = 0
        self.conn.close()
        if kill:
            return "time"
        if os.WIFSIGNALED(status):
            dead = os.WTERMSIG(status)
            log.warning("reader worker %s ended by signal %s", self.pid, dead)
            return "time" if dead == signal.SIGXCPU else "crash"
        log.warning("reader worker %s ended with exit code %s", self.pid,
                    os.WEXITSTATUS(status) if os.WIFEXITED(status) else status)
        return "crash"


def _serve(conn: Connection, prog: Programme, memory_mb: int, seconds: int) -> None:
    """A worker's loop: read files until the parent closes the pipe or sends None."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    gc.freeze()  # inherited objects are never scanned: pages stay shared with the parent
    captured: list[str] = []
    _capture_logs(captured)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + memory_mb * 1024 * 1024
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        key, data, unit_code, size = job
        if seconds:  # CPU seconds for this file: the kernel stops a runaway reader with
            # SIGXCPU (only the soft limit moves: raising a hard limit needs privileges)
            used = resource.getrusage(resource.RUSAGE_SELF)
            soft = int(used.ru_utime + used.ru_stime) + seconds + 1
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            if hard == resource.RLIM_INFINITY or soft < hard:
                resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        captured.clear()
        try:
            parsed = parse_submission(data, prog, unit_code, size)
        except MemoryError:
            del job, data
            gc.collect()
            conn.send((key, "memory", None, list(captured)))
            return  # a fresh worker takes over: this heap may be fragmented
        conn.send((key, "ok", parsed, list(captured)))


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that forked it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: EOF on the pipe ends the worker
        pass


def _address_space() -> int:
    """The worker's current virtual size in bytes (what RLIMIT_AS counts)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        return psutil.Process().memory_info().vms


class _Capture(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(self.format(record))


def _capture_logs(into: list[str]) -> None:
    """Workers never write to the parent's log handlers (a socket or file shared with the
    parent); their warnings go back with each result and the parent logs them."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    handler = _Capture(into)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root.addHandler(handler)


class ParsePool:
    """A few worker processes reading files; one file per worker at a time, so a file that
    kills its worker is known and answered. Use as a context manager."""

    def __init__(self, prog: Programme, workers: int | None = None,
                 memory_mb: int | None = None, seconds: int | None = None) -> None:
        self.prog = prog
        self.size = max(1, workers if workers is not None else _env("WORKERS", _cores()))
        self.memory_mb = memory_mb if memory_mb is not None else \
            _env("WORKER_MEMORY_MB", DEFAULT_MEMORY_MB)
        self.seconds = seconds if seconds is not None else _env("WORKER_SECONDS",
                                                               DEFAULT_SECONDS)
        self._workers: list[_Worker] = []
        self._queue: deque[Job] = deque()
        self._results: list[tuple[Any, ParsedSubmission]] = []
        self.failures = 0  # files answered "could not be processed"

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Files submitted and not yet collected."""
        return len(self._queue) + sum(w.job is not None for w in self._workers) + \
            len(self._results)

    def submit(self, job: Job) -> None:
        self._queue.append(job)
        self._dispatch()

    def parse_many(self, jobs: Iterable[Job], tick: Callable[[], None] | None = None
                   ) -> dict[Any, ParsedSubmission]:
        """Read every job's file; ``tick`` is called every few seconds while waiting (a
        heartbeat)."""
        for job in jobs:
            self._queue.append(job)
        self._dispatch()
        out: dict[Any, ParsedSubmission] = {}
        while self.pending:
            out.update(self.collect(timeout=5.0))
            if tick is not None:
                tick()
        return out

    def collect(self, timeout: float | None = 0.0) -> list[tuple[Any, ParsedSubmission]]:
        """Results ready within ``timeout`` seconds (None: wait for at least one)."""
        busy = [w for w in self._workers if w.job is not None]
        if busy and not self._results:
            wall = self.seconds * 2 + 10 if self.seconds else None
            wait_for = timeout
            if wall is not None:
                soonest = min(w.started for w in busy) + wall - time.monotonic()
                wait_for = max(0.0, soonest) if wait_for is None else \
                    max(0.0, min(wait_for, soonest))
            for conn in wait([w.conn for w in busy], wait_for):
                worker = next(w for w in busy if w.conn is conn)
                self._receive(worker)
            if wall is not None:
                for worker in busy:
                    if worker.job is not None and time.monotonic() - worker.started > wall:
                        self._replace(worker, "time", kill=True)
        self._dispatch()
        out, self._results = self._results, []
        return out

    def close(self) -> None:
        """Stop the workers (the queue is dropped)."""
        self._queue.clear()
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for worker in self._workers:
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(worker.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    break
                time.sleep(0.01)
            else:
                worker.stop()
                continue
            worker.conn.close()
        self._workers = []

    # ----- internals --------------------------------------------------------------------
    def _receive(self, worker: _Worker) -> None:
        try:
            key, status, parsed, logs = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker, None)
            return
        for line in logs:
            log.warning("reader worker, file %s: %s", key, line)
        job, worker.job = worker.job, None
        if status == "ok":
            self._results.append((key, parsed))
            return
        self._fail(job, status)
        self._workers.remove(worker)
        worker.stop(kill=False)  # it ends itself after an out-of-memory

    def _replace(self, worker: _Worker, why: str | None, kill: bool = False) -> None:
        """A worker died or overran: its file is answered, it is reaped and replaced."""
        job = worker.job
        cause = worker.stop(kill=kill)
        self._workers.remove(worker)
        if job is not None:
            self._fail(job, why or cause)

    def _fail(self, job: Job, why: str) -> None:
        self.failures += 1
        log.error("file %s (unit %s) could not be read (%s): rejected as unprocessable",
                  job.key, job.unit_code, why)
        self._results.append((job.key, unprocessable(self.prog, job.unit_code, why)))

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None:
                if len(self._workers) >= self.size:
                    return
                idle = _Worker(self.prog, self.memory_mb, self.seconds, self._workers)
                self._workers.append(idle)
            job = self._queue.popleft()
            idle.job, idle.started = job, time.monotonic()
            try:
                idle.conn.send((job.key, job.data, job.unit_code, job.size))
            except OSError:  # it died while idle: answer nothing yet, try another worker
                idle.job = None
                self._queue.appendleft(job)
                self._workers.remove(idle)
                idle.stop()


def _cores() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def _env(name: str, default: int) -> int:
    """``BAOCAO_INTAKE_<NAME>`` from the environment, else ``default``."""
    value = os.environ.get(f"BAOCAO_INTAKE_{name}")
    return int(value) if value else default


def parse_isolated(prog: Programme, data: bytes, unit_code: str,
                   size: int | None = None) -> ParsedSubmission:
    """``parse_submission`` in a worker process (what ``baocao check`` uses): a file that
    crashes or exhausts the reader is answered instead of ending the caller."""
    with ParsePool(prog, workers=1) as pool:
        return pool.parse_many([Job(0, data, unit_code, len(data) if size is None
                                    else size)])[0]
