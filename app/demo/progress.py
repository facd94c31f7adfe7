"""Progress of a demo load, for a progress bar: ``callback(description, done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

ProgressCallback = Callable[[str, int, int], None]
PROGRESS_EVERY = 10  # elders between two progress calls inside a phase


class Progress:
    """Calls ``callback(description, done, total)`` each time ``done`` grows (never otherwise)."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def to(self, description: str, done: int) -> None:
        done = min(done, self.total)
        if done <= self.done:
            return
        self.done = done
        if self.callback is not None:
            self.callback(description, done, self.total)

    def step(self, description: str) -> None:
        self.to(description, self.done + 1)

    def over(self, description: str, units: int, items: Iterable) -> Iterator:
        """Yield ``items``, advancing by ``units`` in all, every PROGRESS_EVERY items."""
        items = list(items)
        start = self.done
        for index, item in enumerate(items, 1):
            yield item
            if index % PROGRESS_EVERY == 0 or index == len(items):
                self.to(description, start + units * index // len(items))
        self.to(description, start + units)
