using System.Globalization;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// The tables and columns of <see cref="SqliteSink"/> (its own DDL, translated) in a DuckDB file, for comparing the two
/// stores. Values are those SQLite holds: times and days as the same ISO text, integers as BIGINT (SQLite's INTEGER is
/// 64-bit), reals as DOUBLE. Rows are written on the calling thread, through DuckDB's appender (one per table) or
/// through prepared single-row INSERTs in transactions of 500,000 rows, as SQLite's are.
/// </summary>
internal sealed partial class DuckDbSink : IPipelineSink, IDisposable
{
    private const int RowsPerTransaction = 500_000;
    private readonly DuckDBConnection _db;
    private readonly bool _appender;
    private readonly RowWriter _events;
    private readonly RowWriter _deadLetters;
    private readonly RowWriter _sessions;
    private readonly RowWriter _orders;
    private readonly RowWriter _metrics;
    private DuckDBTransaction? _tx;
    private int _sinceCommit;

    public DuckDbSink(string path, bool appender)
    {
        File.Delete(path);
        File.Delete(path + ".wal");
        _db = new DuckDBConnection("Data Source=" + path);
        _db.Open();
        _appender = appender;
        using (var ddl = _db.CreateCommand())
        {
#pragma warning disable CA2100 // the SQLite sink's own DDL
            ddl.CommandText = Schema.Value;
#pragma warning restore CA2100
            ddl.ExecuteNonQuery();
        }

        if (!appender)
            _tx = _db.BeginTransaction();
        _events = Writer("events", 14);
        _deadLetters = Writer("dead_letters", 9);
        _sessions = Writer("sessions", 19);
        _orders = Writer("orders", 15);
        _metrics = Writer("metrics", 5);
    }

