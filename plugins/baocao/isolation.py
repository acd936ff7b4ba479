"""Read and check received files in worker processes, so that no file can stop the intake.

A ``ParsePool`` keeps a few worker processes, forked from the caller (they share its loaded
programme and code, and start in milliseconds). A worker reads files one after the other,
with an address-space limit (``memory_mb`` above what it had when it started) and a
CPU-time limit per file. A native crash (an abort in a C or Rust library), an out-of-memory
or an overrun ends only that worker: the file it was reading gets a parse result that
rejects it with a Vietnamese "could not be processed" problem, the files queued behind it
go to a new worker, and the run goes on. Merging stays in the calling process.

The parent never blocks on a worker: files are sent and results received through
non-blocking sockets, a few files ahead per worker (so a worker never waits for the parent
to be scheduled). ``submit`` and ``collect`` let a caller keep the workers busy while it does
other work; ``parse_many`` is the blocking form.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import selectors
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from baocao.parsing import ParsedSubmission, Problem, parse_submission
from baocao.programme import Programme

log = logging.getLogger(__name__)
AHEAD = 3  # files sent to a worker before its first result comes back
RULE = "UNPROCESSABLE"
_HEADER = struct.Struct("!Q")
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


Derive = Callable[[ParsedSubmission], dict[str, Any]]


@dataclass
class Job:
    """One file to read: ``key`` names it in the results."""

    key: Any
    data: bytes
    unit_code: str
    size: int


# ----- the worker side ------------------------------------------------------------------
def _serve(sock: socket.socket, prog: Programme, memory_mb: int, seconds: int,
           derive: Derive | None = None) -> None:
    """A worker's loop: read files until the parent closes the socket or sends None."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    gc.freeze()  # inherited objects are never scanned: their pages stay shared
    captured: list[str] = []
    _capture_logs(captured)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        limit = _address_space() + memory_mb * 1024 * 1024
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    while True:
        message = _read_frame(sock)
        if not message:  # the parent went away, or an empty frame: stop
            return
        job = pickle.loads(message)
        del message
        key, data, unit_code, size = job
        del job
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
            if derive is not None:
                try:
                    parsed.derived = derive(parsed)
                except Exception:  # noqa: BLE001 - the caller derives it itself then
                    log.exception("deriving figures of file %s failed", key)
            result = (key, "ok", parsed, captured)
            del parsed
        except MemoryError:
            del data
            gc.collect()
            _write_frame(sock, pickle.dumps((key, "memory", None, captured)))
            return  # a fresh worker takes over: this heap may be fragmented
        del data
        _write_frame(sock, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    return _recv_exactly(sock, _HEADER.unpack(header)[0])


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buf)


def _write_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _let_go_of_inherited_files(keep: int) -> None:
    """Point every inherited descriptor but stdio and ``keep`` at /dev/null: a worker must
    not hold the parent's sockets and files open (a server socket closed by the parent
    would keep accepting connections; the other workers' pipes would never see EOF).
    Replacing rather than closing keeps stale objects from closing a reused number."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        found = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        found = list(range(3, 1024))
    for fd in found:
        if fd > 2 and fd not in (keep, null):
            try:
                os.dup2(null, fd)
            except OSError:
                pass


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that forked it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: EOF on the socket ends the worker
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
    for logger in [logging.getLogger(), *(logging.getLogger(name)
                                          for name in logging.root.manager.loggerDict)]:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    handler = _Capture(into)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


# ----- the parent side ------------------------------------------------------------------
class _Worker:
    """One forked worker process, the parent's end of its socket and what is in flight."""

    def __init__(self, prog: Programme, memory_mb: int, seconds: int,
                 derive: Derive | None = None) -> None:
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            code = 0
            try:
                _let_go_of_inherited_files(keep=child_end.fileno())
                _serve(child_end, prog, memory_mb, seconds, derive)
            except BaseException:  # noqa: BLE001 - the parent sees the exit code
                import traceback

                traceback.print_exc()  # to the inherited stderr: the task's log
                code = 70
            finally:
                os._exit(code)
        child_end.close()
        parent_end.setblocking(False)
        self.pid, self.sock = pid, parent_end
        self.jobs: deque[Job] = deque()  # sent, in order; the first is being read
        self.since = 0.0  # when the first job started (or was sent)
        self.out = bytearray()  # bytes not yet accepted by the socket
        self.inbox = bytearray()  # bytes received, not yet a whole result
        self.dead = False
        self.retired = False  # it ends itself (after an out-of-memory): nothing is its fault

    def send(self, job: Job) -> None:
        if not self.jobs:
            self.since = time.monotonic()
        self.jobs.append(job)
        payload = pickle.dumps((job.key, job.data, job.unit_code, job.size),
                               protocol=pickle.HIGHEST_PROTOCOL)
        self.out += _HEADER.pack(len(payload)) + payload
        self.flush()

    def flush(self) -> None:
        while self.out and not self.dead:
            try:
                sent = self.sock.send(self.out)
            except BlockingIOError:
                return
            except OSError:
                self.dead = True
                return
            del self.out[:sent]

    def receive(self) -> list[tuple[Any, str, Any, list[str]]]:
        """Whole results that arrived; sets ``dead`` at end of file."""
        while not self.dead:
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                self.dead = True
                break
            self.inbox += chunk
        out = []
        while len(self.inbox) >= _HEADER.size:
            size = _HEADER.unpack_from(self.inbox)[0]
            if len(self.inbox) < _HEADER.size + size:
                break
            out.append(pickle.loads(self.inbox[_HEADER.size:_HEADER.size + size]))
            del self.inbox[:_HEADER.size + size]
        return out

    def stop(self, kill: bool) -> str:
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
        self.sock.close()
        self.dead = True
        if kill:
            return "time"
        if os.WIFSIGNALED(status):
            log.warning("reader worker %s ended by signal %s", self.pid, os.WTERMSIG(status))
            return "time" if os.WTERMSIG(status) == signal.SIGXCPU else "crash"
        log.warning("reader worker %s ended with exit code %s", self.pid,
                    os.WEXITSTATUS(status) if os.WIFEXITED(status) else status)
        return "crash"


