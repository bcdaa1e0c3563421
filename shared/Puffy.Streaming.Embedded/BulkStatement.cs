using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Puffy.Streaming.Embedded;

/// <summary>
/// A prepared INSERT driven through SQLite's own statement API: binding values directly costs a fraction of the
/// ADO.NET parameter path, which matters when millions of rows are written.
/// </summary>
internal sealed class BulkStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private int _next = 1;

    public BulkStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _stmt));
    }

    public BulkStatement Text(string? value)
    {
        Check(value is null ? raw.sqlite3_bind_null(_stmt, _next++) : raw.sqlite3_bind_text16(_stmt, _next++, value.AsSpan()));
        return this;
    }

    public BulkStatement Text(ReadOnlySpan<char> value)
    {
        Check(raw.sqlite3_bind_text16(_stmt, _next++, value));
        return this;
    }

    /// <summary>A UTC time as ISO-8601 with milliseconds, formatted without allocating.</summary>
    public BulkStatement Time(DateTime? value)
    {
        if (value is not { } t)
            return Text((string?)null);
        Span<char> buffer = stackalloc char[24];
        t.TryFormat(buffer, out var n, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        return Text(buffer[..n]);
    }

    /// <summary>A day as YYYY-MM-DD, formatted without allocating.</summary>
    public BulkStatement Day(DateOnly? value)
    {
        if (value is not { } d)
            return Text("unknown".AsSpan());
        Span<char> buffer = stackalloc char[10];
        d.TryFormat(buffer, out var n, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return Text(buffer[..n]);
    }

    public BulkStatement Int(long value)
    {
        Check(raw.sqlite3_bind_int64(_stmt, _next++, value));
        return this;
    }

    public BulkStatement Real(double? value)
    {
        Check(value is { } v ? raw.sqlite3_bind_double(_stmt, _next++, v) : raw.sqlite3_bind_null(_stmt, _next++));
        return this;
    }

    /// <summary>Inserts the bound row and gets ready for the next one.</summary>
    public void Run()
    {
        var rc = raw.sqlite3_step(_stmt);
        if (rc != raw.SQLITE_DONE)
            Check(rc);
        raw.sqlite3_reset(_stmt);
        _next = 1;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
            throw new SqliteException($"SQLite error {rc}: {raw.sqlite3_errmsg(_db).utf8_to_string()}", rc);
    }

    public void Dispose() => _stmt.Dispose();
}
