using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded;

/// <summary>
/// Writes the run into a SQLite database an analyst can open with <c>sqlite3</c>. Rows are handed to a writer
/// thread in batches, so inserting runs on the second core while the pipeline runs on the first.
/// </summary>
public sealed class SqliteSink : IPipelineSink, IDisposable
{
    private const int BatchSize = 1024;
    private readonly string _path;
    private readonly BlockingCollection<object[]> _queue = new(boundedCapacity: 8);
    private readonly Thread _writer;
    private readonly List<object> _events = new(BatchSize);
    private readonly List<object> _other = new(256);
    private SqliteConnection? _db;
    private Exception? _failure;
    private bool _disposed;

    // A connection here is used by one thread at a time (the writer thread, then the caller once the writer finished),
    // so SQLite's default "serialized" mode, which takes a lock inside every call (each bind, each step), only costs
    // time; so does counting every allocation (memory statistics take a global lock). Both are settings of the whole
    // process that SQLite accepts only before its first connection opens: when one opened earlier, it answers
    // SQLITE_MISUSE and keeps its defaults, which changes nothing but speed.
    private static readonly Lazy<bool> Configured = new(() =>
    {
        SQLitePCL.Batteries_V2.Init();
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MULTITHREAD);
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MEMSTATUS, 0);
        return true;
    });

    /// <summary>
    /// Starts the writer thread, which creates the database (replacing a file at <paramref name="path"/>) while the
    /// caller goes on: loading SQLite and creating the schema overlap with reading the first file. A failure to create
    /// it surfaces on the next batch or at <see cref="Complete"/>, as any failure to write does.
    /// </summary>
    public SqliteSink(string path)
    {
        _path = path;
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "sqlite-writer" };
        _writer.Start();
    }

    private SqliteConnection Create()
    {
        _ = Configured.Value;
        if (File.Exists(_path))
            File.Delete(_path);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString());
        try
        {
            db.Open();
            Execute(db, Schema);
        }
        catch
        {
            db.Dispose();
            throw;
        }

        return db;
    }

    // A small page cache (2 MiB): with no journal and one long transaction, SQLite writes pages out as the cache fills
    // instead of holding the whole database (30 MiB on the real data) in memory until the commit; the process then
    // touches that much less fresh memory, and first-touch page faults were a fifth of its CPU.
    private const string Schema = """
        PRAGMA page_size = 65536;
        PRAGMA locking_mode = EXCLUSIVE;
        PRAGMA journal_mode = OFF;
        PRAGMA synchronous = OFF;
        PRAGMA temp_store = MEMORY;
        PRAGMA cache_size = -2048;
        CREATE TABLE events (
            event_id TEXT NOT NULL, session_id TEXT NOT NULL, client_id TEXT NOT NULL, ts TEXT NOT NULL,
            event_name TEXT NOT NULL, page_url TEXT, referrer TEXT, user_agent TEXT, device TEXT NOT NULL,
            event_data TEXT, transaction_id TEXT, revenue REAL, source_file TEXT NOT NULL, line INTEGER NOT NULL);
        CREATE TABLE dead_letters (
            source_file TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT NOT NULL, severity TEXT NOT NULL,
            detail TEXT NOT NULL, original_row TEXT NOT NULL, event_id TEXT, client_id TEXT, ts TEXT);
        CREATE TABLE sessions (
            session_id TEXT NOT NULL, client_id TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL,
            day TEXT NOT NULL, event_count INTEGER NOT NULL, page_views INTEGER NOT NULL, emails_filled INTEGER NOT NULL,
            adds_to_cart INTEGER NOT NULL, checkouts_started INTEGER NOT NULL, purchases INTEGER NOT NULL,
            landing_page TEXT, landing_referrer TEXT, channel TEXT NOT NULL, device TEXT NOT NULL,
            is_converted INTEGER NOT NULL, orders INTEGER NOT NULL, revenue REAL NOT NULL, transaction_ids TEXT NOT NULL);
        CREATE TABLE orders (
            transaction_id TEXT NOT NULL PRIMARY KEY, client_id TEXT NOT NULL, event_id TEXT NOT NULL,
            purchase_time TEXT NOT NULL, revenue REAL NOT NULL, is_zero_revenue INTEGER NOT NULL, session_id TEXT NOT NULL,
            touchpoints INTEGER NOT NULL, days_from_first_touch REAL NOT NULL,
            first_click_channel TEXT NOT NULL, first_click_session_id TEXT NOT NULL,
            last_click_channel TEXT NOT NULL, last_click_session_id TEXT NOT NULL,
            last_non_direct_channel TEXT NOT NULL, last_non_direct_session_id TEXT NOT NULL);
        CREATE TABLE marketing_daily (
            day TEXT NOT NULL, model TEXT NOT NULL, channel TEXT NOT NULL, sessions INTEGER NOT NULL,
            converted_sessions INTEGER NOT NULL, orders INTEGER NOT NULL, revenue REAL NOT NULL, conversion_rate REAL NOT NULL,
            PRIMARY KEY (day, model, channel));
        CREATE TABLE alerts (
            day TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, observed REAL NOT NULL, threshold REAL NOT NULL,
            message TEXT NOT NULL, PRIMARY KEY (rule, day));
        CREATE TABLE metrics (
            day TEXT NOT NULL, name TEXT NOT NULL, dimension TEXT NOT NULL, value REAL NOT NULL, source TEXT NOT NULL);
        """;

    public void OnDeadLetter(DeadLetter deadLetter) => AddOther(deadLetter);

    public void OnEvent(SessionizedEvent sessionized)
    {
        _events.Add(sessionized);
        if (_events.Count >= BatchSize)
            Flush(_events);
    }

    public void OnSession(Session session) => AddOther(session);

    public void OnOrder(AttributedOrder order) => AddOther(order);

    public void OnMetric(Metric metric) => AddOther(metric);

    private void AddOther(object item)
    {
        _other.Add(item);
        if (_other.Count >= BatchSize)
            Flush(_other);
    }

    private void Flush(List<object> items)
    {
        if (items.Count == 0)
            return;
        if (_failure is not null)
            throw Failed();
        _queue.Add([.. items]);
        items.Clear();
    }

    /// <summary>Waits for every row to be written, then writes the run-level tables.</summary>
    public void Complete(RunSummary summary)
    {
        Flush(_events);
        Flush(_other);
        _queue.CompleteAdding();
        _writer.Join();
        if (_failure is not null || _db is null)
            throw Failed();

        using var tx = _db.BeginTransaction();
        using (var cmd = Command(tx, "INSERT INTO marketing_daily VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", 8))
        {
            foreach (var r in summary.MarketingDaily)
                Run(cmd, RunSummary.Day(r.Day), r.Model, r.Channel, r.Sessions, r.ConvertedSessions, r.Orders, (double)r.Revenue, r.ConversionRate);
        }

        using (var cmd = Command(tx, "INSERT INTO alerts VALUES ($1,$2,$3,$4,$5,$6)", 6))
        {
            foreach (var a in summary.Alerts)
                Run(cmd, RunSummary.Day(a.Day), a.Rule, RunSummary.SeverityText(a.Severity), a.Observed, a.Threshold, a.Message);
        }

        var reasons = DeadLetterReasons.All;
        var columns = string.Join(", ", reasons.Select(r => $"dl_{r} INTEGER NOT NULL DEFAULT 0"));
        Execute(_db, $"CREATE TABLE file_stats (file TEXT NOT NULL PRIMARY KEY, day TEXT, rows INTEGER NOT NULL, columns TEXT NOT NULL, valid INTEGER NOT NULL, dead_lettered INTEGER NOT NULL, error TEXT, unreadable INTEGER NOT NULL, {columns})", tx);
        var names = string.Join(", ", reasons.Select(r => $"dl_{r}"));
        var marks = string.Join(",", Enumerable.Range(9, reasons.Count).Select(i => $"${i}"));
        using (var cmd = Command(tx, $"INSERT INTO file_stats (file, day, rows, columns, valid, dead_lettered, error, unreadable, {names}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,{marks})", 8 + reasons.Count))
        {
            foreach (var f in summary.Files.Values)
            {
                object?[] values = [f.File, f.Day is { } d ? RunSummary.Day(d) : null, f.Rows, f.Columns, f.Valid, f.DeadLetteredTotal, f.Error, f.Unreadable ? 1 : 0,
                    .. reasons.Select(r => (object?)f.DeadLettered.GetValueOrDefault(r))];
                Run(cmd, values);
            }
        }

        // No secondary indexes: on the x100 scale-up the three took 22 CPU-s to build, while the
        // report and the summary queries scan or group whole tables. The README lists them for an analyst who looks
        // sessions up one by one.
        tx.Commit();
    }

    private InvalidOperationException Failed() => new($"writing the SQLite database {_path} failed: {_failure?.Message}", _failure);

    private void WriteLoop()
    {
        try
        {
            var db = _db = Create();
            SqliteTransaction? tx = null;
            var sinceCommit = 0;
            using var ev = new BulkStatement(db, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            using var dl = new BulkStatement(db, "INSERT INTO dead_letters VALUES (?,?,?,?,?,?,?,?,?)");
            using var se = new BulkStatement(db, "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            using var or = new BulkStatement(db, "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            using var me = new BulkStatement(db, "INSERT INTO metrics VALUES (?,?,?,?,?)");
            foreach (var batch in _queue.GetConsumingEnumerable())
            {
                tx ??= db.BeginTransaction();
                foreach (var item in batch)
                {
                    switch (item)
                    {
                        case SessionizedEvent s:
                            var e = s.Event;
                            ev.EventId(e).SessionId(s).Text(e.ClientId).Time(e.Timestamp).Text(e.EventName)
                                .PageUrl(e).Text(e.Referrer).Text(e.UserAgent).Text(e.Device).Text(e.EventData).Text(e.TransactionId)
                                .Real((double?)e.Revenue).Text(e.SourceFile).Int(e.Line).Run();
                            break;
                        case DeadLetter d:
                            dl.Text(d.SourceFile).Int(d.Line).Text(d.Reason).Text(RunSummary.SeverityText(d.Severity)).Text(d.Detail)
                                .OriginalRow(d).Text(d.EventId).Text(d.ClientId).Time(d.Timestamp).Run();
                            break;
                        case Session x:
                            se.SessionId(x).Text(x.ClientId).Time(x.Start).Time(x.End)
                                .Day(DateOnly.FromDateTime(x.Start)).Int(x.EventCount).Int(x.PageViews).Int(x.EmailsFilled)
                                .Int(x.AddsToCart).Int(x.CheckoutsStarted).Int(x.Purchases).LandingPage(x).Text(x.LandingReferrer)
                                .Text(x.Channel).Text(x.Device).Int(x.IsConverted ? 1 : 0).Int(x.Orders).Real((double)x.Revenue)
                                .Text(x.TransactionIds.Count == 0 ? string.Empty : string.Join(",", x.TransactionIds)).Run();
                            break;
                        case AttributedOrder o:
                            or.Text(o.TransactionId).Text(o.ClientId).Text(o.EventId).Time(o.PurchaseTime).Real((double)o.Revenue)
                                .Int(o.IsZeroRevenue ? 1 : 0).Text(o.SessionId).Int(o.Touchpoints).Real(o.DaysFromFirstTouch)
                                .Text(o.FirstClick.Channel).Text(o.FirstClick.SessionId).Text(o.LastClick.Channel).Text(o.LastClick.SessionId)
                                .Text(o.LastNonDirect.Channel).Text(o.LastNonDirect.SessionId).Run();
                            break;
                        case Metric m:
                            me.Day(m.Day).Text(m.Name).Text(m.Dimension).Real(m.Value).Text(m.Source).Run();
                            break;
                    }
                }

                sinceCommit += batch.Length;
                if (sinceCommit >= 500_000)
                {
                    tx.Commit();
                    tx.Dispose();
                    tx = null;
                    sinceCommit = 0;
                }
            }

            tx?.Commit();
            tx?.Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _failure = e;
            // Keep draining so the producer never blocks on a dead writer; it sees _failure on its next batch.
            foreach (var _ in _queue.GetConsumingEnumerable())
            {
            }
        }
    }

    private SqliteCommand Command(SqliteTransaction tx, string sql, int parameters)
    {
        var cmd = _db!.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // statement text is fixed by this class; values go through parameters
        cmd.CommandText = sql;
#pragma warning restore CA2100
        for (var i = 1; i <= parameters; i++)
            cmd.Parameters.Add(new SqliteParameter("$" + i.ToString(CultureInfo.InvariantCulture), null));
        cmd.Prepare();
        return cmd;
    }

    private static void Run(SqliteCommand cmd, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
            cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        cmd.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // fixed DDL
        cmd.CommandText = sql;
#pragma warning restore CA2100
        cmd.ExecuteNonQuery();
    }

    /// <summary>Closes the database (releasing its exclusive lock so it can be read); safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_queue.IsAddingCompleted)
            _queue.CompleteAdding();
        if (_writer.IsAlive)
            _writer.Join();
        _queue.Dispose();
        _db?.Dispose();
    }
}

