"""Helpers shared by the consumer-group interop tests (classic and KIP-848)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


# A group member in its own process, so a test can kill -9 it. argv: bootstrap, group, topic,
# then the consumer config as JSON.
_CHILD = """
import json, sys
from confluent_kafka import Consumer
conf = {"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "auto.offset.reset": "earliest"}
conf.update(json.loads(sys.argv[4]))
c = Consumer(conf)
c.subscribe([sys.argv[3]])
said = False
while True:
    c.poll(0.1)
    if c.assignment() and not said:
        print("ASSIGNED", len(c.assignment()), flush=True)
        said = True
"""


def killed_member_taken_over(me, bootstrap, group, topic, child_conf, max_seconds):
    """Splits a 6-partition topic between `me` and a member in a child process, kill -9s the
    child, and checks `me` takes every partition after the 6 s session timeout."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, bootstrap, group, topic, json.dumps(child_conf)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        me.subscribe([topic])

        def split():
            poll_all([me])
            return len(me.assignment()) == 3
        wait_for(split, timeout=30, interval=0.01, message="6 partitions split between the two consumers")
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        t0 = time.monotonic()

        def all_mine():
            poll_all([me])
            return len(me.assignment()) == 6
        wait_for(all_mine, timeout=30, interval=0.01, message="takeover after the session timeout")
        took = time.monotonic() - t0
        assert 4.0 < took < max_seconds, f"takeover after {took:.1f}s (session timeout 6 s)"
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        me.close()
