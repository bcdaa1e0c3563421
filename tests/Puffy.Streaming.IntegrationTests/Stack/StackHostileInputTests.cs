using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Puffy.Streaming.Cli;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// Hostile input through the running services. Files are known by content: new content under a name already sent is
/// read as a file of its own with a <c>file_changed</c> alert and no row counted twice; a file that cannot be read is
/// accounted and alerted, never checkpointed, and read once it can be. Messages on the bus are not trusted: forged
/// metrics and undecodable bytes land in <c>poison_messages</c> with an alert, the row accounting stays the embedded
/// run's, and the monitor keeps running.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackHostileInputTests : IDisposable
{
    private const string Header = "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent";
    private const string Ua = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36\"";

    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-hostile-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // rm, not Directory.Delete: .NET cannot name (so cannot delete) a file whose name is not UTF-8.
    public void Dispose()
    {
        using var rm = Process.Start("rm", ["-rf", _dir]);
        rm.WaitForExit();
    }

    private static string View(string client, string time) => $"{client},https://puffy.com/,,{time},page_viewed,,{Ua}";

    [Fact]
    public async Task Replay_ChangedAndUnreadableFiles_AreReadByContentAccountedAndAlerted()
    {
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        var first = Path.Combine(data, "events_20250301.csv");
        string[] original = [Header, .. Enumerable.Range(0, 3).Select(i => View($"a-{i}", $"2025-03-01T10:0{i}:00.000Z"))];
        await File.WriteAllLinesAsync(first, original, Ct);
        // A link whose target does not exist yet: listed, but it cannot be opened.
        var target = Path.Combine(_dir, "later", "day2.csv");
        File.CreateSymbolicLink(Path.Combine(data, "events_20250302.csv"), target);
        // A name that is not UTF-8 (bash's $'...' writes the raw byte 0xFF; .NET cannot create such a name).
        await File.WriteAllLinesAsync(Path.Combine(data, "staging.csv"), [Header, View("c-0", "2025-03-03T09:00:00.000Z")], Ct);
        using (var mv = Process.Start(new ProcessStartInfo("bash", ["-c", "mv staging.csv $'events_\\xff_20250303.csv'"]) { WorkingDirectory = data })!)
        {
            await mv.WaitForExitAsync(Ct);
            Assert.Equal(0, mv.ExitCode);
        }

        const string notUtf8 = "events_\uFFFD_20250303.csv 0 0 0 1 its name is not valid UTF-8";
        await using var stack = await StackHarness.UpAsync(Ct);
        using var client = stack.ClickHouse();

        Assert.Equal(0, await stack.ReplayAsync(data, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        Assert.Equal(
        [
            "events_20250301.csv 3 3 0 0 -",
            "events_20250302.csv 0 0 0 1 Could not find file",
            notUtf8,
        ], await FileStats(client));
        Assert.Contains("2025-03-02 file_unreadable critical", await Alerts(client));
        Assert.Contains("2025-03-03 file_unreadable critical", await Alerts(client));

        // The link's target appears, and the first file gets two more rows under the same name.
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllLinesAsync(target, [Header, .. Enumerable.Range(0, 3).Select(i => View($"b-{i}", $"2025-03-02T09:0{i}:00.000Z"))], Ct);
        string[] changed = [.. original, View("a-3", "2025-03-01T10:03:00.000Z"), View("a-4", "2025-03-01T10:04:00.000Z")];
        await File.WriteAllLinesAsync(first, changed, Ct);
        var changedName = FileContent.ChangedName("events_20250301.csv", FileContent.Id(await File.ReadAllBytesAsync(first, Ct)));

        Assert.Equal(0, await stack.ReplayAsync(data, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        var expectedStats = new[]
        {
            "events_20250301.csv 3 3 0 0 -",
            $"{changedName} 5 2 3 0 -",
            "events_20250302.csv 3 3 0 0 -",
            notUtf8, // still unreadable, still accounted
        };
        Assert.Equal(expectedStats.Order(StringComparer.Ordinal), await FileStats(client));
        Assert.Equal(3, await Scalar(client, $"SELECT count() FROM {client.Qualify(Tables.DeadLetters)} FINAL WHERE reason = 'duplicate_event' AND source_file = '{changedName}'"));
        var alerts = await Alerts(client);
        Assert.Contains("2025-03-01 file_changed warning", alerts);
        Assert.Contains("2025-03-02 file_unreadable critical", alerts);
        // Every client once: the unchanged rows were not counted again.
        Assert.Equal(8, await Scalar(client, $"SELECT count() FROM {client.Qualify(Tables.Events)} FINAL"));
        Assert.Equal(8, await Scalar(client, $"SELECT count() FROM {client.Qualify(Tables.Sessions)} FINAL"));
        var summary = await stack.SummaryAsync(Ct);
        Assert.Equal((11L, 8L, 3L), (summary.RowsRead, summary.Valid, summary.DeadLettered));

        // Content already sent is skipped, whatever its name: a third replay sends nothing.
        File.Copy(target, Path.Combine(data, "events_20250302_again.csv"));
        Assert.Equal(0, await stack.ReplayAsync(data, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);
        Assert.Equal(expectedStats.Order(StringComparer.Ordinal), await FileStats(client));
        Assert.True(await LocalStack.StatusAsync(stack.State.Root, TextWriter.Null), "a service stopped:\n" + stack.Logs());
    }

    [Fact]
    public async Task Replay_ForgedMetricsAndUndecodableBytes_AreSetAsideAsPoisonAndTheAccountingStays()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        var later = Path.Combine(_dir, "later");
        Directory.CreateDirectory(later);
        await File.WriteAllLinesAsync(Path.Combine(later, "events_20250309.csv"), [Header, View("z-1", "2025-03-09T08:00:00.000Z")], Ct);
        await using var stack = await StackHarness.UpAsync(Ct);
        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        var day = new DateOnly(2025, 2, 23);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(KafkaConfig.Producer(stack.State.KafkaBootstrap)).Build())
        {
            async Task Send(string key, byte[] value) =>
                await producer.ProduceAsync(Topics.Metrics, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = value }, Ct);
            byte[] Forged(double rows) => MessageCodec.Catalogue.Serialize(new Metric(day, MetricNames.FileRows, string.Empty, rows, "events_20250223.csv"));
            await Send(MetricProducers.Ingestor, Forged(1_000_000));
            await Send(MetricProducers.Ingestor, Forged(-5));
            await Send("attacker", Forged(4070));
            await Send(MetricProducers.Ingestor, Encoding.UTF8.GetBytes("not a metric"));
        }

        await stack.WaitUntilProcessedAsync(Ct);
        // The services keep going: the next replay is processed as usual.
        Assert.Equal(0, await stack.ReplayAsync(later, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);
        Assert.True(await LocalStack.StatusAsync(stack.State.Root, TextWriter.Null), "a service stopped:\n" + stack.Logs());

        using var client = stack.ClickHouse();
        var poison = await client.QueryJsonEachRowAsync(
            $"SELECT source_topic, reason, detail FROM {client.Qualify(Tables.PoisonMessages)} FINAL ORDER BY source_partition, source_offset", Ct);
        Assert.All(poison, p => Assert.Equal(Topics.Metrics, p.GetProperty("source_topic").GetString()));
        var reasons = poison.Select(p => $"{p.GetProperty("reason").GetString()}: {p.GetProperty("detail").GetString()}").ToList();
        Assert.Equal(4, reasons.Count);
        Assert.Contains(reasons, r => r.StartsWith("invalid_metric: file.rows = 1000000 ", StringComparison.Ordinal) && r.Contains("not reading", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("invalid_metric: file.rows = -5 ", StringComparison.Ordinal) && r.Contains("must be a whole number", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("invalid_metric: file.rows = 4070 ", StringComparison.Ordinal) && r.Contains("not the 'attacker''s", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("undecodable: ", StringComparison.Ordinal));
        Assert.Equal(1, await Scalar(client, $"SELECT count() FROM {client.Qualify(Tables.Alerts)} FINAL WHERE rule = '{AlertRules.PoisonMessages}' AND severity = 'error'"));
        Assert.Equal(0, await Scalar(client, $"SELECT count() FROM {client.Qualify(Tables.DeadLetters)} FINAL WHERE reason = 'poison_message'"));

        // The accounting is the embedded run's on the real data plus the later file; the forged counts changed nothing.
        Assert.Equal(49_963, embedded.RowsRead);
        Assert.Equal(4070, await Scalar(client, $"SELECT rows FROM {client.Qualify(Tables.FileStats)} FINAL WHERE file = 'events_20250223.csv'"));
        Assert.Equal(49_964, await Scalar(client, $"SELECT sum(rows) FROM {client.Qualify(Tables.FileStats)} FINAL"));
        var summary = await stack.SummaryAsync(Ct);
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
        Assert.Equal((embedded.Valid + 1, embedded.DeadLettered), (summary.Valid, summary.DeadLettered));
        Assert.Equal(embedded.DeadLetterReasons, summary.DeadLetterReasons);
    }

    private static async Task<List<string>> FileStats(ClickHouseClient client) =>
        (await client.QueryJsonEachRowAsync(
            $"SELECT file, rows, valid, dl_duplicate_event, unreadable, error FROM {client.Qualify(Tables.FileStats)} FINAL ORDER BY file", Ct))
        .Select(r => string.Join(' ', r.GetProperty("file").GetString(), Num(r.GetProperty("rows")), Num(r.GetProperty("valid")),
            Num(r.GetProperty("dl_duplicate_event")), Num(r.GetProperty("unreadable")),
            r.GetProperty("error").ValueKind == JsonValueKind.Null ? "-" : Cut(r.GetProperty("error").GetString()!)))
        .ToList();

    // The reasons go on with the path or advice; their first words are enough.
    private static string Cut(string error) => ReasonStarts.FirstOrDefault(s => error.StartsWith(s, StringComparison.Ordinal)) ?? error;

    private static readonly string[] ReasonStarts = ["Could not find file", "its name is not valid UTF-8"];

    private static async Task<List<string>> Alerts(ClickHouseClient client) =>
        (await client.QueryJsonEachRowAsync($"SELECT toString(day) AS day, rule, severity FROM {client.Qualify(Tables.Alerts)} FINAL ORDER BY day, rule", Ct))
        .Select(r => $"{r.GetProperty("day").GetString()} {r.GetProperty("rule").GetString()} {r.GetProperty("severity").GetString()}")
        .ToList();

    private static async Task<long> Scalar(ClickHouseClient client, string sql) =>
        long.Parse((await client.QueryScalarAsync(sql, Ct)).Trim(), CultureInfo.InvariantCulture);

    private static long Num(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
