"""The numbers a file hwnas reads may carry, each checked where it is read: one definition per kind.

JSON gives a reader `true` where a number was meant (Python's bool is an int: `median_ms: true` counted
as 1 ms), NaN and infinities through other writers, and anything else an editor typed. Every reader
passes a file's numbers through these, so what cannot be (a latency of 0 ms or −1 ms, a fraction of
1.5, 2.5 subnets) is refused in one line naming the field, never carried into a prediction.
"""

from __future__ import annotations

import math


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    return float(value)


FASTEST_MS, SLOWEST_MS = 1e-6, 8.64e7  # a nanosecond and a day: no model's latency lies outside


def milliseconds(value, what: str = "a latency") -> float:
    """A latency: a finite number of ms between a nanosecond and a day (every latency of a table scaled by
    1e-290 still summed to a range, "0.000-0.000 ms")."""
    number = _number(value, what)
    if not FASTEST_MS <= number <= SLOWEST_MS:
        raise ValueError(f"{what} is {value!r} ms, which no measurement gives")
    return number


def non_negative(value, what: str) -> float:
    number = _number(value, what)
    if number < 0:
        raise ValueError(f"{what} is {value!r}, below 0")
    return number


def speed_ratio(value, what: str) -> float:
    """How much slower a machine runs than when a table was measured: a ratio of two latencies, > 0."""
    number = _number(value, what)
    if not FASTEST_MS / SLOWEST_MS <= number <= SLOWEST_MS / FASTEST_MS:
        raise ValueError(f"{what} is {value!r}, which no ratio of two latencies gives")
    return number


def fraction(value, what: str) -> float:
    """A share such as an accuracy or a floor: in [0, 1]."""
    number = _number(value, what)
    if not 0 <= number <= 1:
        raise ValueError(f"{what} is {value!r}, not in [0, 1]")
    return number


def count(value, what: str, minimum: int = 0) -> int:
    """A whole number of things (subnets, batches, threads): an int ≥ minimum (5.0 is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} is {value!r}, not a whole number ≥ {minimum}")
    return value
