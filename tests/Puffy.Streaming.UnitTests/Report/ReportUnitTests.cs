using System.Text.Json;
using System.Text.RegularExpressions;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Embedded.Report;

namespace Puffy.Streaming.UnitTests.Report;

/// <summary><c>puffy run</c> over the 14 real files once; the report tests read its puffy.db, summary.json and report.html.</summary>
public sealed class RealDataReportRun : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("puffy-report-").FullName;

    public string Db => Path.Combine(Dir, "out", "puffy.db");

    public string Html => Path.Combine(Dir, "out", "report.html");

    public JsonElement Summary { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var code = await CommandLine.RunAsync(["run", "--data", RepoPaths.RealData, "--out", Path.Combine(Dir, "out"), "--no-progress"], TextWriter.Null, TextWriter.Null);
        Assert.Equal(CommandLine.Ok, code);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Dir, "out", "summary.json")));
        Summary = doc.RootElement.Clone();
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}

public sealed class ReportUnitTests(RealDataReportRun run) : IClassFixture<RealDataReportRun>
{
    private static readonly DateOnly ReferrerGone = new(2025, 3, 4);

    [Fact]
    public void SqliteReport_RealData_HeadlineFiguresMatchTheFacts()
    {
        var k = SqliteReport.Load(run.Db).Kpis;

        Assert.Equal(new DateOnly(2025, 2, 23), k.FirstDay);
        Assert.Equal(new DateOnly(2025, 3, 8), k.LastDay);
        Assert.Equal(14, k.Files);
        Assert.Equal(49_963, k.RowsRead);
        Assert.Equal(k.RowsRead, k.Valid + k.DeadLettered);
        Assert.Equal(290, k.Orders);
        Assert.Equal(287_744.40m, k.Revenue);
        Assert.Equal(10, k.ZeroRevenueOrders);
        Assert.Equal(run.Summary.GetProperty("sessions").GetInt64(), k.Sessions);
        Assert.Equal(run.Summary.GetProperty("converted_sessions").GetInt64(), k.ConvertedSessions);
        Assert.Equal(run.Summary.GetProperty("alerts").GetArrayLength(), k.CriticalAlerts + k.WarningAlerts);
    }

    [Fact]
    public void SqliteReport_RealData_DailySeriesAddUpToTheTotals()
    {
        var model = SqliteReport.Load(run.Db);

        Assert.Equal(14, model.Daily.Count);
        Assert.Equal(model.Kpis.Sessions, model.Daily.Sum(d => d.Sessions));
        Assert.Equal(model.Kpis.Orders, model.Daily.Sum(d => d.Orders));
        Assert.Equal(model.Kpis.Revenue, model.Daily.Sum(d => d.Revenue));
        Assert.All(model.Daily, d => Assert.Equal(d.Sessions, d.SessionsByChannel.Values.Sum()));
        var perDay = run.Summary.GetProperty("sessions_per_day").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.All(model.Daily, d => Assert.Equal(perDay[RunSummary.Day(d.Day)], d.Sessions));
    }

    [Fact]
    public void SqliteReport_RealData_RevenueByChannelEqualsTheSummaryUnderEveryModel()
    {
        var model = SqliteReport.Load(run.Db);
        var attribution = run.Summary.GetProperty("attribution");

        foreach (var m in AttributionModels.All)
        {
            var expected = attribution.GetProperty(m).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDecimal());
            var actual = model.Revenue.Where(r => r.Of(m) != 0).ToDictionary(r => r.Channel, r => r.Of(m));
            Assert.Equal(expected.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
            Assert.Equal(287_744.40m, model.Revenue.Sum(r => r.Of(m)));
        }
    }

    [Fact]
    public void SqliteReport_RealData_QualityPerDayBalancesAndMatchesTheRowCounts()
    {
        var model = SqliteReport.Load(run.Db);
        long[] rows = [4070, 3769, 3470, 3177, 3393, 3263, 3489, 4335, 4042, 3538, 2881, 3442, 3251, 3843];

        Assert.Equal(rows, model.Quality.Select(f => f.Rows));
        Assert.All(model.Quality, f => Assert.Equal(f.Rows, f.Valid + f.DeadLettered));
        Assert.All(model.Quality, f => Assert.Equal(f.DeadLettered, f.ByReason.Values.Sum()));
        Assert.Equal(2_908, model.Quality.Sum(f => f.ByReason.GetValueOrDefault(DeadLetterReasons.MissingClientId)));
        Assert.Equal(4, model.Quality.Sum(f => f.ByReason.GetValueOrDefault(DeadLetterReasons.DuplicateTransactionId)));
    }

