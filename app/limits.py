"""How many requests a worker handles at once.

Sync endpoints and dependencies run on AnyIO's worker threads (40), one call at a time, and a
request keeps its database connection (and on SQLite the write lock) between those calls. Let
in more requests than threads and the ones holding connections can wait for a thread behind
requests that wait for their connections: everything stalls until the pool times out. Letting
in fewer requests than threads (and than pooled connections) makes that impossible; the rest
wait here, holding nothing.
"""

from __future__ import annotations

import asyncio


class InFlightLimit:
    """Pure ASGI middleware: at most ``limit`` HTTP requests inside the app at once."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # created inside the server's event loop
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
