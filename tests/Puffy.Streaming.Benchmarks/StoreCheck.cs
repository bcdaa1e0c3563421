using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// Checks a SQLite and a DuckDB file written from the same rows: every table holds the same number of rows, and each
/// statement of the README's <c>sql</c> blocks (the analyst queries and the optional indexes) runs unchanged on both.
/// A statement that fails or answers differently is reported, not thrown: that is the finding.
/// </summary>
internal static partial class StoreCheck
{
    public static IReadOnlyList<string> Run(string sqlitePath, string duckDbPath, IReadOnlyDictionary<string, long> expected)
    {
        var lines = new List<string>();
        using var sqlite = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlitePath, Pooling = false }.ToString());
        using var duck = new DuckDBConnection("Data Source=" + duckDbPath);
        sqlite.Open();
        duck.Open();

        foreach (var (table, rows) in expected)
        {
            var sql = $"SELECT count(*) FROM {table}";
            var (a, b) = (Query(sqlite, sql).Rows.Single().Single(), Query(duck, sql).Rows.Single().Single());
            if (a != Text(rows) || b != Text(rows))
                throw new InvalidOperationException($"{table}: expected {rows} rows, SQLite has {a}, DuckDB {b}");
        }

        lines.Add($"row counts: the same in both files for {expected.Count} tables ({expected.Values.Sum():N0} rows)");
        foreach (var (label, sql) in ReadmeStatements())
        {
            var a = Query(sqlite, sql);
            var b = Query(duck, sql);
            var verdict = (a.Error, b.Error) switch
            {
                (null, null) when a.Rows.SequenceEqual(b.Rows, RowComparer.Instance) => $"same result on both ({a.Rows.Count} rows)",
                (null, null) when Sorted(a).SequenceEqual(Sorted(b), RowComparer.Instance) =>
                    $"same rows on both ({a.Rows.Count}), rows that tie on the ORDER BY keys in another order",
                (null, null) => $"DIFFERENT result: SQLite {a.Rows.Count} rows, DuckDB {b.Rows.Count} rows; first difference: SQLite [{First(a, b)}] DuckDB [{First(b, a)}]",
                (null, { } e) => $"runs on SQLite ({a.Rows.Count} rows), FAILS on DuckDB: {e}",
                ({ } e, null) => $"FAILS on SQLite: {e}; runs on DuckDB ({b.Rows.Count} rows)",
                ({ } e1, { } e2) => $"fails on both: SQLite {e1}; DuckDB {e2}",
            };
            lines.Add($"{label}: {verdict}");
        }

        return lines;
    }

    /// <summary>Each statement of the README's <c>```sql</c> blocks, labelled by the comment above it, or by itself.</summary>
    private static IEnumerable<(string Label, string Sql)> ReadmeStatements()
    {
        var readme = File.ReadAllText(Path.Combine(RealData.Folder, "..", "..", "README.md"));
        foreach (Match block in SqlBlock().Matches(readme))
        {
            string? label = null;
            var statement = new List<string>();
            foreach (var line in block.Groups[1].Value.Split('\n'))
            {
                var trimmed = line.Trim();
                if (trimmed.StartsWith("--", StringComparison.Ordinal))
                {
                    label = trimmed[2..].Trim();
                    continue;
                }

                if (trimmed.Length == 0)
                    continue;
                statement.Add(trimmed);
                if (trimmed.EndsWith(';'))
                {
                    var sql = string.Join(' ', statement).TrimEnd(';');
                    yield return (label ?? sql, sql);
                    label = null;
                    statement.Clear();
                }
            }
        }
    }

    [GeneratedRegex("```sql\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();

    private sealed record Result(List<string[]> Rows, string? Error);

    private static Result Query(DbConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // the README's own statements
        cmd.CommandText = sql;
#pragma warning restore CA2100
        var rows = new List<string[]>();
        try
        {
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var row = new string[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                    row[i] = Text(reader.GetValue(i));
                rows.Add(row);
            }
        }
        catch (DbException e)
        {
            return new Result(rows, e.Message.Split('\n')[0]);
        }

        return new Result(rows, null);
    }

    // Both stores hold the same doubles, but a sum may add them in another order: compare to 12 significant digits.
    private static string Text(object value) => value switch
    {
        DBNull => "NULL",
        double d => d.ToString("G12", CultureInfo.InvariantCulture),
        float f => ((double)f).ToString("G12", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "NULL",
    };

    private static IEnumerable<string[]> Sorted(Result r) => r.Rows.OrderBy(row => string.Join("\u0001", row), StringComparer.Ordinal);

    private static string First(Result a, Result b)
    {
        var i = 0;
        while (i < a.Rows.Count && i < b.Rows.Count && RowComparer.Instance.Equals(a.Rows[i], b.Rows[i]))
            i++;
        return i < a.Rows.Count ? string.Join(", ", a.Rows[i]) : "no row";
    }

    private sealed class RowComparer : IEqualityComparer<string[]>
    {
        public static RowComparer Instance { get; } = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.SequenceEqual(y, StringComparer.Ordinal);

        public int GetHashCode(string[] obj) => obj.Length;
    }
}