    [Fact]
    public void SqliteReport_RealData_NotesTheReferrerBreakWithItsChannelShift()
    {
        var model = SqliteReport.Load(run.Db);

        var note = Assert.Single(model.Notes, n => n.Day == ReferrerGone && n.Schema);
        Assert.Contains("referrer", note.Title, StringComparison.Ordinal);
        Assert.Contains("2025-03-04 to 2025-03-08 (5 files)", note.Text, StringComparison.Ordinal);
        var before = model.Daily.Single(d => d.Day == ReferrerGone.AddDays(-1));
        var after = model.Daily.Single(d => d.Day == ReferrerGone);
        Assert.True(before.SessionsByChannel.GetValueOrDefault(Channels.Direct) > 0);
        Assert.Equal(0, after.SessionsByChannel.GetValueOrDefault(Channels.Direct));
        Assert.Equal(0, before.SessionsByChannel.GetValueOrDefault(Channels.Unattributed));
        Assert.True(after.SessionsByChannel.GetValueOrDefault(Channels.Unattributed) > 0);
        var direct = (double)before.SessionsByChannel[Channels.Direct] / before.Sessions;
        Assert.Contains($"Direct went from {direct.ToString("0.0%", System.Globalization.CultureInfo.InvariantCulture)}", note.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ReferrerColumnDropsOnAnotherDay_NotesThatDay()
    {
        var files = new[]
        {
            File("a_20240101.csv", new DateOnly(2024, 1, 1), "client_id,referrer,timestamp"),
            File("a_20240102.csv", new DateOnly(2024, 1, 2), "client_id,referrer,timestamp"),
            File("a_20240103.csv", new DateOnly(2024, 1, 3), "client_id,timestamp"),
        };
        var marketing = new[]
        {
            new MarketingRow(new DateOnly(2024, 1, 2), Channels.Direct, 3, 0, 0, 0m),
            new MarketingRow(new DateOnly(2024, 1, 2), Channels.PaidSearch, 1, 1, 1, 10m),
            new MarketingRow(new DateOnly(2024, 1, 3), Channels.Unattributed, 2, 0, 0, 0m),
            new MarketingRow(new DateOnly(2024, 1, 3), Channels.PaidSearch, 2, 0, 0, 0m),
        };

        var model = ReportBuilder.Build(new ReportInput(files, marketing, 8, 1, 1, 10m, 0, Attribution(10m), []));

        var note = Assert.Single(model.Notes);
        Assert.Equal(new DateOnly(2024, 1, 3), note.Day);
        Assert.Contains("Direct went from 75.0% of sessions on 2024-01-02 to 0.0% on 2024-01-03, Unattributed from 0.0% to 50.0%", note.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_SameColumnsEveryDay_HasNoNotes()
    {
        var files = new[]
        {
            File("a_20240101.csv", new DateOnly(2024, 1, 1), "client_id,referrer"),
            File("a_20240102.csv", new DateOnly(2024, 1, 2), "client_id,referrer"),
        };

        var model = ReportBuilder.Build(new ReportInput(files, [], 0, 0, 0, 0m, 0, Attribution(0m), []));

        Assert.Empty(model.Notes);
        Assert.Equal(0, model.Kpis.ConversionRate);
    }

    [Fact]
    public void Run_RealData_WritesASelfContainedReportWithEightCharts()
    {
        var html = System.IO.File.ReadAllText(run.Html);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.Ordinal);
        Assert.DoesNotContain("url(", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        // The only URL is the SVG namespace name, which is never fetched.
        Assert.All(Regex.Matches(html, "https?://[^\"' <]+").Select(m => m.Value), u => Assert.Equal("http://www.w3.org/2000/svg", u));
        var charts = Regex.Matches(html, "<svg class=\"chart\" id=\"([a-z-]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["chart-sessions", "chart-orders", "chart-revenue", "chart-conversion", "chart-channels", "chart-attribution", "chart-quality", "chart-alerts"], charts);
        Assert.Contains("287,744.40", html, StringComparison.Ordinal);
        Assert.Contains("The referrer column is missing from 2025-03-04", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_FromSqlite_WritesTheSameFiguresAsTheRun()
    {
        var outFile = Path.Combine(run.Dir, "again.html");
        var output = new StringWriter();

        var code = await CommandLine.RunAsync(["report", "--from", "sqlite", "--db", run.Db, "--out", outFile], output, TextWriter.Null);

        Assert.Equal(CommandLine.Ok, code);
        Assert.Contains("290 orders", output.ToString(), StringComparison.Ordinal);
        // Only the generation time may differ.
        static string Body(string html) => Regex.Replace(html, "generated [0-9-]+ [0-9:]+ UTC", "generated");
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(Body(await System.IO.File.ReadAllTextAsync(run.Html, ct)), Body(await System.IO.File.ReadAllTextAsync(outFile, ct)));
    }

    [Theory]
    [InlineData("parquet")]
    [InlineData("")]
    public async Task Report_UnknownStore_IsAUsageError(string from)
    {
        var error = new StringWriter();
        var code = await CommandLine.RunAsync(["report", "--from", from, "--out", Path.Combine(run.Dir, "x.html")], TextWriter.Null, error);
        Assert.Equal(CommandLine.UsageError, code);
        Assert.False(System.IO.File.Exists(Path.Combine(run.Dir, "x.html")));
    }

    [Fact]
    public async Task Report_MissingDatabase_IsAUsageError()
    {
        var error = new StringWriter();
        var code = await CommandLine.RunAsync(["report", "--from", "sqlite", "--db", Path.Combine(run.Dir, "none.db"), "--out", Path.Combine(run.Dir, "y.html")], TextWriter.Null, error);
        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains("no SQLite database", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4335, 6000)]
    [InlineData(0.0094, 0.01)]
    [InlineData(31_836.8, 40_000)]
    public void Scale_Maximum_RoundsUpToATickStep(double max, double expected) => Assert.Equal(expected, SvgCharts.Scale(max).Max, 9);

    private static FileQuality File(string name, DateOnly day, string columns) =>
        new(name, day, columns, 10, 10, 0, new Dictionary<string, long>());

    private static Dictionary<string, IReadOnlyDictionary<string, decimal>> Attribution(decimal revenue) =>
        AttributionModels.All.ToDictionary(m => m, _ => (IReadOnlyDictionary<string, decimal>)new Dictionary<string, decimal> { [Channels.PaidSearch] = revenue });
}
