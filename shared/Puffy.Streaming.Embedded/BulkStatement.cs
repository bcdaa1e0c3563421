using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded;

/// <summary>
/// A prepared INSERT driven through SQLite's C API directly. Text is encoded to UTF-8 (the database's encoding) into
/// one buffer per row and bound without a copy, and the bind calls skip the GC transition: per value that is
/// a few nanoseconds instead of a SafeHandle round trip and a UTF-16 conversion inside SQLite, which matters when
/// millions of rows are written. The buffer is native memory, not a pinned array: five statements' pinned 1 MiB
/// arrays counted towards the collector's large-object budget and set off collections of every generation (a run of
/// the real data went from 9–12 collections to 5).
/// </summary>
internal sealed unsafe class BulkStatement : IDisposable
{
    // Room for a row's text; a value that does not fit what is left is bound as a copy instead (SQLITE_TRANSIENT).
    private const int ScratchBytes = 1 << 20;
    private static readonly nint Static = 0;
    private static readonly nint Transient = -1;

    private readonly SqliteConnection _connection;
    private readonly nint _db;
    private readonly nint _stmt;
    private readonly byte* _base;
    private int _used;
    private int _next = 1;

    public BulkStatement(SqliteConnection connection, string sql)
    {
        _connection = connection;
        _db = connection.Handle?.DangerousGetHandle() ?? throw new InvalidOperationException("the connection is not open");
        var utf8 = Encoding.UTF8.GetBytes(sql + "\0");
        nint stmt;
        fixed (byte* text = utf8)
            Check(SqliteNative.sqlite3_prepare_v2(_db, text, utf8.Length, &stmt, null));
        _stmt = stmt;
        _base = (byte*)NativeMemory.Alloc(ScratchBytes);
    }

    public BulkStatement Text(string? value) => value is null ? Null() : Text(value.AsSpan());

    public BulkStatement Text(ReadOnlySpan<char> value)
    {
        if (Encoding.UTF8.GetMaxByteCount(value.Length) <= ScratchBytes - _used)
        {
            var n = Encoding.UTF8.GetBytes(value, new Span<byte>(_base + _used, ScratchBytes - _used));
            Check(SqliteNative.sqlite3_bind_text(_stmt, _next++, _base + _used, n, Static));
            _used += n;
            return this;
        }

        var bytes = new byte[Encoding.UTF8.GetByteCount(value)];
        Encoding.UTF8.GetBytes(value, bytes);
        return Utf8(bytes);
    }

    /// <summary>A text given as its UTF-8 bytes.</summary>
    public BulkStatement Utf8(ReadOnlySpan<byte> value)
    {
        if (value.Length <= ScratchBytes - _used)
        {
            value.CopyTo(new Span<byte>(_base + _used, value.Length));
            Check(SqliteNative.sqlite3_bind_text(_stmt, _next++, _base + _used, value.Length, Static));
            _used += value.Length;
            return this;
        }

        fixed (byte* p = value)
            Check(SqliteNative.sqlite3_bind_text(_stmt, _next++, p, value.Length, Transient));
        return this;
    }

    /// <summary>An id kept as its number: the prefix and the number's 32 hex digits (<see cref="HexId"/>), without making its text.</summary>
    public BulkStatement Id(string prefix, UInt128 number)
    {
        Span<byte> text = stackalloc byte[Encoding.UTF8.GetMaxByteCount(prefix.Length) + HexId.Digits];
        var n = Encoding.UTF8.GetBytes(prefix, text);
        HexId.FormatUtf8(number, text.Slice(n, HexId.Digits));
        return Utf8(text[..(n + HexId.Digits)]);
    }

