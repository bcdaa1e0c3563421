using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// Bad input through the running services: malformed rows land in dead_letters with their reasons, an undecodable
/// Kafka message lands there as poison, and the services keep running and processing what comes next.
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
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(KafkaConfig.Producer(stack.State.KafkaBootstrap)).Build())
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
            ":0:poison_message",
            "events_20250301.csv:3:unparseable_row",
            "events_20250301.csv:4:missing_client_id",
            "events_20250301.csv:5:invalid_timestamp",
            "events_20250301.csv:6:unknown_event_name",
            "events_20250301.csv:7:malformed_event_data",
            "events_20250301.csv:8:bot_user_agent",
        ], deadLetters);

        var events = await client.QueryJsonEachRowAsync($"SELECT client_id FROM {client.Qualify("events")} FINAL ORDER BY client_id", Ct);
        Assert.Equal(["c-1", "c-7", "c-8"], events.Select(e => e.GetProperty("client_id").GetString()).ToList());
        var poison = await client.QueryJsonEachRowAsync(
            $"SELECT source_topic, source_partition FROM {client.Qualify("dead_letters")} FINAL WHERE reason = 'poison_message'", Ct);
        Assert.Equal(Topics.ValidEvents, Assert.Single(poison).GetProperty("source_topic").GetString());
        Assert.True(await LocalStack.StatusAsync(stack.State.Root, TextWriter.Null), "a service stopped:\n" + stack.Logs());
    }

    private static long Num(System.Text.Json.JsonElement e) =>
        e.ValueKind == System.Text.Json.JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
