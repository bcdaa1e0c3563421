using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// Bad input through the running services: malformed rows land in dead_letters with their reasons, an undecodable
/// Kafka message lands in poison_messages, and the services keep running and processing what comes next. Bad files
/// raise the monitor's per-file alerts in ClickHouse exactly as the embedded run raises them.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackMalformedInputTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Ua = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36\"";

    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-malformed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Replay_FileWithMalformedRows_DeadLettersThemWithReasonsAndKeepsRunning()
    {
        var first = Path.Combine(_dir, "first");
        Directory.CreateDirectory(first);
        // Line numbers: header 1, then one row per line.
        await File.WriteAllLinesAsync(Path.Combine(first, "events_20250301.csv"),
        [
            "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent",
            $"c-1,https://puffy.com/,,2025-03-01T10:00:00.000Z,page_viewed,,{Ua}",
            $"c-2,https://puffy.com/,,2025-03-01T10:00:01.000Z,page_viewed,{Ua}",
            $",https://puffy.com/,,2025-03-01T10:00:02.000Z,page_viewed,,{Ua}",
            $"c-3,https://puffy.com/,,not-a-time,page_viewed,,{Ua}",
            $"c-4,https://puffy.com/,,2025-03-01T10:00:04.000Z,teleported,,{Ua}",
            $"c-5,https://puffy.com/,,2025-03-01T10:00:05.000Z,checkout_completed,\"{{\"\"transaction_id\"\": \"\"T-1\"\"\",{Ua}",
            $"c-6,https://puffy.com/,,2025-03-01T10:00:06.000Z,page_viewed,,Googlebot/2.1 (+http://www.google.com/bot.html)",
            $"c-7,https://puffy.com/,,2025-03-01T10:00:07.000Z,page_viewed,,{Ua}",
        ], Ct);
        var second = Path.Combine(_dir, "second");
        Directory.CreateDirectory(second);
        await File.WriteAllLinesAsync(Path.Combine(second, "events_20250302.csv"),
        [
            "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent",
            $"c-8,https://puffy.com/,,2025-03-02T09:00:00.000Z,page_viewed,,{Ua}",
        ], Ct);
        await using var stack = await StackHarness.UpAsync(Ct);

        Assert.Equal(0, await stack.ReplayAsync(first, "max", Ct));
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(stack.State.Kafka.ProducerConfig()).Build())
        {
            // Not Avro at all: whoever consumes it must route it to the dead letters and go on.
            await producer.ProduceAsync(new TopicPartition(Topics.ValidEvents, 0),
                new Message<byte[]?, byte[]?> { Key = "c-x"u8.ToArray(), Value = Encoding.UTF8.GetBytes("garbage") }, Ct);
        }

        await stack.WaitUntilProcessedAsync(Ct);
        Assert.Equal(0, await stack.ReplayAsync(second, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        using var client = stack.ClickHouse();
        var rows = await client.QueryJsonEachRowAsync(
            $"SELECT source_file, line, reason FROM {client.Qualify("dead_letters")} FINAL ORDER BY source_file, line, reason", Ct);
        var deadLetters = rows.Select(r => $"{r.GetProperty("source_file").GetString()}:{Num(r.GetProperty("line"))}:{r.GetProperty("reason").GetString()}").ToList();
        Assert.Equal(
        [
            "events_20250301.csv:3:unparseable_row",
            "events_20250301.csv:4:missing_client_id",
            "events_20250301.csv:5:invalid_timestamp",
            "events_20250301.csv:6:unknown_event_name",
            "events_20250301.csv:7:malformed_event_data",
            "events_20250301.csv:8:bot_user_agent",
        ], deadLetters);

        var events = await client.QueryJsonEachRowAsync($"SELECT client_id FROM {client.Qualify("events")} FINAL ORDER BY client_id", Ct);
        Assert.Equal(["c-1", "c-7", "c-8"], events.Select(e => e.GetProperty("client_id").GetString()).ToList());
        // The undecodable message is no input row: it is stored on its own, never among the dead letters.
        var poison = await client.QueryJsonEachRowAsync(
            $"SELECT source_topic, source_partition, reason FROM {client.Qualify("poison_messages")} FINAL", Ct);
        Assert.Equal(Topics.ValidEvents, Assert.Single(poison).GetProperty("source_topic").GetString());
        Assert.Equal(PoisonReasons.Undecodable, poison[0].GetProperty("reason").GetString());
        Assert.True(await LocalStack.StatusAsync(stack.State.Root, TextWriter.Null), "a service stopped:\n" + stack.Logs());
    }

    [Fact]
    public async Task Replay_BadFiles_RaiseThePerFileAlertsOfTheEmbeddedRun()
    {
        const string header = "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent";
        string View(string client, string time, string ua = Ua) => $"{client},https://puffy.com/,,{time},page_viewed,,{ua}";
        var data = Path.Combine(_dir, "bad-files");
        Directory.CreateDirectory(data);
        async Task Write(string day, IEnumerable<string> lines) =>
            await File.WriteAllLinesAsync(Path.Combine(data, $"events_{day}.csv"), lines, Ct);
        await Write("20250301", [header, .. Enumerable.Range(0, 5).Select(i => View($"a-{i}", $"2025-03-01T10:0{i}:00.000Z"))]);
        await Write("20250302", [header]);                                                                            // header only
        await File.WriteAllBytesAsync(Path.Combine(data, "events_20250303.csv"), [], Ct);                            // 0 bytes
        await Write("20250304", [header, .. Enumerable.Range(0, 4).Select(i => View($"y-{i}", $"2025-03-03T20:0{i}:00.000Z"))]); // the day before
        await Write("20250305", [header, .. Enumerable.Range(0, 4).Select(i => View(string.Empty, $"2025-03-05T10:0{i}:00.000Z"))]); // no valid row
        await Write("20250306", [header, .. Enumerable.Range(0, 6).Select(i => View($"b-{i}", $"2025-03-06T10:0{i}:00.000Z")),
            .. Enumerable.Range(0, 4).Select(i => View($"bot-{i}", $"2025-03-06T11:0{i}:00.000Z", "python-requests/2.31"))]); // 40% dead-lettered
        var embedded = StackHarness.Embedded(data, Ct);
        string[] expected =
        [
            "2025-03-02 empty_file critical", "2025-03-03 empty_file critical", "2025-03-03 file_unreadable critical",
            "2025-03-04 rows_outside_day critical", "2025-03-05 dead_letter_share critical", "2025-03-05 no_valid_rows critical",
            "2025-03-06 dead_letter_share warning",
        ];
        Assert.Equal(expected, embedded.Alerts.Where(a => a.Rule != "direct_share_jump" && a.Rule != "missing_client_id_rate")
            .Select(a => $"{RunSummary.Day(a.Day)} {a.Rule} {RunSummary.SeverityText(a.Severity)}"));
        await using var stack = await StackHarness.UpAsync(Ct);

        Assert.Equal(0, await stack.ReplayAsync(data, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        using var client = stack.ClickHouse();
        var rows = await client.QueryJsonEachRowAsync(
            $"SELECT toString(day) AS day, rule, severity, message FROM {client.Qualify("alerts")} FINAL ORDER BY day, rule", Ct);
        Assert.Equal(embedded.Alerts.Select(a => $"{RunSummary.Day(a.Day)} {a.Rule} {RunSummary.SeverityText(a.Severity)} {a.Message}"),
            rows.Select(r => $"{r.GetProperty("day").GetString()} {r.GetProperty("rule").GetString()} {r.GetProperty("severity").GetString()} {r.GetProperty("message").GetString()}"));
        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        Assert.True(await LocalStack.StatusAsync(stack.State.Root, TextWriter.Null), "a service stopped:\n" + stack.Logs());
    }

    private static long Num(System.Text.Json.JsonElement e) =>
        e.ValueKind == System.Text.Json.JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
