"""--topics-dir: YAML topic definitions applied at start-up."""
from __future__ import annotations

import textwrap

import pytest
from confluent_kafka.admin import ConfigResource

import wire
from clients import admin, consume, produce_values
from conftest import BrokerStartError, unique_topic

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(90)]


def write_def(d, filename, text):
    d.mkdir(parents=True, exist_ok=True)
    (d / filename).write_text(textwrap.dedent(text))


def describe(bootstrap, topic):
    a = admin(bootstrap)
    r = ConfigResource("topic", topic)
    return a.describe_configs([r], request_timeout=10)[r].result(timeout=10)


def partitions(broker, topic):
    """Partition count from an all-topics Metadata request (does not auto-create)."""
    topics = wire.all_topics(broker.port)
    assert topic in topics, f"{topic} not in {sorted(topics)}"
    return topics[topic]


def test_definitions_create_topics(broker_factory, tmp_path):
    tdir = tmp_path / "topics"
    t1, t2 = unique_topic("def-a"), unique_topic("def-b")
    write_def(tdir, "a.yaml", f"""
        # a comment
        name: {t1}
        partitions: 3
        configs:
          retention.ms: 3600000
          cleanup.policy: delete
          message.timestamp.type: LogAppendTime
        """)
    write_def(tdir, "b.yml", f"""
        name: {t2}
        """)
    write_def(tdir, "README.txt", "not a definition: ignored\n")
    b = broker_factory(topics_dir=tdir)
    assert partitions(b, t1) == 3
    assert partitions(b, t2) == 1
    cfg = describe(b.bootstrap, t1)
    assert cfg["retention.ms"].value == "3600000" and not cfg["retention.ms"].is_default
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["message.timestamp.type"].value == "LogAppendTime"
    assert describe(b.bootstrap, t2)["retention.ms"].is_default


def test_changed_definition_alters_configs_and_grows_partitions(broker_factory, tmp_path):
    tdir = tmp_path / "topics"
    t = unique_topic("def-chg")
    write_def(tdir, "t.yaml", f"""
        name: {t}
        partitions: 2
        configs:
          retention.ms: 3600000
          segment.ms: 600000
        """)
    b = broker_factory(topics_dir=tdir)
    assert partitions(b, t) == 2
    produce_values(b.bootstrap, t, [b"p0"], partition=0)
    produce_values(b.bootstrap, t, [b"p1"], partition=1)

    write_def(tdir, "t.yaml", f"""
        name: {t}
        partitions: 5
        configs:
          retention.ms: 7200000
          max.message.bytes: 2000000
        """)
    b.restart()
    assert partitions(b, t) == 5
    cfg = describe(b.bootstrap, t)
    assert cfg["retention.ms"].value == "7200000"
    assert cfg["max.message.bytes"].value == "2000000"
    assert cfg["segment.ms"].is_default, f"segment.ms was removed from the definition but is {cfg['segment.ms']}"
    # data survived, new partitions usable
    msgs = consume(b.bootstrap, t, 2, partitions=(0, 1))
    assert sorted((m.partition(), m.value()) for m in msgs) == [(0, b"p0"), (1, b"p1")]
    produce_values(b.bootstrap, t, [b"p4"], partition=4)
    assert [m.value() for m in consume(b.bootstrap, t, 1, partitions=(4,))] == [b"p4"]


def test_definition_with_fewer_partitions_keeps_existing(broker_factory, tmp_path):
    tdir = tmp_path / "topics"
    t = unique_topic("def-shrink")
    write_def(tdir, "t.yaml", f"name: {t}\npartitions: 4\n")
    b = broker_factory(topics_dir=tdir)
    assert partitions(b, t) == 4
    write_def(tdir, "t.yaml", f"name: {t}\npartitions: 2\n")
    b.restart()
    assert b.alive()
    assert partitions(b, t) == 4, "a topic was shrunk"