/// <summary>What the pipeline keeps as numbers or UTF-8 is written from them, without making its text.</summary>
internal static class KeptColumns
{
    public static BulkStatement OriginalRow(this BulkStatement row, DeadLetter d) =>
        d.TryGetOriginalRowUtf8(out var utf8) ? row.Utf8(utf8) : row.Text(d.OriginalRow);

    public static BulkStatement PageUrl(this BulkStatement row, ValidEvent e) =>
        e.TryGetPageUrlUtf8(out var utf8) ? row.Utf8(utf8.Span) : row.Text(e.PageUrl);

    public static BulkStatement LandingPage(this BulkStatement row, Session s) =>
        s.TryGetLandingPageUtf8(out var utf8) ? row.Utf8(utf8) : row.Text(s.LandingPage);

    public static BulkStatement EventId(this BulkStatement row, ValidEvent e) =>
        e.TryGetIdNumber(out var id) ? row.Id(string.Empty, id) : row.Text(e.EventId);

    public static BulkStatement SessionId(this BulkStatement row, SessionizedEvent s) =>
        s.TryGetSessionNumber(out var id) ? row.Id(Session.IdPrefix, id) : row.Text(s.SessionId);

    public static BulkStatement SessionId(this BulkStatement row, Session s) =>
        s.TryGetIdNumber(out var id) ? row.Id(Session.IdPrefix, id) : row.Text(s.SessionId);
}
