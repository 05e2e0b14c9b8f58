#!/usr/bin/env python3
"""Independent Avro encodings for Tests/StreamsTests/AvroFormatTests.swift (`fastavroVectors`).

Produced with fastavro 1.13.1 (pip install fastavro) and cross-checked against the Apache
`avro` 1.12.2 package, which must write the same bytes. Run: python3 scripts/avro_vectors.py
The printed hex strings are pasted into AvroFormatTests.swift.
"""
import datetime
import decimal
import io
import json

import avro.io
import avro.schema
import fastavro

SCHEMA = {
    "type": "record", "name": "Tx", "namespace": "com.riverbank",
    "fields": [
        {"name": "tx_id", "type": "long"},
        {"name": "customer_id", "type": "int"},
        {"name": "amount", "type": "double"},
        {"name": "fee", "type": "float"},
        {"name": "currency", "type": "string"},
        {"name": "approved", "type": "boolean"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "channel", "type": {"type": "enum", "name": "Channel", "symbols": ["WEB", "POS", "APP"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "card_hash", "type": {"type": "fixed", "name": "Hash4", "size": 4}},
        {"name": "location", "type": ["null", {"type": "record", "name": "Location", "fields": [
            {"name": "lat", "type": "double"},
            {"name": "city", "type": ["null", "string"]},
        ]}]},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "raw", "type": "bytes"},
        {"name": "prev_channel", "type": ["null", "Channel"]},
    ],
}

UTC = datetime.timezone.utc
RECORDS = [
    {
        "tx_id": 1234567890123, "customer_id": -42, "amount": 12.5, "fee": 0.25, "currency": "EUR",
        "approved": True,
        "ts": datetime.datetime(2026, 3, 1, 22, 15, 0, 250000, tzinfo=UTC),
        "ts_us": datetime.datetime(2026, 3, 1, 22, 15, 0, 123456, tzinfo=UTC),
        "day": datetime.date(2026, 3, 1),
        "price": decimal.Decimal("-1234.56"),
        "channel": "POS", "tags": ["a", "é€"], "attrs": {"x": 1, "y": -300},
        "card_hash": b"\x01\x02\xfe\xff",
        "location": {"lat": 48.85, "city": "Paris"},
        "note": "hi \"there\"", "raw": b"\x00\x80", "prev_channel": "APP",
    },
    {
        "tx_id": -9223372036854775808, "customer_id": 2147483647, "amount": -0.1, "fee": -3.5,
        "currency": "", "approved": False,
        "ts": datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "ts_us": datetime.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        "day": datetime.date(1969, 12, 31),
        "price": decimal.Decimal("0.07"),
        "channel": "WEB", "tags": [], "attrs": {},
        "card_hash": b"\x00\x00\x00\x00",
        "location": None, "note": None, "raw": b"", "prev_channel": None,
    },
    {
        "tx_id": 9223372036854775807, "customer_id": -2147483648, "amount": 1e300, "fee": 1.0,
        "currency": "USD", "approved": True,
        "ts": datetime.datetime(2026, 1, 1, tzinfo=UTC),
        "ts_us": datetime.datetime(2026, 1, 1, tzinfo=UTC),
        "day": datetime.date(2026, 1, 1),
        "price": decimal.Decimal("99999999.99"),
        "channel": "APP", "tags": ["x"] * 3, "attrs": {"k": 9223372036854775807},
        "card_hash": b"abcd",
        "location": {"lat": -33.9, "city": None}, "note": "", "raw": b"\xff" * 3, "prev_channel": "WEB",
    },
]


# A recursive schema: a linked list through a ["null", Node] union.
LIST = {
    "type": "record", "name": "Node",
    "fields": [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Node"]}],
}
LIST_RECORD = {"value": 1, "next": {"value": 2, "next": {"value": -3, "next": None}}}

# A decimal in a fixed: sign-extended to the fixed's size.
FIXED_DECIMAL = {
    "type": "record", "name": "L",
    "fields": [{"name": "fx", "type": {"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal",
                                       "precision": 18, "scale": 4}}],
}
FIXED_DECIMAL_RECORD = {"fx": decimal.Decimal("-12.3456")}


def fast(schema, rec):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), rec)
    return out.getvalue()


def apache(schema, rec):
    out = io.BytesIO()
    writer = avro.io.DatumWriter(avro.schema.parse(json.dumps(schema)))
    writer.write(rec, avro.io.BinaryEncoder(out))
    return out.getvalue()


if __name__ == "__main__":
    print(json.dumps(SCHEMA))
    for schema, rec in [(SCHEMA, r) for r in RECORDS] + [(LIST, LIST_RECORD), (FIXED_DECIMAL, FIXED_DECIMAL_RECORD)]:
        a, b = fast(schema, rec), apache(schema, rec)
        assert a == b, (a.hex(), b.hex())
        print(a.hex())