class ParsePool:
    """A few worker processes reading files; a file that kills its worker is known (each
    worker reads its files in the order sent) and answered. Use as a context manager."""

    def __init__(self, prog: Programme, workers: int | None = None,
                 memory_mb: int | None = None, seconds: int | None = None,
                 derive: Derive | None = None) -> None:
        from baocao.config import settings

        cfg = settings()
        self.prog = prog
        self.size = max(1, workers if workers is not None else cfg.intake_workers or _cores())
        self.memory_mb = cfg.intake_worker_memory_mb if memory_mb is None else memory_mb
        self.seconds = cfg.intake_worker_seconds if seconds is None else seconds
        self._workers: list[_Worker] = []
        self._queue: deque[Job] = deque()
        self._results: list[tuple[Any, ParsedSubmission]] = []
        self._selector = selectors.DefaultSelector()
        self.failures = 0  # files answered "could not be processed"
        self.derive = derive
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopping = False

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Files submitted and not yet collected."""
        with self._lock:
            return len(self._queue) + sum(len(w.jobs) for w in self._workers) + \
                len(self._results)

    def start(self) -> ParsePool:
        """Start the workers and a pump thread that keeps them fed and receives their
        results while the caller does other work (recording a chunk, validating it): they
        never wait for the caller to come back to ``collect``."""
        with self._lock:
            while len(self._workers) < self.size:  # forked now, before the thread runs
                self._workers.append(_Worker(self.prog, self.memory_mb, self.seconds,
                                             self.derive))
        self._thread = threading.Thread(target=self._pump_loop, name="parse-pool-pump",
                                        daemon=True)
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        with self._lock:
            self._queue.append(job)
            if self._thread is None:
                self._dispatch()
            else:
                self._arrived.notify_all()

    def parse_many(self, jobs: Iterable[Job], tick: Callable[[], None] | None = None
                   ) -> dict[Any, ParsedSubmission]:
        """Read every job's file; ``tick`` is called every few seconds while waiting (a
        heartbeat)."""
        with self._lock:
            self._queue.extend(jobs)
            self._arrived.notify_all()
        out: dict[Any, ParsedSubmission] = {}
        while self.pending:
            out.update(self.collect(timeout=5.0))
            if tick is not None:
                tick()
        return out

    def collect(self, timeout: float | None = 0.0) -> list[tuple[Any, ParsedSubmission]]:
        """Results ready within ``timeout`` seconds (None: wait for at least one)."""
        if self._thread is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            with self._lock:
                while not self._results and self.pending and self._thread.is_alive():
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._arrived.wait(left)
                out, self._results = self._results, []
            return out
        self._dispatch()
        if not self._results and any(w.jobs for w in self._workers):
            self._pump(timeout)
            self._dispatch()
        out, self._results = self._results, []
        return out

    def _pump_loop(self) -> None:
        """The pump thread: dispatch, wait for the workers (without the lock), handle what
        came back; stops when the pool closes."""
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._dispatch()
                if not any(w.jobs or w.out for w in self._workers):
                    self._arrived.wait(0.05)
                    continue
                registered = self._register()
            try:
                ready = self._selector.select(self._timeout(0.05))
            finally:
                with self._lock:
                    for worker in registered:
                        self._selector.unregister(worker.sock)
            with self._lock:
                if self._stopping:
                    return
                before = len(self._results)
                self._handle(ready)
                self._dispatch()
                if len(self._results) != before:
                    self._arrived.notify_all()

    def close(self) -> None:
        """Stop the pump thread and the workers (files not yet read are dropped)."""
        if self._thread is not None:
            with self._lock:
                self._stopping = True
                self._arrived.notify_all()
            self._thread.join()
            self._thread = None
        self._queue.clear()
        for worker in self._workers:
            if worker.out:  # in the middle of sending a file: no clean stop possible
                continue
            try:
                worker.sock.settimeout(1)
                worker.sock.sendall(_HEADER.pack(0))  # an empty frame: stop
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for worker in self._workers:
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(worker.pid, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.005)
            else:
                worker.stop(kill=True)
                continue
            worker.sock.close()
        self._workers = []
        self._selector.close()

    # ----- internals --------------------------------------------------------------------
    def _wall(self) -> float | None:
        """Seconds after which a file still being read is killed (the CPU limit usually
        ends it first; this also covers a reader that hangs without using the CPU)."""
        return self.seconds * 2 + 10 if self.seconds else None

    def _pump(self, timeout: float | None) -> None:
        """Wait for results (or writable sockets) at most ``timeout`` seconds, then
        handle results, deaths and overruns."""
        registered = self._register()
        try:
            ready = self._selector.select(self._timeout(timeout))
        finally:
            for worker in registered:
                self._selector.unregister(worker.sock)
        self._handle(ready)

    def _timeout(self, timeout: float | None) -> float | None:
        """``timeout``, shortened to the moment the longest-running file overruns."""
        wall = self._wall()
        busy = [w for w in self._workers if w.jobs]
        if wall is not None and busy:
            soonest = max(0.0, min(w.since for w in busy) + wall - time.monotonic())
            timeout = soonest if timeout is None else min(timeout, soonest)
        return timeout

    def _register(self) -> list[_Worker]:
        for worker in self._workers:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if worker.out else 0)
            self._selector.register(worker.sock, events, worker)
        return list(self._workers)

    def _handle(self, ready) -> None:
        for key, events in ready:
            worker = key.data
            if worker not in self._workers:
                continue
            if events & selectors.EVENT_WRITE:
                worker.flush()
            if events & selectors.EVENT_READ:
                for message in worker.receive():
                    self._result(worker, *message)
            if worker.dead:
                self._replace(worker, kill=False)
        wall = self._wall()
        if wall is not None:
            now = time.monotonic()
            for worker in list(self._workers):
                if worker.jobs and now - worker.since > wall:
                    self._replace(worker, kill=True)

    def _result(self, worker: _Worker, key: Any, status: str, parsed: Any,
                logs: list[str]) -> None:
        job = worker.jobs.popleft()
        worker.since = time.monotonic()
        for line in logs:
            log.warning("reader worker, file %s: %s", key, line)
        if status == "ok":
            self._results.append((key, parsed))
        else:  # out of memory: the worker ends itself after answering
            worker.retired = True
            self._fail(job, status)

    def _replace(self, worker: _Worker, kill: bool) -> None:
        """A worker died or overran: the file it was reading is answered, the files
        queued behind it go back to the queue, and it is reaped (a new one starts when
        needed)."""
        cause = worker.stop(kill=kill)
        self._workers.remove(worker)
        if worker.jobs and not worker.retired:
            self._fail(worker.jobs.popleft(), cause)
        self._queue.extendleft(reversed(worker.jobs))

    def _fail(self, job: Job, why: str) -> None:
        self.failures += 1
        log.error("file %s (unit %s) could not be read (%s): rejected as unprocessable",
                  job.key, job.unit_code, why)
        self._results.append((job.key, unprocessable(self.prog, job.unit_code, why)))

    def _dispatch(self) -> None:
        """Send queued files to workers with room, starting workers (up to ``size``) when
        none is idle."""
        while self._queue:
            live = [w for w in self._workers if not w.dead]
            if all(w.jobs for w in live) and len(self._workers) < self.size:
                target = _Worker(self.prog, self.memory_mb, self.seconds, self.derive)
                self._workers.append(target)
            else:
                target = min((w for w in live if len(w.jobs) < AHEAD), default=None,
                             key=lambda w: len(w.jobs))
                if target is None:
                    return
            target.send(self._queue.popleft())


def _cores() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def parse_isolated(prog: Programme, data: bytes, unit_code: str,
                   size: int | None = None) -> ParsedSubmission:
    """``parse_submission`` in a worker process (what ``baocao check`` uses): a file that
    crashes or exhausts the reader is answered instead of ending the caller."""
    with ParsePool(prog, workers=1) as pool:
        return pool.parse_many([Job(0, data, unit_code, len(data) if size is None
                                    else size)])[0]
