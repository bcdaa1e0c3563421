using Puffy.Streaming.Cli;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>
/// The summary computed from ClickHouse equals the embedded run's summary exactly, also when every row was written twice.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseSummaryTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    [Fact]
    public async Task ReadAsync_AfterTheRealDataWasWrittenTwice_EqualsTheEmbeddedSummary()
    {
        var files = Directory.GetFiles(Path.Combine(Path.GetDirectoryName(ClickHouseServerFixture.SchemaFolder)!, "..", "data", "puffy-events"), "*.csv")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(14, files.Count);

        RunSummary? embedded = null;
        for (var delivery = 0; delivery < 2; delivery++)
        {
            var builder = new SummaryBuilder();
            var sink = new ClickHouseSink(new ClickHouseWriter(Client, batchSize: 20_000));
            new EmbeddedPipeline(new PipelineOptions(), new CompositeSink(builder, sink)).Run(files, cancellationToken: Ct);
            embedded = builder.Complete();
            await sink.CompleteAsync(embedded, Ct);
        }

        var fromClickHouse = await ClickHouseSummary.ReadAsync(Client, Ct);

        Assert.Equal(49_963, fromClickHouse.RowsRead);
        Assert.Equal(embedded!.ToJson(), fromClickHouse.ToJson());
    }
}

/// <summary><c>puffy run --clickhouse</c> then <c>puffy summary --from clickhouse</c> reproduce the run's summary.json.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseCommandTests(ClickHouseServerFixture server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-ch-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunThenSummaryFromClickHouse_GivesTheRunsSummaryJson()
    {
        await using var temporary = server.Temporary("cli");
        var database = temporary.Name;
        var data = Path.Combine(Path.GetDirectoryName(ClickHouseServerFixture.SchemaFolder)!, "..", "data", "puffy-events");
        var outDir = Path.Combine(_dir, "out");
        var url = server.Url;
        Assert.Equal(0, await CommandLine.RunAsync(["run", "--data", data, "--out", outDir, "--no-progress", "--clickhouse", url, "--database", database]));
        var fromClickHouse = Path.Combine(_dir, "s.json");
        Assert.Equal(0, await CommandLine.RunAsync(["summary", "--from", "clickhouse", "--out", fromClickHouse, "--clickhouse", url, "--database", database]));

        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(outDir, "summary.json"), TestContext.Current.CancellationToken),
            await File.ReadAllTextAsync(fromClickHouse, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Summary_UnreachableClickHouse_FailsWithAClearExitCode()
    {
        var code = await CommandLine.RunAsync(["summary", "--from", "clickhouse", "--out", Path.Combine(_dir, "x.json"), "--clickhouse", "http://127.0.0.1:1/"]);
        Assert.Equal(CommandLine.Failed, code);
        Assert.False(File.Exists(Path.Combine(_dir, "x.json")));
    }
}
