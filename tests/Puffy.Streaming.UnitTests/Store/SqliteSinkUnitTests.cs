using System.Text;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.UnitTests.Store;

/// <summary>What <see cref="SqliteSink"/> binds is what <c>sqlite3</c> reads back: text, NULL versus empty, times.</summary>
public sealed class SqliteSinkUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-sqlite-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTime T = new(2025, 2, 23, 7, 4, 9, 5, DateTimeKind.Utc);

    private List<object?[]> Write(params DeadLetter[] deadLetters)
    {
        var path = Path.Combine(_dir, "puffy.db");
        using (var sink = new SqliteSink(path))
        {
            foreach (var d in deadLetters)
                sink.OnDeadLetter(d);
            sink.Complete(new SummaryBuilder().Complete());
        }

        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT source_file, line, reason, severity, detail, original_row, event_id, client_id, ts FROM dead_letters ORDER BY line";
        using var reader = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }

        return rows;
    }

    // A dead letter's row as a string, or as the UTF-8 bytes the validator keeps of a row read from a file's bytes.
    private static DeadLetter Letter(string reason, Severity severity, string detail, long line, string row, string? eventId, string? clientId,
        DateTime? time, bool rowAsUtf8) =>
        rowAsUtf8
            ? DeadLetter.FromUtf8Row(reason, severity, detail, "events_20250223.csv", line, null, Encoding.UTF8.GetBytes(row), eventId, clientId, time)
            : new DeadLetter(reason, severity, detail, "events_20250223.csv", line, null, row, eventId, clientId, time);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OnDeadLetter_NonAsciiEmptyAndNullValues_ReadBackUnchanged(bool rowAsUtf8)
    {
        var rows = Write(
            Letter("bad_row", Severity.Warning, "naïve «ü» 日本 😀", 7, "", "e-1", null, T, rowAsUtf8),
            Letter("bad_row", Severity.Info, "", 8, "a,b", null, "c-1", null, rowAsUtf8),
            Letter("bad_row", Severity.Info, "d", 9, "naïve,«ü»,日本,😀", null, null, null, rowAsUtf8));

        Assert.Equal(3, rows.Count);
        Assert.Equal(new object?[] { "events_20250223.csv", 7L, "bad_row", "warning", "naïve «ü» 日本 😀", "", "e-1", null, "2025-02-23T07:04:09.005Z" }, rows[0]);
        Assert.Equal(new object?[] { "events_20250223.csv", 8L, "bad_row", "info", "", "a,b", null, "c-1", null }, rows[1]);
        Assert.Equal("naïve,«ü»,日本,😀", rows[2][5]);
    }

    [Fact]
    public void Complete_DatabaseCannotBeCreated_ThrowsWithThePathAndSQLitesReason()
    {
        // The writer thread creates the database; its failure reaches the caller, never the process.
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        var path = Path.Combine(file, "puffy.db");
        using var sink = new SqliteSink(path);
        sink.OnDeadLetter(new DeadLetter("bad_row", Severity.Warning, "d", "events_20250223.csv", 1, null, "a", null, null, null));

        var e = Assert.Throws<InvalidOperationException>(() => sink.Complete(new SummaryBuilder().Complete()));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.IsType<SqliteException>(e.InnerException);
        Assert.Contains("unable to open database file", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OnDeadLetter_ValueLargerThanTheRowBuffer_IsWrittenWhole(bool rowAsUtf8)
    {
        // 1.2 million chars, 1.5 MB as UTF-8: more than the writer's 1 MiB per-row buffer, so it is bound as a copy.
        var huge = string.Concat(Enumerable.Repeat("ü,x,", 300_000));
        var rows = Write(Letter("oversized_row", Severity.Warning, "too long", 1, huge, null, null, null, rowAsUtf8));

        Assert.Equal(huge, Assert.Single(rows)[5]);
    }
}
