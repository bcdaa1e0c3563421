using System.Text.Json;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary><c>puffy run</c> end to end on small folders: outputs, bad files, bad arguments.</summary>
public sealed class RunCommandUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Header = "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent";
    private const string Ua = "\"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) Mobile/15E148\"";

    private string Data(params (string Name, string Content)[] files)
    {
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        foreach (var (name, content) in files)
            File.WriteAllText(Path.Combine(data, name), content);
        return data;
    }

    [Fact]
    public async Task Run_MissingDataFolder_FailsWithUsageExitCode()
    {
        var code = await CommandLine.RunAsync(["run", "--data", Path.Combine(_dir, "nope"), "--out", Path.Combine(_dir, "out")]);
        Assert.Equal(CommandLine.UsageError, code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public async Task Run_EmptyDataFolder_FailsWithUsageExitCode()
    {
        var data = Data();
        var code = await CommandLine.RunAsync(["run", "--data", data, "--out", Path.Combine(_dir, "out")]);
        Assert.Equal(CommandLine.UsageError, code);
    }

    [Fact]
    public async Task Run_BadLateness_FailsWithUsageExitCode()
    {
        var data = Data(("events_20250301.csv", Header + "\n"));
        var code = await CommandLine.RunAsync(["run", "--data", data, "--out", Path.Combine(_dir, "out"), "--lateness", "soon"]);
        Assert.Equal(CommandLine.UsageError, code);
    }

    [Fact]
    public async Task Run_GoodAndBrokenFiles_ReportsBrokenOnesAndAccountsForEveryRow()
    {
        var good = string.Join('\n',
            Header,
            $"c1,https://puffy.com/?utm_source=google&utm_medium=cpc,,2025-03-01T10:00:00.000Z,page_viewed,,{Ua}",
            $"c1,https://puffy.com/cart,https://puffy.com/,2025-03-01T10:05:00.000Z,checkout_completed,\"{{\"\"transaction_id\"\":\"\"T1\"\",\"\"revenue\"\":120.5}}\",{Ua}",
            $",https://puffy.com/,,2025-03-01T10:06:00.000Z,page_viewed,,{Ua}",
            "c2,https://puffy.com/,\"broken,2025-03-01T10:07:00.000Z,page_viewed,,x",
            $"c3,https://puffy.com/,,2025-03-01T10:08:00.000Z,page_viewed,,{Ua}");
        var data = Data(
            ("events_20250301.csv", good),
            ("events_20250302.csv", string.Empty),
            ("events_20250303.csv", "page_url,referrer\nhttps://puffy.com/,\nhttps://puffy.com/x,\n"));
        var outDir = Path.Combine(_dir, "out");

        var code = await CommandLine.RunAsync(["run", "--data", data, "--out", outDir, "--no-progress"]);

        Assert.Equal(CommandLine.Ok, code);
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "summary.json"), TestContext.Current.CancellationToken));
        var root = summary.RootElement;
        string[] keys =
        [
            "rows_read", "rows_per_file", "valid", "dead_lettered", "dead_letter_reasons", "sessions", "sessions_per_day",
            "sessions_per_channel", "converted_sessions", "orders", "revenue", "zero_revenue_orders", "attribution",
            "device_sessions", "alerts",
        ];
        Assert.Equal(keys, root.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(7, root.GetProperty("rows_read").GetInt64());
        Assert.Equal(3, root.GetProperty("valid").GetInt64());
        Assert.Equal(4, root.GetProperty("dead_lettered").GetInt64());
        Assert.Equal(1, root.GetProperty("dead_letter_reasons").GetProperty("missing_client_id").GetInt64());
        Assert.Equal(3, root.GetProperty("dead_letter_reasons").GetProperty("unparseable_row").GetInt64());
        Assert.Equal("120.50", root.GetProperty("revenue").GetRawText());
        Assert.Equal("120.50", root.GetProperty("attribution").GetProperty("last").GetProperty("Paid Search").GetRawText());
        Assert.Equal(2, root.GetProperty("alerts").EnumerateArray().Count(a => a.GetProperty("rule").GetString() == "file_unreadable"));

        using var db = new SqliteConnection($"Data Source={Path.Combine(outDir, "puffy.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        long Scalar(string sql)
        {
            using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // test queries are constants
            cmd.CommandText = sql;
#pragma warning restore CA2100
            return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.Equal(3, Scalar("SELECT count(*) FROM events"));
        Assert.Equal(4, Scalar("SELECT count(*) FROM dead_letters"));
        Assert.Equal(2, Scalar("SELECT count(*) FROM sessions"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM orders WHERE transaction_id = 'T1' AND last_click_channel = 'Paid Search'"));
        Assert.Equal(3, Scalar("SELECT count(*) FROM file_stats"));
        Assert.Equal(0, Scalar("SELECT count(*) FROM file_stats WHERE rows <> valid + dead_lettered"));
        Assert.Equal(2, Scalar("SELECT count(*) FROM file_stats WHERE error IS NOT NULL"));
        Assert.Equal(2, Scalar("SELECT dl_unparseable_row FROM file_stats WHERE file = 'events_20250303.csv'"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM dead_letters WHERE reason = 'unparseable_row' AND line = 5 AND original_row LIKE 'c2,%'"));
        Assert.True(Scalar("SELECT count(*) FROM marketing_daily WHERE model = 'last' AND orders = 1 AND channel = 'Paid Search'") == 1);
    }
}
