using System.Text.Json;
using System.Text.RegularExpressions;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Embedded.Report;
using Puffy.Streaming.IntegrationTests.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.Report;

/// <summary>
/// <c>puffy run</c> on the real data writes report.html; headless Chromium loads it without errors and paints its charts.
/// </summary>
public sealed class ReportRenderingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-report-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static string RealData => Path.Combine(Path.GetDirectoryName(ClickHouseServerFixture.SchemaFolder)!, "..", "data", "puffy-events");

    [Fact]
    public async Task Run_RealData_ReportLoadsInChromiumWithoutErrorsAndShowsItsCharts()
    {
        var outDir = Path.Combine(_dir, "out");
        Assert.Equal(CommandLine.Ok, await CommandLine.RunAsync(["run", "--data", RealData, "--out", outDir, "--no-progress"], TextWriter.Null, TextWriter.Null));
        var html = Path.Combine(outDir, "report.html");

        // The DOM after load: every chart is there with its marks, and the page logged nothing to the console.
        var (code, dom, log) = await HeadlessChromium.RunAsync(html, Ct, "--enable-logging=stderr", "--v=0", "--dump-dom");
        Assert.Equal(0, code);
        Assert.DoesNotContain("CONSOLE(", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Uncaught", log, StringComparison.Ordinal);
        var charts = Regex.Matches(dom, "<svg class=\"chart\" id=\"([a-z-]+)\".*?</svg>", RegexOptions.Singleline)
            .ToDictionary(m => m.Groups[1].Value, m => Regex.Count(m.Value, "class=\"mark\""));
        Assert.Equal(14, charts["chart-sessions"]);
        Assert.Equal(14, charts["chart-orders"]);
        Assert.Equal(14, charts["chart-revenue"]);
        Assert.Equal(14, charts["chart-conversion"]);
        Assert.True(charts["chart-channels"] > 14 * 5, $"channel chart has {charts["chart-channels"]} marks");
        Assert.True(charts["chart-attribution"] >= 3 * 10, $"attribution chart has {charts["chart-attribution"]} marks");
        Assert.True(charts["chart-quality"] >= 14 * 2, $"quality chart has {charts["chart-quality"]} marks");
        Assert.Equal(22, charts["chart-alerts"]);

        // The screenshot: a real page, not a blank one, with the charts' colours painted.
        var png = Path.Combine(_dir, "report.png");
        (code, _, _) = await HeadlessChromium.RunAsync(html, Ct, "--screenshot=" + png, "--window-size=1280,4000", "--hide-scrollbars");
        Assert.Equal(0, code);
        var image = PngImage.Read(png);
        Assert.Equal((1280, 4000), (image.Width, image.Height));
        var colours = image.Pixels.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(colours.Count > 100, $"only {colours.Count} colours: the page looks blank");
        // Sessions, orders and revenue bars, and the Unattributed share after the referrer column vanished.
        foreach (var colour in new[] { 0x4e79a7, 0xf28e2b, 0x59a14f, 0xc9c3bf })
            Assert.True(colours.GetValueOrDefault(colour) > 2_000, $"colour #{colour:x6} covers {colours.GetValueOrDefault(colour)} pixels");
    }
}

/// <summary>The report model read from ClickHouse equals the one read from SQLite after <c>puffy run --clickhouse</c>.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ReportClickHouseTests(ClickHouseServerFixture server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-report-ch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ReadAsync_AfterRunWithClickHouse_EqualsTheModelFromSqlite()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var temporary = server.Temporary("report");
        var database = temporary.Name;
        var outDir = Path.Combine(_dir, "out");
        var url = server.Url;
        Assert.Equal(CommandLine.Ok, await CommandLine.RunAsync(
            ["run", "--data", ReportRenderingTests.RealData, "--out", outDir, "--no-progress", "--clickhouse", url, "--database", database], TextWriter.Null, TextWriter.Null));
        using var client = server.CreateClient("report", o => o.Database = database);

        var fromSqlite = SqliteReport.Load(Path.Combine(outDir, "puffy.db"));
        var fromClickHouse = await ClickHouseReport.ReadAsync(client, ct);

        Assert.Equal(287_744.40m, fromClickHouse.Kpis.Revenue);
        Assert.Equal(JsonSerializer.Serialize(fromSqlite), JsonSerializer.Serialize(fromClickHouse));

        var html = Path.Combine(_dir, "ch.html");
        Assert.Equal(CommandLine.Ok, await CommandLine.RunAsync(
            ["report", "--from", "clickhouse", "--clickhouse", url, "--database", database, "--out", html], TextWriter.Null, TextWriter.Null));
        static string Body(string text) => Regex.Replace(text, "<p class=\"sub\">.*?</p>", string.Empty);
        Assert.Equal(Body(await File.ReadAllTextAsync(Path.Combine(outDir, "report.html"), ct)), Body(await File.ReadAllTextAsync(html, ct)));
    }
}
