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

    [Fact]
    public void OnDeadLetter_NonAsciiEmptyAndNullValues_ReadBackUnchanged()
    {
        var rows = Write(
            new DeadLetter("bad_row", Severity.Warning, "naïve «ü» 日本 😀", "events_20250223.csv", 7, null, "", "e-1", null, T),
            new DeadLetter("bad_row", Severity.Info, "", "events_20250223.csv", 8, null, "a,b", null, "c-1", null));

        Assert.Equal(2, rows.Count);
        Assert.Equal(new object?[] { "events_20250223.csv", 7L, "bad_row", "warning", "naïve «ü» 日本 😀", "", "e-1", null, "2025-02-23T07:04:09.005Z" }, rows[0]);
        Assert.Equal(new object?[] { "events_20250223.csv", 8L, "bad_row", "info", "", "a,b", null, "c-1", null }, rows[1]);
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

    [Fact]
    public void OnDeadLetter_ValueLargerThanTheRowBuffer_IsWrittenWhole()
    {
        // 400,000 chars may need 1.2 MB as UTF-8: more than the writer's per-row buffer, so it is bound as a copy.
        var huge = string.Concat(Enumerable.Repeat("ü,x,", 100_000));
        var rows = Write(new DeadLetter("oversized_row", Severity.Warning, "too long", "events_20250223.csv", 1, null, huge, null, null, null));

        Assert.Equal(huge, Assert.Single(rows)[5]);
    }
}
