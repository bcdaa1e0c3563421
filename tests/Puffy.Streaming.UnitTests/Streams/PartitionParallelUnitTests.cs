using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Streams;

/// <summary>
/// Why the partition-parallel sessionizer and attribution are exact for any number of partitions and instances: the real
/// data's valid events split by client over P partitions, each partition sessionized and attributed on its own (watermarks
/// reach every partition, as the validator writes them), and the partitions' day metrics summed by
/// <see cref="PartitionDayMetrics"/>, give the sessions, orders and day metrics of one core over everything.
/// </summary>
public sealed class PartitionParallelUnitTests
{
    private sealed record Run(List<Session> Sessions, List<Metric> Metrics, List<AttributedOrder> Orders);

    private static Run Single()
    {
        var run = new Run([], [], []);
        var attribution = new AttributionCore(new AttributionOptions());
        var core = new SessionizerCore(new SessionizerOptions())
        {
            OnSessionClosed = run.Sessions.Add,
            OnMetric = run.Metrics.Add,
            OnEvent = se =>
            {
                if (attribution.Accept(se) is { } order)
                    run.Orders.Add(order);
            },
        };
        foreach (var (_, e) in RealValidEvents.Value)
            core.Accept(e);
        core.Flush();
        return run;
    }

    /// <summary>
    /// P partitions, each with its own sessionizer and attribution core and (as the services run them) checkpointed
    /// state and <see cref="SessionizerCore.CompleteThrough"/> sent after each message; a watermark reaches every
    /// partition every <paramref name="watermarkEvery"/> events (0: only the final flush). The partitions' metric streams
    /// are interleaved with <paramref name="seed"/> (each keeps its own order, as a metrics partition does) and summed.
    /// </summary>
    private static Run Partitioned(int partitions, int watermarkEvery, int seed)
    {
        var run = new Run([], [], []);
        var streams = Enumerable.Range(0, partitions).Select(_ => new Queue<Metric>()).ToArray();
        var cores = new SessionizerCore[partitions];
        var through = new DateOnly?[partitions];
        for (var p = 0; p < partitions; p++)
        {
            var attribution = new AttributionCore(new AttributionOptions()) { TrackChanges = true };
            var metrics = streams[p];
            cores[p] = new SessionizerCore(new SessionizerOptions())
            {
                TrackChanges = true,
                OnSessionClosed = run.Sessions.Add,
                OnMetric = metrics.Enqueue,
                OnEvent = se =>
                {
                    if (attribution.Accept(se) is { } order)
                        run.Orders.Add(order);
                },
            };
        }

        void Progress(int p)
        {
            if (cores[p].CompleteThrough is { } day && day != through[p])
            {
                through[p] = day;
                streams[p].Enqueue(new Metric(day, MetricNames.DaysCompleteThrough, string.Empty, 0, string.Empty));
            }
        }

        var n = 0;
        foreach (var (_, e) in RealValidEvents.Value)
        {
            var p = PartitionOf(e.ClientId, partitions);
            cores[p].Accept(e);
            Progress(p);
            if (watermarkEvery > 0 && ++n % watermarkEvery == 0)
            {
                for (var q = 0; q < partitions; q++)
                {
                    cores[q].AdvanceTo(e.Timestamp);
                    Progress(q);
                }
            }
        }

        for (var p = 0; p < partitions; p++)
        {
            cores[p].Flush();
            Progress(p);
        }

        var sums = new PartitionDayMetrics();
        var random = new Random(seed);
        while (streams.Any(s => s.Count > 0))
        {
            var nonEmpty = Enumerable.Range(0, partitions).Where(p => streams[p].Count > 0).ToList();
            var p = nonEmpty[random.Next(nonEmpty.Count)];
            run.Metrics.AddRange(sums.Accept(streams[p].Dequeue(), p, partitions));
        }

        return run;
    }

