-- Alerts, raised once per (rule, day). An alert without a day is stored with Date 0 (1970-01-01;
-- 18.16 prints it as 0000-00-00), because a key column cannot be Nullable.
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    rule String,
    day Date,
    severity String,
    observed Float64,
    threshold Float64,
    message String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (rule, day);
