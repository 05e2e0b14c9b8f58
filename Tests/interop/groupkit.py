"""Helpers shared by the consumer-group interop tests (classic and KIP-848)."""
from __future__ import annotations

import uuid

from conftest import wait_for


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assignments(consumers):
    return [{(tp.topic, tp.partition) for tp in c.assignment()} for c in consumers]


def poll_all(consumers, rounds=1, timeout=0.05, sink=None):
    for _ in range(rounds):
        for c in consumers:
            m = c.poll(timeout)
            if m is not None and not m.error() and sink is not None:
                sink.append(m)


def wait_disjoint_cover(consumers, topic, partitions, timeout=30.0, sink=None):
    """Waits until the consumers' assignments are disjoint, non-empty and cover every partition."""
    want = {(topic, p) for p in range(partitions)}

    def ok():
        poll_all(consumers, sink=sink)
        a = assignments(consumers)
        return set().union(*a) == want and sum(len(x) for x in a) == partitions and all(a)
    wait_for(ok, timeout=timeout, interval=0.01, message=f"disjoint full assignment of {partitions} partitions")
    return assignments(consumers)


def close_all(consumers):
    for c in consumers:
        try:
            c.close()
        except Exception:  # noqa: BLE001
            pass