    /// <summary>A UTC time as ISO-8601 with milliseconds (<c>2025-02-23T00:00:01.750Z</c>).</summary>
    public BulkStatement Time(DateTime? value)
    {
        if (value is not { } t)
            return Null();
        Span<char> buffer = stackalloc char[24];
        WriteDate(buffer, t.Year, t.Month, t.Day);
        buffer[10] = 'T';
        Two(buffer[11..], t.Hour);
        buffer[13] = ':';
        Two(buffer[14..], t.Minute);
        buffer[16] = ':';
        Two(buffer[17..], t.Second);
        buffer[19] = '.';
        var ms = t.Millisecond;
        buffer[20] = (char)('0' + (ms / 100));
        Two(buffer[21..], ms % 100);
        buffer[23] = 'Z';
        return Text(buffer);
    }

    /// <summary>A day as YYYY-MM-DD, or <c>unknown</c>.</summary>
    public BulkStatement Day(DateOnly? value)
    {
        if (value is not { } d)
            return Text("unknown".AsSpan());
        Span<char> buffer = stackalloc char[10];
        WriteDate(buffer, d.Year, d.Month, d.Day);
        return Text(buffer);
    }

    private static void WriteDate(Span<char> buffer, int year, int month, int day)
    {
        Two(buffer, year / 100);
        Two(buffer[2..], year % 100);
        buffer[4] = '-';
        Two(buffer[5..], month);
        buffer[7] = '-';
        Two(buffer[8..], day);
    }

    private static void Two(Span<char> buffer, int value)
    {
        buffer[0] = (char)('0' + (value / 10));
        buffer[1] = (char)('0' + (value % 10));
    }

    public BulkStatement Int(long value)
    {
        Check(SqliteNative.sqlite3_bind_int64(_stmt, _next++, value));
        return this;
    }

    public BulkStatement Real(double? value)
    {
        if (value is not { } v)
            return Null();
        Check(SqliteNative.sqlite3_bind_double(_stmt, _next++, v));
        return this;
    }

    private BulkStatement Null()
    {
        Check(SqliteNative.sqlite3_bind_null(_stmt, _next++));
        return this;
    }

    /// <summary>Inserts the bound row and gets ready for the next one.</summary>
    public void Run()
    {
        var rc = SqliteNative.sqlite3_step(_stmt);
        _ = SqliteNative.sqlite3_reset(_stmt); // repeats the error of a failed step, checked below
        _next = 1;
        _used = 0;
        if (rc != SqliteNative.Done)
            Check(rc);
    }

    private void Check(int rc)
    {
        if (rc is not (SqliteNative.Ok or SqliteNative.Done or SqliteNative.Row))
            throw new SqliteException($"SQLite error {rc}: {Marshal.PtrToStringUTF8(SqliteNative.sqlite3_errmsg(_db))}", rc);
    }

    public void Dispose()
    {
        _ = SqliteNative.sqlite3_finalize(_stmt);
        NativeMemory.Free(_base);
        GC.KeepAlive(_connection);
    }
}

/// <summary>The few SQLite C functions the bulk writer calls, from the same native library Microsoft.Data.Sqlite loads.</summary>
internal static unsafe partial class SqliteNative
{
    private const string Library = "e_sqlite3";
    public const int Ok = 0;
    public const int Row = 100;
    public const int Done = 101;

    [LibraryImport(Library)]
    public static partial int sqlite3_prepare_v2(nint db, byte* sql, int bytes, nint* stmt, byte** tail);

    // The bind calls only copy a pointer or a number into the statement: no lock, no I/O, no callback.
    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial int sqlite3_bind_text(nint stmt, int index, byte* value, int bytes, nint destructor);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial int sqlite3_bind_int64(nint stmt, int index, long value);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial int sqlite3_bind_double(nint stmt, int index, double value);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial int sqlite3_bind_null(nint stmt, int index);

    [LibraryImport(Library)]
    public static partial int sqlite3_step(nint stmt);

    [LibraryImport(Library)]
    public static partial int sqlite3_reset(nint stmt);

    [LibraryImport(Library)]
    public static partial int sqlite3_finalize(nint stmt);

    [LibraryImport(Library)]
    public static partial nint sqlite3_errmsg(nint db);
}
