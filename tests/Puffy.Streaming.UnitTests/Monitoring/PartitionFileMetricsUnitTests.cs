using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.UnitTests.Monitoring;

/// <summary>
/// Why the monitor can sum a partition-parallel validator's file metrics: the real data's rows split by their raw-topic
/// key over P partitions, one <see cref="ValidatorCore"/> per partition given that partition's rows and every file's end,
/// and the partitions' metrics summed by <see cref="PartitionFileMetrics"/>, give every file's metrics exactly as one
/// validator over all rows sends them, whatever the interleaving of the partitions' metric streams.
/// The purchases whose transaction id is used by more than one client (4 ids, 8 rows) are left out of both runs: which
/// purchase of such a pair is kept (<c>duplicate_transaction_id</c>) is a decision across partitions, not a sum.
/// </summary>
public sealed class PartitionFileMetricsUnitTests
{
    private sealed record RealFile(string Name, DateOnly? Day, List<RawEvent> Rows);

    private sealed record RealRows(List<RealFile> Files, List<Metric> IngestorMetrics, int LeftOut);

    private static readonly Lazy<RealRows> Real = new(() =>
    {
        var ingestorMetrics = new List<Metric>();
        var ingestor = new IngestorCore { OnMetric = ingestorMetrics.Add };
        var files = Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal)
            .Select(path => Path.GetFileName(path))
            .Select(name => new RealFile(name, EventTime.DayFromFileName(name),
                ingestor.ReadFile(name, File.ReadAllBytes(Path.Combine(RepoPaths.RealData, name))).ToList()))
            .ToList();
        var clientsOfTransaction = files.SelectMany(f => f.Rows)
            .Select(raw => (Raw: raw, Tx: RowChecks.Check(raw).Event?.TransactionId))
            .Where(r => r.Tx is not null)
            .GroupBy(r => r.Tx!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Raw.ClientId).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
        var shared = clientsOfTransaction.Where(t => t.Value > 1).Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var kept = files.Select(f => f with
        {
            Rows = f.Rows.Where(raw => RowChecks.Check(raw).Event?.TransactionId is not { } tx || !shared.Contains(tx)).ToList(),
        }).ToList();
        return new RealRows(kept, ingestorMetrics, files.Sum(f => f.Rows.Count) - kept.Sum(f => f.Rows.Count));
    });

    private static List<Metric> OneValidator(RealRows data)
    {
        var metrics = new List<Metric>();
        var core = new ValidatorCore(new ValidatorOptions()) { OnMetric = metrics.Add };
        foreach (var file in data.Files)
        {
            foreach (var raw in file.Rows)
                core.Accept(raw);
            core.EndOfFile(file.Name, file.Day);
        }

        core.Flush();
        return metrics;
    }

    /// <summary>Each partition's metric stream: its own core, its own rows, and every file's end (as the ingestor marks it on every partition).</summary>
    private static Queue<Metric>[] PerPartition(RealRows data, int partitions)
    {
        var streams = Enumerable.Range(0, partitions).Select(_ => new Queue<Metric>()).ToArray();
        var cores = streams.Select(s => new ValidatorCore(new ValidatorOptions()) { OnMetric = s.Enqueue }).ToArray();
        foreach (var file in data.Files)
        {
            foreach (var raw in file.Rows)
                cores[PartitionOf(RawKey(raw), partitions)].Accept(raw);
            foreach (var core in cores)
                core.EndOfFile(file.Name, file.Day);
        }

        foreach (var core in cores)
            core.Flush();
        return streams;
    }

    // The raw topic's key; any fixed function of it splits the rows as well as the broker's partitioner does.
    private static string RawKey(RawEvent raw) => string.IsNullOrEmpty(raw.ClientId) ? $"{raw.SourceFile}:{raw.Line}" : raw.ClientId;

    private static int PartitionOf(string key, int partitions) =>
        (int)(System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(key)) % (ulong)partitions);

    public enum Interleaving
    {
        OnePartitionAfterAnother,
        LastPartitionFirst,
        RoundRobin,
        Random,
    }

    /// <summary>
    /// The partitions' streams merged as the metrics topic may deliver them (each keeps its own order); every part goes
    /// through <paramref name="onPart"/> and every sum the aggregator returns is one list.
    /// </summary>
    private static List<IReadOnlyList<Metric>> Summed(Queue<Metric>[] streams, Interleaving order, int seed, Action<Metric>? onPart = null)
    {
        var sums = new PartitionFileMetrics();
        var random = new Random(seed);
        var files = new List<IReadOnlyList<Metric>>();
        var turn = 0;
        while (streams.Any(s => s.Count > 0))
        {
            var open = Enumerable.Range(0, streams.Length).Where(p => streams[p].Count > 0).ToList();
            var p = order switch
            {
                Interleaving.OnePartitionAfterAnother => open[0],
                Interleaving.LastPartitionFirst => open[^1],
                Interleaving.RoundRobin => open[turn++ % open.Count],
                _ => open[random.Next(open.Count)],
            };
            var part = streams[p].Dequeue();
            onPart?.Invoke(part);
            var whole = sums.Accept(part, p, streams.Length);
            if (whole.Count > 0)
                files.Add(whole);
        }

        Assert.Empty(sums.State().Files);
        return files;
    }

    [Theory]
    [InlineData(1, Interleaving.Random, 1)]
    [InlineData(2, Interleaving.OnePartitionAfterAnother, 0)]
    [InlineData(2, Interleaving.Random, 2)]
    [InlineData(4, Interleaving.LastPartitionFirst, 0)]
    [InlineData(4, Interleaving.RoundRobin, 0)]
    [InlineData(4, Interleaving.Random, 3)]
    [InlineData(8, Interleaving.Random, 4)]
    [InlineData(8, Interleaving.Random, 5)]
    [InlineData(8, Interleaving.OnePartitionAfterAnother, 0)]
    public void RealData_SplitByKeyOverPartitions_EveryFileSummedAsOneValidatorSendsIt(int partitions, Interleaving order, int seed)
    {
        var data = Real.Value;
        var single = OneValidator(data);
        var expected = single.GroupBy(m => m.Source, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        var summed = Summed(PerPartition(data, partitions), order, seed);

        Assert.Equal(8, data.LeftOut);
        Assert.Equal(14, expected.Count);
        Assert.Equal(49_963 - 8, single.Where(m => m.Name == MetricNames.FileComplete).Sum(m => m.Value));
        Assert.Contains(single, m => m.Name == MetricNames.FileDeadLettered && m.Dimension == DeadLetterReasons.DuplicateEvent);
        Assert.Contains(single, m => m.Name == MetricNames.FieldNull && m.Dimension == "item_price");
        // Each file once, all its metrics together, in one validator's order and with its values.
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), summed.Select(f => f[0].Source).Order(StringComparer.Ordinal));
        foreach (var file in summed)
            Assert.Equal(expected[file[0].Source], file);
    }

    [Fact]
    public void RealData_PartsCheckedAsPartsAndSumsAsWholes_MonitorEndsAsWithOneValidator()
    {
        var data = Real.Value;
        var one = FedWith(data.IngestorMetrics);
        foreach (var m in OneValidator(data))
        {
            Assert.Null(one.Check(m, MetricProducers.Validator));
            one.Accept(m);
        }

        var parallel = FedWith(data.IngestorMetrics);
        var partsOnlyAPartMeets = 0;
        foreach (var whole in Summed(PerPartition(data, 4), Interleaving.Random, 6, part =>
                 {
                     Assert.Null(parallel.Check(part, MetricProducers.Validator, part: true));
                     if (parallel.Check(part, MetricProducers.Validator) is not null)
                         partsOnlyAPartMeets++;
                 }))
        {
            foreach (var m in whole)
            {
                Assert.Null(parallel.Check(m, MetricProducers.Validator));
                parallel.Accept(m);
            }
        }

        // A partition's file.complete is its own rows, never the file's: checked as a whole metric, every one would fail.
        Assert.Equal(14 * 4, partsOnlyAPartMeets);
        Assert.NotEmpty(one.Alerts);
        Assert.Equal(StateJson.Serialize(one.Save()), StateJson.Serialize(parallel.Save()));
    }

    private static MonitorCore FedWith(IEnumerable<Metric> metrics)
    {
        var monitor = new MonitorCore(new MonitorOptions());
        foreach (var m in metrics)
        {
            Assert.Null(monitor.Check(m, MetricProducers.Ingestor));
            monitor.Accept(m);
        }

        return monitor;
    }

    private const string FileName = "events_20250301.csv";
    private static readonly DateOnly Day = new(2025, 3, 1);

    private static Metric M(string name, double value, string dimension = "", string file = FileName) => new(Day, name, dimension, value, file);

    /// <summary>A file's metrics as a validator sends them (for one partition's rows or for all).</summary>
    private static List<Metric> Sent(
        long valid, (string Reason, long Count)[]? dead = null, long orders = 0, double revenue = 0, long zeroRevenue = 0,
        (string Field, long Observed, long Null)[]? fields = null, (long Count, long InDay, double First, double Last)? times = null,
        string file = FileName)
    {
        dead ??= [];
        var metrics = new List<Metric> { M(MetricNames.FileValid, valid, file: file) };
        metrics.AddRange(dead.Select(d => M(MetricNames.FileDeadLettered, d.Count, d.Reason, file)));
        metrics.Add(M(MetricNames.FileOrders, orders, file: file));
        metrics.Add(M(MetricNames.FileRevenue, revenue, file: file));
        metrics.Add(M(MetricNames.FileZeroRevenueOrders, zeroRevenue, file: file));
        foreach (var (field, observed, nulls) in fields ?? [])
        {
            metrics.Add(M(MetricNames.FieldObserved, observed, field, file));
            metrics.Add(M(MetricNames.FieldNull, nulls, field, file));
        }

        if (times is { } t)
        {
            metrics.Add(M(MetricNames.FileTimestamps, t.Count, file: file));
            metrics.Add(M(MetricNames.FileTimestampsInDay, t.InDay, file: file));
            metrics.Add(M(MetricNames.FileFirstTimestamp, t.First, file: file));
            metrics.Add(M(MetricNames.FileLastTimestamp, t.Last, file: file));
        }

        metrics.Add(M(MetricNames.FileComplete, valid + dead.Sum(d => d.Count), file: file));
        return metrics;
    }

    /// <summary>Feeds a part's metrics; returns what the aggregator sent (the sums of at most one file).</summary>
    private static List<Metric> Feed(PartitionFileMetrics sums, IEnumerable<Metric> part, int partition, int partitions) =>
        part.SelectMany(m => sums.Accept(m, partition, partitions)).ToList();

    [Fact]
    public void Accept_EveryPartitionCompletesTheFile_SumsInOneValidatorsOrder()
    {
        var sums = new PartitionFileMetrics();
        var p0 = Sent(5, [(DeadLetterReasons.MissingClientId, 2)], orders: 1, revenue: 10.5,
            fields: [("page_url", 7, 0), ("item_price", 1, 1)], times: (7, 6, 1_740_787_200, 1_740_870_000));
        var p1 = Sent(3, [(DeadLetterReasons.DuplicateEvent, 1), (DeadLetterReasons.InvalidTimestamp, 1)], orders: 2, revenue: 0, zeroRevenue: 1,
            fields: [("page_url", 4, 1), ("transaction_id", 2, 0)], times: (4, 4, 1_740_790_000, 1_740_860_000));

        Assert.Empty(Feed(sums, p0, 0, 2));
        var whole = Feed(sums, p1, 1, 2);

        Assert.Equal(
            Sent(8, [(DeadLetterReasons.DuplicateEvent, 1), (DeadLetterReasons.InvalidTimestamp, 1), (DeadLetterReasons.MissingClientId, 2)],
                orders: 3, revenue: 10.5, zeroRevenue: 1,
                fields: [("page_url", 11, 1), ("transaction_id", 2, 0), ("item_price", 1, 1)], times: (11, 10, 1_740_787_200, 1_740_870_000)),
            whole);
    }

    [Fact]
    public void Accept_PartitionWithNoRowsOfTheFile_CompletesItAndAddsNothing()
    {
        var sums = new PartitionFileMetrics();
        var rows = Sent(4, [(DeadLetterReasons.MissingClientId, 1)], orders: 1, revenue: 99.9,
            fields: [("referrer", 5, 2)], times: (5, 5, 1_740_787_200, 1_740_800_000));

        Assert.Empty(Feed(sums, Sent(0), 1, 3));
        Assert.Empty(Feed(sums, rows, 0, 3));
        var whole = Feed(sums, Sent(0), 2, 3);

        Assert.Equal(rows, whole);
    }

    [Fact]
    public void Accept_PartMissing_NothingIsSent()
    {
        var sums = new PartitionFileMetrics();

        Assert.Empty(Feed(sums, Sent(4), 0, 3));
        Assert.Empty(Feed(sums, Sent(2), 2, 3));
        Assert.Empty(Feed(sums, Sent(3).SkipLast(1), 1, 3));

        Assert.Equal(3, sums.State().Files.Count);
        Assert.Equal(2, sums.State().Files.Count(f => f.Complete));
        Assert.Empty(sums.State().Emitted);
    }

    [Fact]
    public void Accept_PartSentAgainBeforeTheFileIsComplete_ReplacesTheOneBefore()
    {
        var sums = new PartitionFileMetrics();
        Assert.Empty(Feed(sums, Sent(2, [(DeadLetterReasons.LateEvent, 3)], fields: [("user_agent", 5, 5)], times: (5, 5, 100, 200)), 0, 2));
        // A restarted partition sends the file again, decided anew: the late rows and the user agents are gone from its part.
        Assert.Empty(Feed(sums, Sent(5, orders: 1, revenue: 20), 0, 2));
        Assert.Empty(Feed(sums, Sent(5, orders: 1, revenue: 20), 0, 2));

        var whole = Feed(sums, Sent(1, times: (1, 1, 150, 150)), 1, 2);

        Assert.Equal(Sent(6, orders: 1, revenue: 20, times: (1, 1, 150, 150)), whole);
    }

    [Fact]
    public void Accept_PartSentAgainAfterTheFileWasSent_IsIgnored()
    {
        var sums = new PartitionFileMetrics();
        Feed(sums, Sent(2), 0, 2);
        Assert.NotEmpty(Feed(sums, Sent(3), 1, 2));

        Assert.Empty(Feed(sums, Sent(2), 0, 2));
        Assert.Empty(Feed(sums, Sent(7), 1, 2));

        Assert.Empty(sums.State().Files);
        Assert.Equal([FileName], sums.State().Emitted);
    }

    [Fact]
    public void Accept_OtherPartitionCount_StartsOverWithIt()
    {
        var sums = new PartitionFileMetrics();
        Assert.Empty(Feed(sums, Sent(100), 0, 2));

        Assert.Empty(Feed(sums, Sent(1), 0, 3));
        Assert.Empty(Feed(sums, Sent(2), 1, 3));
        var whole = Feed(sums, Sent(4), 2, 3);

        Assert.Equal(Sent(7), whole);
        Assert.Equal(3, sums.Partitions);
    }

    [Fact]
    public void Accept_Revenue_SummedAsDecimalsAsOneValidatorSumsIt()
    {
        var sums = new PartitionFileMetrics();
        Feed(sums, Sent(1, orders: 1, revenue: (double)0.1m), 0, 2);

        var revenue = Feed(sums, Sent(1, orders: 1, revenue: (double)0.2m), 1, 2).Single(m => m.Name == MetricNames.FileRevenue).Value;

        Assert.Equal((double)0.3m, revenue);
        Assert.NotEqual(0.1 + 0.2, revenue);
    }

    [Fact]
    public void Accept_MetricNamingNoFile_IsReturnedAsItIs()
    {
        var sums = new PartitionFileMetrics();
        var metric = M(MetricNames.FileValid, 3, file: string.Empty);

        Assert.Equal([metric], sums.Accept(metric, 1, 2));
        Assert.Empty(sums.State().Files);
    }

    [Fact]
    public void StateAndRestore_MidFile_TheRestoredSumsGoOnExactly()
    {
        var sums = new PartitionFileMetrics();
        Feed(sums, Sent(1, file: "events_20250228.csv"), 0, 2);
        Feed(sums, Sent(1, file: "events_20250228.csv"), 1, 2);
        Feed(sums, Sent(2, [(DeadLetterReasons.MissingClientId, 1)], orders: 1, revenue: (double)0.1m, fields: [("item_id", 3, 0)], times: (3, 2, 10, 20)), 0, 2);
        Feed(sums, Sent(1).Take(3), 1, 2);

        var restored = new PartitionFileMetrics();
        restored.Restore(StateJson.Deserialize<PartitionFileMetricsState>(StateJson.Serialize(sums.State()))!);
        var whole = Feed(restored, Sent(4, orders: 1, revenue: (double)0.2m, times: (4, 4, 5, 15)), 1, 2);

        Assert.Equal(2, restored.Partitions);
        Assert.Equal(
            Sent(6, [(DeadLetterReasons.MissingClientId, 1)], orders: 2, revenue: (double)0.3m, fields: [("item_id", 3, 0)], times: (7, 6, 5, 20)),
            whole);
        Assert.Empty(restored.State().Files);
        Assert.Equal(["events_20250228.csv", FileName], restored.State().Emitted);
        Assert.Empty(Feed(restored, Sent(1, file: "events_20250228.csv"), 0, 2));
    }

    [Fact]
    public void Accept_ManyFilesSent_RemembersTheLatestOnes()
    {
        var sums = new PartitionFileMetrics();
        for (var i = 0; i < 1100; i++)
            Assert.NotEmpty(Feed(sums, Sent(1, file: $"f{i:0000}.csv"), 0, 1));

        var emitted = sums.State().Emitted;
        Assert.Equal(1024, emitted.Count);
        Assert.Equal("f0076.csv", emitted[0]);
        Assert.Equal("f1099.csv", emitted[^1]);
        Assert.Empty(Feed(sums, Sent(1, file: "f0076.csv"), 0, 1));
        Assert.NotEmpty(Feed(sums, Sent(1, file: "f0075.csv"), 0, 1));
    }

    [Fact]
    public void Check_PartOfAFile_IsSparedOnlyTheWholeFileRowCount()
    {
        var monitor = FedWith([M(MetricNames.FileSchema, 7, "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent"), M(MetricNames.FileRows, 10)]);
        var complete = M(MetricNames.FileComplete, 4);

        Assert.Contains("but the validator reported 0 rows valid or dead-lettered", monitor.Check(complete, MetricProducers.Validator), StringComparison.Ordinal);
        Assert.Null(monitor.Check(complete, MetricProducers.Validator, part: true));
        Assert.Contains("more than the 10 rows the ingestor read", monitor.Check(M(MetricNames.FileValid, 11), MetricProducers.Validator, part: true), StringComparison.Ordinal);
        Assert.Contains("more than the 10 rows the ingestor read", monitor.Check(M(MetricNames.FileComplete, 11), MetricProducers.Validator, part: true), StringComparison.Ordinal);
        Assert.Contains("no reason of the contract", monitor.Check(M(MetricNames.FileDeadLettered, 1, "no_such_reason"), MetricProducers.Validator, part: true), StringComparison.Ordinal);
        Assert.Contains("names no file", monitor.Check(M(MetricNames.FileValid, 1, file: string.Empty), MetricProducers.Validator, part: true), StringComparison.Ordinal);
        Assert.Contains("must be a whole number", monitor.Check(M(MetricNames.FileOrders, 1.5), MetricProducers.Validator, part: true), StringComparison.Ordinal);
        Assert.Contains("not the 'ingestor''s", monitor.Check(M(MetricNames.FileValid, 1), MetricProducers.Ingestor, part: true), StringComparison.Ordinal);
    }
}
