-- Rejected input rows, one per (source_file, line, reason). Messages on the bus that are not input
-- rows are not here but in poison_messages. source_key is empty (a column kept for tables created
-- when poison messages were stored here). file_day and ts are null when unknown.
CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    source_file String,
    line Int64,
    reason String,
    source_key String,
    severity String,
    detail String,
    file_day Nullable(Date),
    original_row String,
    event_id Nullable(String),
    client_id Nullable(String),
    ts Nullable(DateTime('UTC')),
    ts_ms Nullable(UInt16),
    source_topic Nullable(String),
    source_partition Nullable(Int32),
    source_offset Nullable(Int64),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source_file, line, reason, source_key);
