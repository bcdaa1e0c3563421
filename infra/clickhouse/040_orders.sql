-- Attributed orders (purchases with 7-day attribution), one row per transaction_id. Each model's
-- credited touchpoint is stored as channel, session id and session start.
CREATE TABLE IF NOT EXISTS {db}.orders
(
    transaction_id String,
    client_id String,
    event_id String,
    purchase_time DateTime('UTC'),
    purchase_time_ms UInt16,
    day Date,
    revenue Decimal(18, 2),
    is_zero_revenue UInt8,
    session_id String,
    touchpoints UInt32,
    days_from_first_touch Float64,
    first_click_channel String,
    first_click_session_id String,
    first_click_session_start DateTime('UTC'),
    first_click_session_start_ms UInt16,
    last_click_channel String,
    last_click_session_id String,
    last_click_session_start DateTime('UTC'),
    last_click_session_start_ms UInt16,
    last_non_direct_channel String,
    last_non_direct_session_id String,
    last_non_direct_session_start DateTime('UTC'),
    last_non_direct_session_start_ms UInt16,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY transaction_id;
