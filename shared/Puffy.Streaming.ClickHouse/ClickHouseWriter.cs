using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;

namespace Puffy.Streaming.ClickHouse;

/// <summary>
/// Buffers pipeline records per table and inserts them as RowBinary batches: a table is flushed when it holds
/// <c>batchSize</c> rows, and everything on <see cref="FlushAsync"/> (call it before committing consumer offsets).
/// Rows carry a version (write time in unix ms) for the tables' ReplacingMergeTree, so redelivered records replace
/// rather than add. A failed flush keeps its rows for the next attempt. Not thread-safe: one writer per consumer loop.
/// </summary>
public sealed class ClickHouseWriter
{
    // A sessionized event must win over the same event written before it had a session, whatever the order of
    // (re)delivery, so its version sorts above every plain write-time version.
    private const ulong SessionizedVersionBit = 1UL << 62;

    private readonly ClickHouseClient _client;
    private readonly TimeProvider _clock;
    private readonly int _batchSize;
    private readonly Table<(ValidEvent Event, SessionizedEvent? Sessionized)> _events;
    private readonly Table<DeadLetter> _deadLetters;
    private readonly Table<Session> _sessions;
    private readonly Table<AttributedOrder> _orders;
    private readonly Table<MarketingDailyRow> _marketing;
    private readonly Table<Alert> _alerts;
    private readonly Table<FileStatsRow> _fileStats;
    private readonly Table<PoisonMessageRow> _poison;
    private readonly ITable[] _tables;

    public ClickHouseWriter(ClickHouseClient client, int batchSize = 50_000, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _client = client;
        _clock = clock ?? TimeProvider.System;
        _batchSize = batchSize;
        _events = new(Tables.Events, EventColumns, WriteEvent);
        _deadLetters = new(Tables.DeadLetters, DeadLetterColumns, WriteDeadLetter);
        _sessions = new(Tables.Sessions, SessionColumns, WriteSession);
        _orders = new(Tables.Orders, OrderColumns, WriteOrder);
        _marketing = new(Tables.MarketingDaily, MarketingColumns, WriteMarketing);
        _alerts = new(Tables.Alerts, AlertColumns, WriteAlert);
        _fileStats = new(Tables.FileStats, FileStatsColumns, WriteFileStats);
        _poison = new(Tables.PoisonMessages, PoisonColumns, WritePoison);
        _tables = [_events, _deadLetters, _sessions, _orders, _marketing, _alerts, _fileStats, _poison];
    }

    /// <summary>Rows buffered and not yet written.</summary>
    public int Pending => _tables.Sum(t => t.Count);

