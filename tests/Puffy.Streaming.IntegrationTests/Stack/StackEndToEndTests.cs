using System.Globalization;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry.Serdes;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// The five services as separate processes over Kafka (the test broker, over TCP), Redis and ClickHouse: the 14 real
/// days replayed through them give exactly the embedded run's summary and tables, also when the sessionizer, the
/// attribution service and the monitor are killed with SIGKILL mid-replay and restarted.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_RealData_ClickHouseSummaryEqualsTheEmbeddedSummary()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(Ct);

        var replayId = "r-e2e-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", replayId, Ct));
        await stack.WaitUntilProcessedAsync(Ct);
        var summary = await stack.SummaryAsync(Ct);

        // `stack status` reads each stage's own lag: none once everything is processed.
        var status = LocalStack.LagLines(stack.State).ToList();
        var lagLines = status.Where(line => !line.StartsWith(' ')).ToList();
        Assert.Equal(4, lagLines.Count); // the three ordered stages and the monitor
        Assert.All(lagLines, line => Assert.EndsWith("lag [0] 0, [1] 0, [2] 0, [3] 0", line, StringComparison.Ordinal));
        // Each partition-parallel stage's one instance, with every partition the group gave it.
        Assert.Equal(LocalStack.PartitionParallel.Count, status.Count(line => line.Contains("partitions 0, 1, 2, 3", StringComparison.Ordinal)));
        // The monitor's one instance runs its stage.
        Assert.Contains(status, line => line.Contains("monitor ", StringComparison.Ordinal) && line.EndsWith("runs the stage (from its log)", StringComparison.Ordinal));

        // The replay id travels with the data (message header) and names the lines every service logs for it.
        foreach (var service in LocalStack.LongRunning)
            Assert.Contains(File.ReadLines(stack.State.LogFile(service)), line => line.Contains($" {service} {replayId} ", StringComparison.Ordinal));
        // Each runs with the collector's gen-0 budget the stack gives it (an environment variable the runtime reads at start).
        foreach (var service in LocalStack.LongRunning)
            Assert.Contains(File.ReadLines(stack.State.LogFile(service)), line => line.Contains("GC, gen-0 budget up to 64 MiB", StringComparison.Ordinal));
        Assert.Equal(49_963, summary.RowsRead);
        Assert.Equal(embedded.ToJson(), summary.ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);

        // The services logged in to Redis and ClickHouse with passwords, and no log line holds one.
        var clickHouse = stack.State.ClickHouseServer();
        string[] passwords = [.. new[] { stack.State.RedisPasswordFile, clickHouse.WriterPasswordFile, clickHouse.AnalystPasswordFile, clickHouse.AdminPasswordFile }
            .Select(f => LocalSecret.Read(f)!)];
        Assert.All(passwords, p => Assert.True(p.Length >= 32));
        foreach (var log in Directory.GetFiles(Path.Combine(stack.State.Root, "logs"), "*.log"))
        {
            var text = await File.ReadAllTextAsync(log, Ct);
            Assert.All(passwords, p => Assert.DoesNotContain(p, text, StringComparison.Ordinal));
        }

        // Any Confluent-compatible consumer reads every topic: Confluent's AvroDeserializer, generic records, no classes.
        var names = await RecordNamesPerTopicAsync(stack.State.KafkaBootstrap);
        const string Ns = "puffy.streaming.v1.";
        Assert.Equal([Ns + "RawEvent", Ns + "StreamMark"], names[Topics.RawEvents]);
        Assert.Equal([Ns + "StreamMark", Ns + "ValidEvent"], names[Topics.ValidEvents]);
        Assert.Equal([Ns + "SessionizedEvent", Ns + "StreamMark"], names[Topics.SessionizedEvents]);
        Assert.Equal([Ns + "DeadLetter"], names[Topics.DeadLetters]);
        Assert.Equal([Ns + "Session"], names[Topics.Sessions]);
        Assert.Equal([Ns + "AttributedOrder"], names[Topics.AttributedOrders]);
        Assert.Equal([Ns + "Metric"], names[Topics.Metrics]);
        Assert.Equal([Ns + "Alert"], names[Topics.Alerts]);
    }

    /// <summary>Every message still on each topic, decoded as a generic record; the record names seen per topic.</summary>
    private static async Task<Dictionary<string, List<string>>> RecordNamesPerTopicAsync(string bootstrap)
    {
        using var registry = new CatalogueSchemaRegistry();
        var deserializer = new AvroDeserializer<GenericRecord>(registry);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaOptions.FromEnvironment(bootstrap).ConsumerConfig("generic-reader-" + Guid.NewGuid().ToString("N"))).Build();
        var names = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var topic in Topics.All)
        {
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            var partitions = TopicAdmin.PartitionCount(consumer.Handle, topic, TimeSpan.FromSeconds(30));
            for (var p = 0; p < partitions; p++)
            {
                var tp = new TopicPartition(topic, p);
                var watermarks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
                var (low, high) = (watermarks.Low, watermarks.High);
                if (high.Value <= low.Value)
                    continue;
                consumer.Assign(new TopicPartitionOffset(tp, low));
                while (true)
                {
                    var result = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"{tp}: nothing consumed before offset {high.Value}");
                    var record = await deserializer.DeserializeAsync(result.Message.Value, isNull: false, new SerializationContext(MessageComponentType.Value, topic));
                    seen.Add(record.Schema.Fullname);
                    if (result.Offset.Value >= high.Value - 1)
                        break;
                }
            }

            names[topic] = [.. seen];
        }

        return names;
    }

    [Fact]
    public async Task Replay_IngestorKilledMidReplayThenReplayedAgain_SummaryAndTablesEqualTheEmbeddedRun()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(Ct);

        // Paced so the kill lands mid-file; the second replay sends the unfinished file again (and the rest).
        var ingestor = new TaskCompletionSource<int>();
        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", pid => ingestor.TrySetResult(pid), Ct);
        Assert.True(await stack.WaitForRowsAsync("events", 5000, Ct), "no progress before the kill:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the kill");
        BackgroundProcess.Kill(await ingestor.Task);
        Assert.NotEqual(0, await replay);

        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);
    }

    [Fact]
    public async Task Replay_EveryServiceKilledMidReplay_SummaryAndTablesStillEqualTheEmbeddedRun()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        var expected = embedded.ToJson();
        await using var stack = await StackHarness.UpAsync(Ct);

        // Paced (14 days in about 25 s) so the kill lands while rows are still arriving.
        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", Ct);
        Assert.True(await stack.WaitForRowsAsync("orders", 40, Ct), "no progress before the kill:\n" + stack.Logs());
        // The monitor's restart can only restore a state it stored.
        Assert.True(await stack.WaitForStoredMonitorCheckpointAsync(Ct), "the monitor stored no checkpoint:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the kill");

        string[] victims = ["validator", "sessionizer", "attribution", "monitor"];
        var killed = victims.Select(s => stack.State.Services[s]).ToList();
        foreach (var service in victims)
            LocalStack.KillService(stack.State, service);
        foreach (var pid in killed)
            Assert.False(await ExitedAsync(pid), $"process {pid} did not die");
        // Nobody restarts them by hand: the stack's supervisor does, as compose's restart policy would.
        for (var i = 0; i < victims.Length; i++)
            await LocalStack.WaitForRestartAsync(stack.State.Root, victims[i], killed[i], TimeSpan.FromMinutes(1), Ct);

        Assert.Equal(0, await replay);
        await stack.WaitUntilProcessedAsync(Ct);
        var summary = await stack.SummaryAsync(Ct);

        Assert.Equal(expected, summary.ToJson());
        // Restored from Redis, not rebuilt from nothing: the restarted services logged the non-empty state they loaded
        // for their partitions, each opened again under the next lease.
        var restored = System.Text.RegularExpressions.Regex.Matches(LocalStack.Tail(stack.State.LogFile("sessionizer"), 1000), @"lease epoch 2; restored (\d+) client states")
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(stack.State.Partitions, restored.Count);
        Assert.True(restored.Sum() > 0, "the restarted sessionizer loaded no state");
        var touchpoints = System.Text.RegularExpressions.Regex.Matches(LocalStack.Tail(stack.State.LogFile("attribution"), 1000), @"lease epoch 2; restored the touchpoints of (\d+) clients")
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(touchpoints.Count == stack.State.Partitions && touchpoints.Sum() > 0, "the restarted attribution service loaded no touchpoints");
        Assert.Contains("Restored the monitor state", LocalStack.Tail(stack.State.LogFile("monitor"), 1000), StringComparison.Ordinal);
        var ids = System.Text.RegularExpressions.Regex.Matches(LocalStack.Tail(stack.State.LogFile("validator"), 1000), @"lease epoch 2; restored (\d+) remembered event ids")
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(ids.Count == stack.State.Partitions && ids.Sum() > 0, "the restarted validator loaded no remembered event ids");
        Assert.Contains("are in the topic already", LocalStack.Tail(stack.State.LogFile("validator"), 1000), StringComparison.Ordinal);
        Assert.All(victims, v => Assert.Equal(1, stack.State.Restarts?.GetValueOrDefault(v)));
        var supervisorLog = LocalStack.Tail(stack.State.LogFile("supervisor"), 200);
        Assert.All(victims, v => Assert.Contains($"{v} restarted: pid {stack.State.Services[v]}", supervisorLog, StringComparison.Ordinal));
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);
    }

    [Fact]
    public async Task Replay_RedisAndClickHouseDownMidReplay_ServicesRetryAndTheSummaryEqualsTheEmbeddedSummary()
    {
        var expected = StackHarness.Embedded(StackHarness.RealData, Ct).ToJson();
        await using var stack = await StackHarness.UpAsync(Ct);

        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", Ct);
        Assert.True(await stack.WaitForRowsAsync("orders", 40, Ct), "no progress before the outage:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the outage");
        await stack.OutageAsync(async () =>
        {
            // Down until a service has noticed and is retrying (its checkpoint cannot complete meanwhile).
            var until = DateTime.UtcNow.AddMinutes(1);
            while (!LocalStack.Tail(stack.State.LogFile("sessionizer"), 200).Contains("retrying in", StringComparison.Ordinal) && DateTime.UtcNow < until)
                await Task.Delay(100, Ct); // polling the log
        }, Ct);

        Assert.Contains("retrying in", LocalStack.Tail(stack.State.LogFile("sessionizer"), 400), StringComparison.Ordinal);
        Assert.Equal(0, await replay);
        await stack.WaitUntilProcessedAsync(Ct);

        Assert.Equal(expected, (await stack.SummaryAsync(Ct)).ToJson());
        foreach (var (service, pid) in stack.State.Services)
            Assert.True(BackgroundProcess.IsAlive(pid), $"{service} stopped instead of retrying:\n{stack.Logs()}");
    }


    /// <summary>
    /// Redis and ClickHouse freeze mid-replay (SIGSTOP: connections open, no answers). Every stage says at Warning what it
    /// waits for (a call retried, a call unanswered, or downstream), none stops or is restarted, and once the servers
    /// answer again the replay ends with exactly the embedded run's figures.
    /// </summary>
    [Fact]
    public async Task Replay_RedisAndClickHouseFrozenMidReplay_EveryStageWarnsNoneStopsAndTheResultIsExact()
    {
        await using var stack = await StackHarness.UpAsync(Ct);
        await stack.FreezeMidReplayAsync([stack.State.RedisPid, stack.State.ClickHousePid],
            l => l.Contains("failed (attempt", StringComparison.Ordinal) || l.Contains("no answer for", StringComparison.Ordinal) || l.Contains("Stalled for", StringComparison.Ordinal),
            Ct);
    }

    // False once the process is gone (polled with a deadline; a killed process disappears at once).
    private static async Task<bool> ExitedAsync(int pid)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (BackgroundProcess.IsAlive(pid) && DateTime.UtcNow < until)
            await Task.Delay(20, Ct);
        return BackgroundProcess.IsAlive(pid);
    }
}