    // Any fixed function of the client id will do: what matters is that a client's events share a partition.
    private static int PartitionOf(string clientId, int partitions) =>
        (int)(System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(clientId)) % (ulong)partitions);

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(4, 500, 3)]
    [InlineData(8, 50, 4)]
    [InlineData(8, 0, 5)]
    public void RealData_SplitByClientOverPartitions_SameSessionsOrdersAndDayMetricsAsOneCore(int partitions, int watermarkEvery, int seed)
    {
        var single = Single();
        var parallel = Partitioned(partitions, watermarkEvery, seed);

        Assert.True(single.Sessions.Count > 10_000, "the real data has its sessions");
        Assert.Equal(single.Sessions.OrderBy(s => s.SessionId, StringComparer.Ordinal).Select(Text),
            parallel.Sessions.OrderBy(s => s.SessionId, StringComparer.Ordinal).Select(Text));
        Assert.Equal(single.Orders.OrderBy(o => o.TransactionId, StringComparer.Ordinal).ThenBy(o => o.EventId, StringComparer.Ordinal).Select(o => o.ToString()),
            parallel.Orders.OrderBy(o => o.TransactionId, StringComparer.Ordinal).ThenBy(o => o.EventId, StringComparer.Ordinal).Select(o => o.ToString()));
        // The same metrics in the same order: whole days, in day order, each as one sessionizer sends it.
        Assert.Equal(14, single.Metrics.Count(m => m.Name == MetricNames.DayComplete));
        Assert.Equal(single.Metrics, parallel.Metrics);
    }

    private static string Text(Session s) => (s with { TransactionIds = [] }).ToString() + string.Join(',', s.TransactionIds);

    private static readonly DateOnly Day1 = new(2025, 3, 1);

    private static Metric M(string name, double value, string dimension = "", DateOnly? day = null) =>
        new(day ?? Day1, name, dimension, value, string.Empty);

    private static Metric Through(DateOnly day) => M(MetricNames.DaysCompleteThrough, 0, day: day);

    [Fact]
    public void Accept_DayCompleteOnlyOnceEveryPartitionIsThroughIt_SumsInOneSessionizersOrder()
    {
        var sums = new PartitionDayMetrics();
        Assert.Empty(sums.Accept(M(MetricNames.DaySessions, 3), 0, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayChannelSessions, 3, "Direct"), 0, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayConvertedSessions, 1), 0, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayOrders, 1), 0, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayComplete, 3), 0, 2));
        Assert.Empty(sums.Accept(Through(Day1), 0, 2));

        // Partition 1 had sessions that day too; until it is through the day, nothing goes out.
        Assert.Empty(sums.Accept(M(MetricNames.DaySessions, 2), 1, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayChannelSessions, 1, "Paid Social"), 1, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayChannelSessions, 1, "Direct"), 1, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayConvertedSessions, 0), 1, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayOrders, 0), 1, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayComplete, 2), 1, 2));
        Assert.Empty(sums.Accept(Through(Day1.AddDays(-1)), 1, 2));
        var whole = sums.Accept(Through(Day1.AddDays(3)), 1, 2);

        Assert.Equal(
            [M(MetricNames.DaySessions, 5), M(MetricNames.DayChannelSessions, 4, "Direct"), M(MetricNames.DayChannelSessions, 1, "Paid Social"),
             M(MetricNames.DayConvertedSessions, 1), M(MetricNames.DayOrders, 1), M(MetricNames.DayComplete, 5)],
            whole);
        // Sent once: a partition that restarts and sends the day again changes nothing.
        Assert.Empty(sums.Accept(M(MetricNames.DaySessions, 3), 0, 2));
        Assert.Empty(sums.Accept(M(MetricNames.DayComplete, 3), 0, 2));
        Assert.Empty(sums.Accept(Through(Day1.AddDays(1)), 0, 2));
    }

    [Fact]
    public void Accept_ValueSentAgainByARestartedPartition_ReplacesTheOneBefore()
    {
        var sums = new PartitionDayMetrics();
        sums.Accept(M(MetricNames.DaySessions, 3), 0, 1);
        sums.Accept(M(MetricNames.DaySessions, 3), 0, 1);
        sums.Accept(M(MetricNames.DayOrders, 2), 0, 1);
        sums.Accept(M(MetricNames.DayOrders, 2), 0, 1);
        sums.Accept(M(MetricNames.DayComplete, 3), 0, 1);

        var whole = sums.Accept(Through(Day1), 0, 1);

        Assert.Contains(M(MetricNames.DaySessions, 3), whole);
        Assert.Contains(M(MetricNames.DayOrders, 2), whole);
    }

    [Fact]
    public void Accept_DayNoPartitionFinished_IsNotSent()
    {
        var sums = new PartitionDayMetrics();
        sums.Accept(M(MetricNames.DaySessions, 3), 0, 2);

        Assert.Empty(sums.Accept(Through(Day1), 0, 2));
        Assert.Empty(sums.Accept(Through(Day1), 1, 2));
    }

    [Fact]
    public void StateAndRestore_MidDay_TheRestoredSumsGoOnExactly()
    {
        var sums = new PartitionDayMetrics();
        sums.Accept(M(MetricNames.DaySessions, 3), 0, 2);
        sums.Accept(M(MetricNames.DayChannelSessions, 3, "Direct"), 0, 2);
        sums.Accept(M(MetricNames.DayComplete, 3), 0, 2);
        sums.Accept(Through(Day1), 0, 2);

        var restored = new PartitionDayMetrics();
        restored.Restore(System.Text.Json.JsonSerializer.Deserialize<PartitionDayMetricsState>(System.Text.Json.JsonSerializer.Serialize(sums.State()))!);
        restored.Accept(M(MetricNames.DaySessions, 1), 1, 2);
        restored.Accept(M(MetricNames.DayChannelSessions, 1, "Direct"), 1, 2);
        restored.Accept(M(MetricNames.DayComplete, 1), 1, 2);
        var whole = restored.Accept(Through(Day1), 1, 2);

        Assert.Contains(M(MetricNames.DaySessions, 4), whole);
        Assert.Contains(M(MetricNames.DayChannelSessions, 4, "Direct"), whole);
        Assert.Equal(2, restored.Partitions);
    }

    [Theory]
    [InlineData("sessionizer#3/8", true, "sessionizer", 3, 8)]
    [InlineData("sessionizer#0/1", true, "sessionizer", 0, 1)]
    [InlineData("sessionizer", false, "", 0, 0)]
    [InlineData("sessionizer#8/8", false, "", 0, 0)]
    [InlineData("sessionizer#-1/8", false, "", 0, 0)]
    [InlineData("#1/2", false, "", 0, 0)]
    [InlineData("sessionizer#1/", false, "", 0, 0)]
    [InlineData("sessionizer/1#2", false, "", 0, 0)]
    public void TryParsePartition_ReadsOnlyWhatOfPartitionWrites(string key, bool ok, string producer, int partition, int partitions)
    {
        Assert.Equal(ok, MetricProducers.TryParsePartition(key, out var name, out var p, out var count));
        Assert.Equal((producer, partition, partitions), (name, p, count));
        if (ok)
            Assert.Equal(key, MetricProducers.OfPartition(name, p, count));
    }
}
