-- Poison messages: messages on the bus that are not input rows and that no service can take -- bytes
-- that do not decode (bad framing, unknown schema id, broken body), metrics the monitor rejects
-- (unknown name or producer, unknown file, a value out of range) and messages whose values no
-- table can hold. Never counted in the row accounting (file_stats, dead_letters). One row per
-- Kafka message: redelivery replaces it. excerpt_base64 holds the message's first 1 KiB.
CREATE TABLE IF NOT EXISTS {db}.poison_messages
(
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    reason String,
    detail String,
    found_by String,
    message_key String,
    excerpt_base64 String,
    bytes UInt64,
    received DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source_topic, source_partition, source_offset);