    /// <summary>
    /// The CREATE TABLE statements of a database <see cref="SqliteSink"/> wrote (every table, file_stats included),
    /// translated to DuckDB's types: TEXT is VARCHAR there, but INTEGER and REAL are 32-bit, so BIGINT and DOUBLE.
    /// </summary>
    private static readonly Lazy<string> Schema = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"puffy-schema-{Environment.ProcessId}.db");
        try
        {
            using (var empty = new SqliteSink(path))
                empty.Complete(new RunSummary());
            using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid";
            using var reader = cmd.ExecuteReader();
            var tables = new List<string>();
            while (reader.Read())
                tables.Add(SqliteTypes().Replace(Reserved().Replace(reader.GetString(0), "$1\"$2\""), m => m.Value switch
                {
                    "INTEGER" => "BIGINT",
                    "REAL" => "DOUBLE",
                    _ => "VARCHAR",
                }));
            return string.Join(";\n", tables);
        }
        finally
        {
            File.Delete(path);
        }
    });

    [GeneratedRegex(@"\b(INTEGER|REAL|TEXT)\b")]
    private static partial Regex SqliteTypes();

    // A column named with a word DuckDB reserves (sessions.end) must be quoted there.
    [GeneratedRegex(@"([(,]\s*)(end)(?=\s)")]
    private static partial Regex Reserved();

    public void OnEvent(SessionizedEvent sessionized)
    {
        var e = sessionized.Event;
        _events.Text(e.EventId).Text(sessionized.SessionId).Text(e.ClientId).Time(e.Timestamp).Text(e.EventName)
            .Text(e.PageUrl).Text(e.Referrer).Text(e.UserAgent).Text(e.Device).Text(e.EventData).Text(e.TransactionId)
            .Real((double?)e.Revenue).Text(e.SourceFile).Int(e.Line).End();
        Count();
    }

    public void OnDeadLetter(DeadLetter d)
    {
        _deadLetters.Text(d.SourceFile).Int(d.Line).Text(d.Reason).Text(RunSummary.SeverityText(d.Severity)).Text(d.Detail)
            .Text(d.OriginalRow).Text(d.EventId).Text(d.ClientId).Time(d.Timestamp).End();
        Count();
    }

    public void OnSession(Session x)
    {
        _sessions.Text(x.SessionId).Text(x.ClientId).Time(x.Start).Time(x.End)
            .Text(RunSummary.Day(DateOnly.FromDateTime(x.Start))).Int(x.EventCount).Int(x.PageViews).Int(x.EmailsFilled)
            .Int(x.AddsToCart).Int(x.CheckoutsStarted).Int(x.Purchases).Text(x.LandingPage).Text(x.LandingReferrer)
            .Text(x.Channel).Text(x.Device).Int(x.IsConverted ? 1 : 0).Int(x.Orders).Real((double)x.Revenue)
            .Text(x.TransactionIds.Count == 0 ? string.Empty : string.Join(",", x.TransactionIds)).End();
        Count();
    }

    public void OnOrder(AttributedOrder o)
    {
        _orders.Text(o.TransactionId).Text(o.ClientId).Text(o.EventId).Time(o.PurchaseTime).Real((double)o.Revenue)
            .Int(o.IsZeroRevenue ? 1 : 0).Text(o.SessionId).Int(o.Touchpoints).Real(o.DaysFromFirstTouch)
            .Text(o.FirstClick.Channel).Text(o.FirstClick.SessionId).Text(o.LastClick.Channel).Text(o.LastClick.SessionId)
            .Text(o.LastNonDirect.Channel).Text(o.LastNonDirect.SessionId).End();
        Count();
    }

    public void OnMetric(Metric m)
    {
        _metrics.Text(RunSummary.Day(m.Day)).Text(m.Name).Text(m.Dimension).Real(m.Value).Text(m.Source).End();
        Count();
    }

    private void Count()
    {
        if (_tx is null || ++_sinceCommit < RowsPerTransaction)
            return;
        _tx.Commit();
        _tx.Dispose();
        _tx = _db.BeginTransaction();
        _sinceCommit = 0;
    }

    /// <summary>Writes the last rows and the run-level tables, as <see cref="SqliteSink.Complete"/> does.</summary>
    public void Complete(RunSummary summary)
    {
        foreach (var w in new[] { _events, _deadLetters, _sessions, _orders, _metrics })
            w.Dispose();

        using (var w = Writer("marketing_daily", 8))
        {
            foreach (var r in summary.MarketingDaily)
            {
                w.Text(RunSummary.Day(r.Day)).Text(r.Model).Text(r.Channel).Int(r.Sessions).Int(r.ConvertedSessions).Int(r.Orders)
                    .Real((double)r.Revenue).Real(r.ConversionRate).End();
            }
        }

        using (var w = Writer("alerts", 6))
        {
            foreach (var a in summary.Alerts)
                w.Text(RunSummary.Day(a.Day)).Text(a.Rule).Text(RunSummary.SeverityText(a.Severity)).Real(a.Observed).Real(a.Threshold).Text(a.Message).End();
        }

        var reasons = DeadLetterReasons.All;
        using (var w = Writer("file_stats", 8 + reasons.Count))
        {
            foreach (var f in summary.Files.Values)
            {
                w.Text(f.File).Text(f.Day is { } d ? RunSummary.Day(d) : null).Int(f.Rows).Text(f.Columns).Int(f.Valid).Int(f.DeadLetteredTotal)
                    .Text(f.Error).Int(f.Unreadable ? 1 : 0);
                foreach (var r in reasons)
                    w.Int(f.DeadLettered.GetValueOrDefault(r));
                w.End();
            }
        }

        _tx?.Commit();
        _tx?.Dispose();
        _tx = null;
    }

    private RowWriter Writer(string table, int columns) =>
        _appender ? new AppenderWriter(_db.CreateAppender(table)) : new InsertWriter(_db, _tx, table, columns);

    /// <summary>Closes the database; DuckDB checkpoints its write-ahead log into the file here.</summary>
    public void Dispose()
    {
        _tx?.Dispose();
        _db.Dispose();
    }

    /// <summary>One row at a time, values in column order.</summary>
    private abstract class RowWriter : IDisposable
    {
        public abstract RowWriter Text(string? value);

        public abstract RowWriter Int(long value);

        public abstract RowWriter Real(double? value);

        public abstract void End();

        public abstract void Dispose();

        /// <summary>A UTC time as SQLite holds it: ISO-8601 with milliseconds (<c>2025-02-23T00:00:01.750Z</c>).</summary>
        public RowWriter Time(DateTime? value) =>
            Text(value?.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
    }

    private sealed class AppenderWriter(DuckDBAppender appender) : RowWriter
    {
        private IDuckDBAppenderRow? _row;

        private IDuckDBAppenderRow Row => _row ??= appender.CreateRow();

        public override RowWriter Text(string? value)
        {
            _row = value is null ? Row.AppendNullValue() : Row.AppendValue(value);
            return this;
        }

        // The appender takes each value at the width of its column: BIGINT and DOUBLE here.
        public override RowWriter Int(long value)
        {
            _row = Row.AppendValue((long?)value);
            return this;
        }

        public override RowWriter Real(double? value)
        {
            _row = Row.AppendValue(value);
            return this;
        }

        public override void End()
        {
            Row.EndRow();
            _row = null;
        }

        public override void Dispose() => appender.Dispose();
    }

    private sealed class InsertWriter : RowWriter
    {
        private readonly DuckDBCommand _cmd;
        private int _next;

        public InsertWriter(DuckDBConnection db, DuckDBTransaction? tx, string table, int columns)
        {
            _cmd = db.CreateCommand();
            _cmd.Transaction = tx;
#pragma warning disable CA2100 // table names are this class's own
            _cmd.CommandText = $"INSERT INTO {table} VALUES ({string.Join(",", Enumerable.Range(1, columns).Select(i => "$" + i.ToString(CultureInfo.InvariantCulture)))})";
#pragma warning restore CA2100
            for (var i = 0; i < columns; i++)
                _cmd.Parameters.Add(new DuckDBParameter());
            _cmd.Prepare();
        }

        public override RowWriter Text(string? value) => Set(value);

        public override RowWriter Int(long value) => Set(value);

        public override RowWriter Real(double? value) => Set(value);

        private InsertWriter Set(object? value)
        {
            _cmd.Parameters[_next++].Value = value ?? DBNull.Value;
            return this;
        }

        public override void End()
        {
            _cmd.ExecuteNonQuery();
            _next = 0;
        }

        public override void Dispose() => _cmd.Dispose();
    }
}
