"""The official page a go-live announcement depends on (a sede electrónica's procedure page),
as the go-live check reaches it: through ``requests``, answered here with whatever the town's
web team has put up so far. Real sites often answer 200 with a placeholder ("En
construcción") long before the form is open: that is the case the gate must not be fooled by.
"""

from __future__ import annotations

import re
import threading

from .base import Http, TwinRequest, TwinResponse


class OfficialPage:
    """One URL whose answer a scenario changes: ``show(status, body)``."""

    def __init__(self, url: str, status: int = 404, body: str = "Página no encontrada"):
        self.url = url
        self._answer = (status, body)
        self._lock = threading.Lock()
        #: every answer given, in order: (status, body)
        self.served: list[tuple[int, str]] = []

    def show(self, status: int, body: str) -> None:
        with self._lock:
            self._answer = (status, body)

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.served)

    def install(self, http: Http) -> None:
        http.route("GET", re.escape(self.url), self._get)

    def _get(self, _request: TwinRequest) -> TwinResponse:
        with self._lock:
            status, body = self._answer
            self.served.append((status, body))
        return TwinResponse(status, body=f"<html><body>{body}</body></html>".encode(),
                            headers={"Content-Type": "text/html; charset=utf-8"})