def test_definition_applied_over_admin_change(broker_factory, tmp_path):
    """Definitions are the source of truth at start-up: an admin-made config change is reset."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    tdir = tmp_path / "topics"
    t = unique_topic("def-truth")
    write_def(tdir, "t.yaml", f"name: {t}\nconfigs:\n  retention.ms: 3600000\n")
    b = broker_factory(topics_dir=tdir)
    a = admin(b.bootstrap)
    r = ConfigResource("topic", t, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([r], request_timeout=10)[r].result(timeout=10)
    assert describe(b.bootstrap, t)["retention.ms"].value == "1000"
    b.restart()
    assert describe(b.bootstrap, t)["retention.ms"].value == "3600000"


INVALID = {
    "unknown-config": ("bad.yaml", "name: {t}\nconfigs:\n  no.such.key: 1\n", "no.such.key"),
    "bad-config-value": ("bad.yaml", "name: {t}\nconfigs:\n  retention.ms: forever\n", "retention.ms"),
    "zero-partitions": ("bad.yaml", "name: {t}\npartitions: 0\n", "partitions"),
    "missing-name": ("bad.yaml", "partitions: 2\n", "name"),
    "bad-topic-name": ("bad.yaml", "name: 'has space'\n", "bad.yaml"),
    "not-a-mapping": ("bad.yaml", "- just\n- a list\n", "bad.yaml"),
    "unknown-key": ("bad.yaml", "name: {t}\npartitionz: 3\n", "partitionz"),
    "yaml-syntax": ("bad.yaml", "name: [unclosed\n", "bad.yaml"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_definition_refuses_start(broker_factory, tmp_path, case):
    """Riverbank's behaviour: an invalid definition is a start-up error (exit code != 0) whose
    log names the file (and the problem); no port is opened, no topic is half-applied."""
    filename, text, mention = INVALID[case]
    tdir = tmp_path / "topics"
    t = unique_topic("def-bad")
    good = unique_topic("def-good")
    write_def(tdir, "a-good.yaml", f"name: {good}\npartitions: 2\n")
    write_def(tdir, filename, text.format(t=t))
    b = broker_factory(start=False, topics_dir=tdir)
    with pytest.raises(BrokerStartError):
        b.start(timeout=20)
    assert b.last_returncode not in (None, 0), f"broker exited with {b.last_returncode}"
    err = b.stderr_text()
    assert mention in err, f"stderr does not mention {mention!r}:\n{b.stderr_tail()}"
    # fixing the definition lets it start, and the good definition was applied
    (tdir / filename).unlink()
    b.start()
    assert partitions(b, good) == 2
    assert t not in wire.all_topics(b.port)


def test_duplicate_definitions_refuse_start(broker_factory, tmp_path):
    tdir = tmp_path / "topics"
    t = unique_topic("def-dup")
    write_def(tdir, "one.yaml", f"name: {t}\n")
    write_def(tdir, "two.yaml", f"name: {t}\npartitions: 3\n")
    b = broker_factory(start=False, topics_dir=tdir)
    with pytest.raises(BrokerStartError):
        b.start(timeout=20)
    err = b.stderr_text()
    assert "one.yaml" in err and "two.yaml" in err, b.stderr_tail()


def test_repo_topic_definitions_load(broker_factory):
    """The definitions shipped in the repository's topics/ folder are valid and applied."""
    from conftest import REPO
    import yaml

    tdir = REPO / "topics"
    defs = [yaml.safe_load(f.read_text()) for f in sorted(tdir.glob("*.y*ml"))]
    assert defs, "no definitions in topics/"
    b = broker_factory(topics_dir=tdir)
    topics = wire.all_topics(b.port)
    for d in defs:
        assert topics.get(d["name"]) == d.get("partitions", 1), d["name"]
        cfg = describe(b.bootstrap, d["name"])
        for k, v in (d.get("configs") or {}).items():
            assert cfg[k].value == str(v), (d["name"], k, cfg[k].value, v)
