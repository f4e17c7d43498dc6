"""How the benchmarks time what they compare."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(fns: list[Callable[[], None]], rounds: int) -> list[float]:
    """The fastest of `rounds` runs of each function, the functions interleaved round by
    round, so a slow moment of the machine hits all of them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for index, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[index] = min(best[index], time.perf_counter() - started)
    return best
