-- Daily marketing table (semantics §7): per UTC day of session start x attribution model x
-- channel. A snapshot: a later write of the same (day, model, channel) replaces the earlier one.
CREATE TABLE IF NOT EXISTS {db}.marketing_daily
(
    day Date,
    model String,
    channel String,
    sessions UInt64,
    converted_sessions UInt64,
    orders UInt64,
    revenue Decimal(18, 2),
    conversion_rate Float64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (day, model, channel);
