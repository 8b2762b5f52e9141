"""uvicorn's worker supervisor, which also forgets the live figures of a worker it replaced.

In prometheus_client's multiprocess mode each worker writes its figures to files of its own,
and a scrape sums them. Counters and histograms of a worker that is gone still count (what
it served was served), but the gauges kept for live workers only (`livesum`, `liveall`: the
requests in flight, each worker's breaker state) keep reading the dead worker's last values
until its files are marked dead. uvicorn restarts a worker that dies or hangs, and replaces
every worker on SIGHUP, without telling prometheus_client: this does, for each worker it no
longer runs (prometheus_client's documented `mark_process_dead`).
"""

from __future__ import annotations

import logging
import os

from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

from gateway.observability.metrics import MULTIPROCESS_ENV

log = logging.getLogger("gateway.workers")


class WorkerSupervisor(Multiprocess):
    def keep_subprocess_alive(self) -> None:
        running = self._pids()
        super().keep_subprocess_alive()
        self._forget(running - self._pids())

    def restart_all(self) -> None:
        running = self._pids()
        super().restart_all()
        self._forget(running - self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _forget(self, gone: set[int]) -> None:
        directory = os.environ.get(MULTIPROCESS_ENV)
        if not directory:
            return
        for pid in gone:
            try:
                mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
            except OSError as exc:  # a figure not kept is better than a supervisor that stops
                log.warning("the live figures of worker %d could not be cleared: %s", pid, exc.strerror)
