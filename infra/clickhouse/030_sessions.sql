-- Closed 30-minute sessions, one row per session_id. day is the UTC date of start.
CREATE TABLE IF NOT EXISTS {db}.sessions
(
    session_id String,
    client_id String,
    start DateTime('UTC'),
    start_ms UInt16,
    end DateTime('UTC'),
    end_ms UInt16,
    day Date,
    event_count UInt32,
    page_views UInt32,
    emails_filled UInt32,
    adds_to_cart UInt32,
    checkouts_started UInt32,
    purchases UInt32,
    landing_page Nullable(String),
    landing_referrer Nullable(String),
    channel String,
    device String,
    is_converted UInt8,
    orders UInt32,
    revenue Decimal(18, 2),
    transaction_ids Array(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY session_id;