    public ValueTask AddAsync(SessionizedEvent sessionized, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionized);
        return AddAsync(_events, (sessionized.Event, sessionized), cancellationToken);
    }

    /// <summary>An event before sessionization: its session columns stay empty until the sessionized record arrives.</summary>
    public ValueTask AddAsync(ValidEvent valid, CancellationToken cancellationToken = default) => AddAsync(_events, (valid, null), cancellationToken);

    public ValueTask AddAsync(DeadLetter deadLetter, CancellationToken cancellationToken = default) => AddAsync(_deadLetters, deadLetter, cancellationToken);

    public ValueTask AddAsync(Session session, CancellationToken cancellationToken = default) => AddAsync(_sessions, session, cancellationToken);

    public ValueTask AddAsync(AttributedOrder order, CancellationToken cancellationToken = default) => AddAsync(_orders, order, cancellationToken);

    public ValueTask AddAsync(MarketingDailyRow row, CancellationToken cancellationToken = default) => AddAsync(_marketing, row, cancellationToken);

    public ValueTask AddAsync(Alert alert, CancellationToken cancellationToken = default) => AddAsync(_alerts, alert, cancellationToken);

    public ValueTask AddAsync(FileStatsRow stats, CancellationToken cancellationToken = default) => AddAsync(_fileStats, stats, cancellationToken);

    public ValueTask AddAsync(PoisonMessageRow poison, CancellationToken cancellationToken = default) => AddAsync(_poison, poison, cancellationToken);

    /// <summary>Writes every buffered row. When it returns, all records added so far are stored.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        foreach (var table in _tables)
            await table.FlushAsync(_client, Version(), cancellationToken);
    }

    /// <summary>Throws <see cref="UnstorableRowException"/>, and keeps nothing, when the row's values do not fit its table.</summary>
    private ValueTask AddAsync<T>(Table<T> table, T row, CancellationToken cancellationToken)
    {
        table.Add(row);
        return table.Count >= _batchSize ? new ValueTask(table.FlushAsync(_client, Version(), cancellationToken)) : ValueTask.CompletedTask;
    }

    private ulong Version() => (ulong)_clock.GetUtcNow().ToUnixTimeMilliseconds();

    private interface ITable
    {
        int Count { get; }

        Task FlushAsync(ClickHouseClient client, ulong version, CancellationToken cancellationToken);
    }

    /// <summary>
    /// A table's pending rows, encoded once, on arrival. Every row ends with its version column (<c>UInt64</c>), written
    /// as <c>version | bits</c> where the bits do not depend on the version: the row is encoded with version 0, which
    /// leaves just the bits there, and each flush writes its own version over them.
    /// </summary>
    private sealed class Table<T>(string name, string[] columns, Action<RowBinaryWriter, T, ulong> write) : ITable
    {
        private readonly RowBinaryWriter _body = new(4096);
        private readonly List<(int At, ulong Bits)> _versions = [];

        public int Count => _versions.Count;

        public void Add(T row)
        {
            // A row that cannot be stored (a day before 1970, a negative count) is refused here, where its sender is
            // known, instead of failing every later flush of the batch.
            var start = _body.Length;
            try
            {
                write(_body, row, 0);
            }
            catch (Exception e) when (e is OverflowException or ArgumentException)
            {
                _body.Truncate(start);
                throw new UnstorableRowException($"a {name} row cannot be stored: {e.Message}", e);
            }

            var at = _body.Length - sizeof(ulong);
            _versions.Add((at, _body.UInt64At(at)));
        }

        public async Task FlushAsync(ClickHouseClient client, ulong version, CancellationToken cancellationToken)
        {
            if (_versions.Count == 0)
                return;
            foreach (var (at, bits) in _versions)
                _body.SetUInt64At(at, bits | version);
            await client.InsertRowBinaryAsync(name, columns, _body.WrittenMemory, cancellationToken);
            _body.Reset();
            _versions.Clear();
        }
    }

    internal static readonly string[] EventColumns =
    [
        "event_id", "session_id", "session_start", "session_start_ms", "is_session_start", "session_channel", "client_id",
        "ts", "ts_ms", "day", "event_name", "page_url", "referrer", "user_agent", "device", "event_data", "transaction_id",
        "revenue", "source_file", "line", "stream_time", "stream_time_ms", "landing_channel", "version",
    ];

    private static void WriteEvent(RowBinaryWriter w, (ValidEvent Event, SessionizedEvent? Sessionized) row, ulong version)
    {
        var (e, s) = row;
        w.String(e.EventId).String(s?.SessionId ?? string.Empty);
        var sessionStart = s?.SessionStart ?? DateTime.UnixEpoch;
        w.DateTime(sessionStart).Milliseconds(sessionStart).Bool(s?.IsSessionStart ?? false).String(s?.SessionChannel ?? string.Empty)
            .String(e.ClientId).DateTime(e.Timestamp).Milliseconds(e.Timestamp).Date(DateOnly.FromDateTime(e.Timestamp))
            .String(e.EventName).NullableString(e.PageUrl).NullableString(e.Referrer).NullableString(e.UserAgent).String(e.Device)
            .NullableString(e.EventData).NullableString(e.TransactionId).NullableDecimal18x2(e.Revenue).String(e.SourceFile)
            .Int64(e.Line).DateTime(e.StreamTime).Milliseconds(e.StreamTime).NullableString(e.LandingChannel)
            .UInt64(s is null ? version : version | SessionizedVersionBit);
    }

    internal static readonly string[] DeadLetterColumns =
    [
        "source_file", "line", "reason", "source_key", "severity", "detail", "file_day", "original_row", "event_id",
        "client_id", "ts", "ts_ms", "source_topic", "source_partition", "source_offset", "version",
    ];

    /// <summary>Distinguishes poison messages (no file line) by their Kafka position; empty for rows of a file.</summary>
    public static string SourceKey(DeadLetter deadLetter)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        return deadLetter.Reason == DeadLetterReasons.PoisonMessage && deadLetter.SourceTopic is not null
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{deadLetter.SourceTopic}/{deadLetter.SourcePartition}/{deadLetter.SourceOffset}")
            : string.Empty;
    }

    private static void WriteDeadLetter(RowBinaryWriter w, DeadLetter d, ulong version) =>
        w.String(d.SourceFile).Int64(d.Line).String(d.Reason).String(SourceKey(d)).String(SeverityText(d.Severity)).String(d.Detail)
            .NullableDate(d.FileDay).String(d.OriginalRow).NullableString(d.EventId).NullableString(d.ClientId)
            .NullableDateTime(Storable(d.Timestamp)).NullableMilliseconds(Storable(d.Timestamp)).NullableString(d.SourceTopic)
            .NullableInt32(d.SourcePartition).NullableInt64(d.SourceOffset).UInt64(version);

    internal static readonly string[] SessionColumns =
    [
        "session_id", "client_id", "start", "start_ms", "end", "end_ms", "day", "event_count", "page_views", "emails_filled",
        "adds_to_cart", "checkouts_started", "purchases", "landing_page", "landing_referrer", "channel", "device",
        "is_converted", "orders", "revenue", "transaction_ids", "version",
    ];

    private static void WriteSession(RowBinaryWriter w, Session s, ulong version) =>
        w.String(s.SessionId).String(s.ClientId).DateTime(s.Start).Milliseconds(s.Start).DateTime(s.End).Milliseconds(s.End)
            .Date(DateOnly.FromDateTime(s.Start)).UInt32(Count(s.EventCount)).UInt32(Count(s.PageViews)).UInt32(Count(s.EmailsFilled))
            .UInt32(Count(s.AddsToCart)).UInt32(Count(s.CheckoutsStarted)).UInt32(Count(s.Purchases)).NullableString(s.LandingPage)
            .NullableString(s.LandingReferrer).String(s.Channel).String(s.Device).Bool(s.IsConverted).UInt32(Count(s.Orders))
            .Decimal18x2(s.Revenue).StringArray(s.TransactionIds).UInt64(version);

    internal static readonly string[] OrderColumns =
    [
        "transaction_id", "client_id", "event_id", "purchase_time", "purchase_time_ms", "day", "revenue", "is_zero_revenue",
        "session_id", "touchpoints", "days_from_first_touch",
        "first_click_channel", "first_click_session_id", "first_click_session_start", "first_click_session_start_ms",
        "last_click_channel", "last_click_session_id", "last_click_session_start", "last_click_session_start_ms",
        "last_non_direct_channel", "last_non_direct_session_id", "last_non_direct_session_start", "last_non_direct_session_start_ms",
        "version",
    ];

    private static void WriteOrder(RowBinaryWriter w, AttributedOrder o, ulong version)
    {
        w.String(o.TransactionId).String(o.ClientId).String(o.EventId).DateTime(o.PurchaseTime).Milliseconds(o.PurchaseTime)
            .Date(DateOnly.FromDateTime(o.PurchaseTime)).Decimal18x2(o.Revenue).Bool(o.IsZeroRevenue).String(o.SessionId)
            .UInt32(Count(o.Touchpoints)).Float64(o.DaysFromFirstTouch);
        foreach (var touch in (ReadOnlySpan<Touch>)[o.FirstClick, o.LastClick, o.LastNonDirect])
            w.String(touch.Channel).String(touch.SessionId).DateTime(touch.SessionStart).Milliseconds(touch.SessionStart);
        w.UInt64(version);
    }

    internal static readonly string[] MarketingColumns =
        ["day", "model", "channel", "sessions", "converted_sessions", "orders", "revenue", "conversion_rate", "version"];

    private static void WriteMarketing(RowBinaryWriter w, MarketingDailyRow r, ulong version) =>
        w.Date(r.Day).String(r.Model).String(r.Channel).UInt64(Count(r.Sessions)).UInt64(Count(r.ConvertedSessions))
            .UInt64(Count(r.Orders)).Decimal18x2(r.Revenue).Float64(r.ConversionRate).UInt64(version);

    internal static readonly string[] AlertColumns = ["rule", "day", "severity", "observed", "threshold", "message", "version"];

    /// <summary>The day stored for an alert without one: a key column cannot be Nullable.</summary>
    public static readonly DateOnly NoDay = DateOnly.FromDateTime(DateTime.UnixEpoch);

    private static void WriteAlert(RowBinaryWriter w, Alert a, ulong version) =>
        w.String(a.Rule).Date(a.Day ?? NoDay).String(SeverityText(a.Severity)).Float64(a.Observed).Float64(a.Threshold)
            .String(a.Message).UInt64(version);

    internal static readonly string[] FileStatsColumns =
        ["file", "day", "rows", "columns", "valid", "dead_lettered", "error", "unreadable", .. DeadLetterReasons.All.Select(r => "dl_" + r), "version"];

    private static void WriteFileStats(RowBinaryWriter w, FileStatsRow f, ulong version)
    {
        // A reason code newer than the table's dl_ columns still counts in dead_lettered.
        w.String(f.File).NullableDate(f.Day).UInt64(Count(f.Rows)).String(f.Columns).UInt64(Count(f.Valid))
            .UInt64(Count(f.DeadLetteredTotal)).NullableString(f.Error).Bool(f.Unreadable);
        foreach (var reason in DeadLetterReasons.All)
            w.UInt64(Count(f.DeadLettered.GetValueOrDefault(reason)));
        w.UInt64(version);
    }

    internal static readonly string[] PoisonColumns =
        ["source_topic", "source_partition", "source_offset", "reason", "detail", "found_by", "message_key", "excerpt_base64", "bytes", "received", "version"];

    private static void WritePoison(RowBinaryWriter w, PoisonMessageRow p, ulong version) =>
        w.String(p.Topic).Int32(p.Partition).Int64(p.Offset).String(p.Reason).String(p.Detail).String(p.FoundBy).String(p.Key)
            .String(p.ExcerptBase64).UInt64(Count(p.Bytes)).DateTime(p.Received).UInt64(version);

    /// <summary>Lower-case severity name, as in the embedded SQLite output.</summary>
    public static string SeverityText(Severity severity) => severity switch
    {
        Severity.Info => "info",
        Severity.Warning => "warning",
        Severity.Error => "error",
        Severity.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "unknown severity"),
    };

    // A dead letter may carry a time ClickHouse's DateTime cannot hold (its reason may be exactly that); store null
    // rather than fail the batch.
    private static DateTime? Storable(DateTime? value) => value is { } v && RowBinaryWriter.IsStorable(v) ? v : null;

    private static uint Count(int value) => checked((uint)value);

    private static ulong Count(long value) => checked((ulong)value);
}

/// <summary>Names of the analyst tables (infra/clickhouse).</summary>
public static class Tables
{
    public const string Events = "events";
    public const string DeadLetters = "dead_letters";
    public const string Sessions = "sessions";
    public const string Orders = "orders";
    public const string MarketingDaily = "marketing_daily";
    public const string Alerts = "alerts";
    public const string FileStats = "file_stats";
    public const string PoisonMessages = "poison_messages";

    public static IReadOnlyList<string> All { get; } = [Events, DeadLetters, Sessions, Orders, MarketingDaily, Alerts, FileStats, PoisonMessages];
}

/// <summary>A record whose values its ClickHouse table cannot hold; it was not added.</summary>
public sealed class UnstorableRowException(string message, Exception inner) : Exception(message, inner);
