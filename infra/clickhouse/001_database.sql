-- Puffy streaming analyst tables for ClickHouse.
--
-- Runner contract: every file in this folder is applied in file-name order by
-- ClickHouseClient.ApplySchemaAsync (shared/Puffy.Streaming.ClickHouse), which replaces the
-- placeholder {db} with the target database name, drops comment lines (starting with --) and
-- splits statements on a ';' at the end of a line. Every statement is idempotent
-- (IF NOT EXISTS), so applying the folder twice is harmless.
--
-- Compatibility: the same files must run unchanged on Debian's ClickHouse 18.16.1 and on a
-- current server (see shared notes clickhouse-compat.md). Hence: extended MergeTree syntax only,
-- no DateTime64 (DateTime('UTC') + a <name>_ms UInt16 column holding the milliseconds), no
-- LowCardinality, codecs, TTL, skipping indexes, Map/JSON/Bool types, and no Nullable column in
-- any ORDER BY.
--
-- Redelivery: every table is a ReplacingMergeTree(version) whose ORDER BY is the record's
-- deterministic id, so writing a record twice leaves one row once merged. Readers must use
-- FINAL (or argMax(..., version)) to see exactly one row per id before merges happen.
-- version is the writer's wall-clock time in unix milliseconds; newer snapshots win.

CREATE DATABASE IF NOT EXISTS {db};
