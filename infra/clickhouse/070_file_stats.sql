-- Per-file accounting: rows read = valid + dead_lettered (input rows only: poison messages are in
-- poison_messages). A file that could not be opened or read has unreadable = 1, error = why, and
-- 0 rows; it is read once it can be, and its row then replaces this one. One dl_<reason> column per dead-letter
-- reason code (Vocabulary.cs DeadLetterReasons, pinned by a test). A new reason code needs a new
-- column; 18.16 has no ADD COLUMN IF NOT EXISTS, so such a migration cannot live in these
-- re-runnable files as a bare ALTER. A snapshot: a later write of the file replaces it.
CREATE TABLE IF NOT EXISTS {db}.file_stats
(
    file String,
    day Nullable(Date),
    rows UInt64,
    columns String,
    valid UInt64,
    dead_lettered UInt64,
    error Nullable(String),
    unreadable UInt8 DEFAULT 0,
    dl_oversized_row UInt64 DEFAULT 0,
    dl_unparseable_row UInt64 DEFAULT 0,
    dl_missing_client_id UInt64 DEFAULT 0,
    dl_invalid_timestamp UInt64 DEFAULT 0,
    dl_unknown_event_name UInt64 DEFAULT 0,
    dl_malformed_event_data UInt64 DEFAULT 0,
    dl_invalid_purchase UInt64 DEFAULT 0,
    dl_bot_user_agent UInt64 DEFAULT 0,
    dl_duplicate_event UInt64 DEFAULT 0,
    dl_duplicate_transaction_id UInt64 DEFAULT 0,
    dl_late_event UInt64 DEFAULT 0,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY file;
