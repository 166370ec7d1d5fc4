"""`gondulf serve --workers N`: N server processes on one socket, kept running.

The supervisor binds the socket once and hands it to each worker (`gondulf
serve --worker-socket FD`); the kernel gives each new connection to one of
them. All state is in the database, so a sign-in may go from one worker to
another. A worker that exits is started again (a worker that keeps crashing
at once stops the server); SIGTERM or SIGINT stops every worker gracefully.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from types import FrameType

from gondulf.errors import EXIT_OK, EXIT_SERVICE

log = logging.getLogger("gondulf")

POLL = 0.2
CRASH_WINDOW = 10.0  # seconds
MAX_CRASHES = 5  # exits within CRASH_WINDOW before the server gives up


class Supervisor:
    def __init__(
        self, sock: socket.socket, count: int, worker_args: list[str], shutdown_timeout: float
    ) -> None:
        self._fd = sock.fileno()
        os.set_inheritable(self._fd, True)
        self._count = count
        self._args = [
            sys.executable,
            "-m",
            "gondulf",
            *worker_args,
            "--worker-socket",
            str(self._fd),
        ]
        self._shutdown_timeout = shutdown_timeout
        self._workers: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def _start_one(self) -> None:
        worker = subprocess.Popen(self._args, pass_fds=(self._fd,))
        self._workers[worker.pid] = worker

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> int:
        """Run until stopped; the exit code for `gondulf serve`."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self._count):
            self._start_one()
        crashes: deque[float] = deque(maxlen=MAX_CRASHES)
        code = EXIT_OK
        while not self._stopping:
            for pid, worker in list(self._workers.items()):
                returned = worker.poll()
                if returned is None:
                    continue
                del self._workers[pid]
                crashes.append(time.monotonic())
                if len(crashes) == MAX_CRASHES and crashes[-1] - crashes[0] < CRASH_WINDOW:
                    log.error("workers keep exiting (the last with %s); stopping", returned)
                    self._stopping, code = True, EXIT_SERVICE
                    break
                log.warning("worker %s exited with %s; starting another", pid, returned)
                self._start_one()
            time.sleep(POLL)
        self._stop_workers()
        return code

    def _stop_workers(self) -> None:
        for worker in self._workers.values():
            worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._shutdown_timeout
        for worker in self._workers.values():
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
