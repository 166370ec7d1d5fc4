"""Logging to stderr as text for people or JSON lines for log collectors.

A log call on the event loop only makes its record and puts it on a queue;
a writer thread formats what has gathered and writes it in one go a few
times a second. A line per request (the access log) would otherwise cost
about as much as answering the request: the handler's lock, formatting, a
write and a flush each time.

A record made while a request is handled carries that request's id (REQUEST_ID, set
by gondulf.web.middleware), stamped as the record is made: the writer thread that
formats it later runs in no request's context. Text lines show it as `[req=ID]`;
JSON lines have the fields of JSON_FIELDS (the README's "Logs" lists them).
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"
QUIET_LIBRARIES = ("aiosqlite",)
WRITE_EVERY = 0.1  # seconds between writes


REQUEST_ID: ContextVar[str | None] = ContextVar("gondulf_request_id", default=None)
FIELDS = "fields"  # a record's structured fields: `log.info(..., extra={FIELDS: {...}})`
# Every field a JSON line may have, in order; the access log's line has the second group.
JSON_FIELDS = ("time", "level", "logger", "message", "request_id", "exception")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client", "bytes", "user_agent")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request = f" [req={request_id}]" if request_id else ""
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry.update(getattr(record, FIELDS, {}))
        return json.dumps(entry, ensure_ascii=False)


class DeferredQueueHandler(logging.handlers.QueueHandler):
    """Hands the record over as it is: formatting happens on the writer's thread. Gondulf
    logs only plain values as arguments, so nothing changes meanwhile.

    Here, still on the thread (and in the task) that logged it, the record is stamped
    with the id of the request being handled, or None outside requests.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.request_id = REQUEST_ID.get()
        return record


class BatchWriter(threading.Thread):
    """Every WRITE_EVERY seconds, formats the waiting records and writes them at once."""

    def __init__(
        self,
        records: queue.SimpleQueue[logging.LogRecord],
        stream: TextIO,
        formatter: logging.Formatter,
    ) -> None:
        super().__init__(name="gondulf-log-writer", daemon=True)
        self._records = records
        self._stream = stream
        self._formatter = formatter
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(WRITE_EVERY):
            self.write_waiting()
        self.write_waiting()

    def write_waiting(self) -> None:
        lines = []
        while True:
            try:
                record = self._records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self._formatter.format(record) + "\n")
            except Exception:  # a record that cannot be formatted is not worth a crash
                lines.append(f"(unprintable log record from {record.name})\n")
        if lines:
            try:
                self._stream.write("".join(lines))
                self._stream.flush()
            except (OSError, ValueError):
                pass  # stderr is gone: nowhere left to say so

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=2)


_writer: BatchWriter | None = None


def _lighter_records() -> None:
    """What every record would otherwise gather and Gondulf never prints: the calling
    file and line (a walk up the stack), thread and process names."""
    logging._srcfile = None  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(level: str, fmt: str) -> None:
    global _writer
    if _writer is not None:
        _writer.stop()
    _lighter_records()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    _writer = BatchWriter(records, sys.stderr, formatter)
    _writer.start()
    atexit.register(_writer.stop)  # every line is written before the process ends
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(DeferredQueueHandler(records))
    root.setLevel(level)
    # aiohttp's own access log is replaced by gondulf.web.access_log (no query strings).
    logging.getLogger("aiohttp.access").propagate = False
    # These write statements with their parameters, or whole messages, at DEBUG: codes,
    # token digests and session ids would reach the log.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelNamesMapping()[level]))
