-- Valid events, one row per event_id. A row written from a ValidEvent (before sessionization)
-- has empty session columns; the writer gives sessionized rows a version with bit 62 set so a
-- late redelivery of the unsessionized record never replaces the sessionized one.
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id String,
    session_id String,
    session_start DateTime('UTC'),
    session_start_ms UInt16,
    is_session_start UInt8,
    session_channel String,
    client_id String,
    ts DateTime('UTC'),
    ts_ms UInt16,
    day Date,
    event_name String,
    page_url Nullable(String),
    referrer Nullable(String),
    user_agent Nullable(String),
    device String,
    event_data Nullable(String),
    transaction_id Nullable(String),
    revenue Nullable(Decimal(18, 2)),
    source_file String,
    line Int64,
    stream_time DateTime('UTC'),
    stream_time_ms UInt16,
    landing_channel Nullable(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY event_id;
