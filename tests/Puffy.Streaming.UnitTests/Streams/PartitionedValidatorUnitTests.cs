using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Streams;

/// <summary>
/// Why the partition-parallel validator is exact: the real rows split by their raw key over P partitions (as the ingestor
/// keys them), each partition validated by its own core, all sharing one transaction ledger, with the ingestor's marks
/// (watermarks, file ends, the flush) on every partition and the partitions processed in many interleavings, give exactly
/// one core's valid events (each partition's in the same order), dead letters with their reasons and per-file tallies.
/// The real data reuses four transaction ids across clients, so <c>duplicate_transaction_id</c> crosses partitions here.
/// </summary>
public sealed class PartitionedValidatorUnitTests
{
    private sealed record Message(RawEvent? Row, string? FileEnd, DateTime StreamTime, bool Flush = false);

    private static readonly Lazy<List<Message>> RealInput = new(() =>
    {
        var input = new List<Message>();
        var ingestor = new IngestorCore();
        foreach (var file in Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            input.AddRange(ingestor.ReadFile(name, File.ReadAllBytes(file)).Select(r => new Message(r, null, r.StreamTime)));
            input.Add(new Message(null, name, ingestor.StreamTime));
        }

        input.Add(new Message(null, null, ingestor.StreamTime, Flush: true));
        return input;
    });

    private sealed class Outputs
    {
        public List<ValidEvent> Valid { get; } = [];
        public List<string> DeadLetters { get; } = [];
        public List<Metric> Metrics { get; } = [];

        public ValidatorCore NewCore(ITransactionLedger? ledger = null) => new(new ValidatorOptions(), ledger)
        {
            OnValid = Valid.Add,
            OnDeadLetter = d => DeadLetters.Add($"{d.Reason} {d.SourceFile}:{d.Line}"),
            OnMetric = Metrics.Add,
        };
    }

    private static Outputs Single()
    {
        var run = new Outputs();
        var core = run.NewCore();
        foreach (var m in RealInput.Value)
        {
            if (m.Row is { } raw)
                core.Accept(raw);
            else if (m.FileEnd is { } file)
                core.EndOfFile(file, EventTime.DayFromFileName(file));
            else
                core.Flush();
        }

        return run;
    }

    private static int PartitionOf(RawEvent raw, int partitions) => Testing.RawPartitions.Of(raw, partitions);

    /// <summary>
    /// P partitions; the ingestor's watermark reaches every partition every <paramref name="watermarkEvery"/> rows; partitions
    /// take turns in chunks of 1 to <paramref name="maxChunk"/> messages chosen by <paramref name="seed"/>, and after each
    /// chunk every core decides what the shared ledger allows (as the service does after each poll).
    /// </summary>
    private static (Outputs[] Parts, TransactionLedger Ledger) Partitioned(int partitions, int watermarkEvery, int maxChunk, int seed)
    {
        var queues = Enumerable.Range(0, partitions).Select(_ => new Queue<Message>()).ToArray();
        var rows = 0;
        foreach (var m in RealInput.Value)
        {
            if (m.Row is { } raw)
            {
                queues[PartitionOf(raw, partitions)].Enqueue(m);
                if (watermarkEvery > 0 && ++rows % watermarkEvery == 0)
                {
                    foreach (var q in queues)
                        q.Enqueue(new Message(null, null, raw.StreamTime));
                }
            }
            else
            {
                foreach (var q in queues)
                    q.Enqueue(m);
            }
        }

        var ledger = new TransactionLedger(new ValidatorOptions().DedupWindow, partitions);
        var parts = Enumerable.Range(0, partitions).Select(_ => new Outputs()).ToArray();
        var cores = Enumerable.Range(0, partitions).Select(p => parts[p].NewCore(ledger.Partition(p))).ToArray();
        var random = new Random(seed);
        while (queues.Any(q => q.Count > 0))
        {
            var p = random.Next(partitions);
            for (var n = random.Next(1, maxChunk + 1); n > 0 && queues[p].TryDequeue(out var m); n--)
            {
                if (m.Row is { } raw)
                    cores[p].Accept(raw);
                else if (m.FileEnd is { } file)
                    cores[p].EndOfFile(file, EventTime.DayFromFileName(file));
                else if (m.Flush)
                    cores[p].Flush(m.StreamTime);
                else
                    cores[p].AdvanceTo(m.StreamTime);
            }

            foreach (var core in cores)
                core.Advance();
        }

        foreach (var core in cores)
            core.Advance();
        Assert.All(cores, c => Assert.False(c.Flushing));
        Assert.All(cores, c => Assert.Equal(0, c.Buffered));
        return (parts, ledger);
    }

    private static Dictionary<(string File, string Name, string Dimension), decimal> FileTotals(IEnumerable<Metric> metrics)
    {
        var totals = new Dictionary<(string, string, string), decimal>();
        foreach (var m in metrics.Where(m => m.Name is MetricNames.FileValid or MetricNames.FileDeadLettered or MetricNames.FileOrders
                     or MetricNames.FileRevenue or MetricNames.FileZeroRevenueOrders or MetricNames.FileComplete or MetricNames.FieldObserved
                     or MetricNames.FieldNull or MetricNames.FileTimestamps or MetricNames.FileTimestampsInDay))
        {
            var key = (m.Source, m.Name, m.Dimension);
            totals[key] = totals.GetValueOrDefault(key) + (decimal)m.Value;
        }

        return totals.Where(t => t.Value != 0).ToDictionary();
    }

    public static TheoryData<int, int, int, int> Cases => new()
    {
        { 1, 100, 50, 1 },
        { 2, 100, 50, 2 },
        { 4, 1, 7, 3 },
        { 4, 500, 2_000, 4 },
        { 8, 100, 300, 5 },
        { 8, 0, 1_000, 6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_RowsSplitOverPartitionsSharingOneLedger_EqualsOneCoreOverEverything(int partitions, int watermarkEvery, int maxChunk, int seed)
    {
        var single = Single();

        var (parts, _) = Partitioned(partitions, watermarkEvery, maxChunk, seed);

        Assert.Equal(single.DeadLetters.Order(StringComparer.Ordinal), parts.SelectMany(p => p.DeadLetters).Order(StringComparer.Ordinal));
        for (var p = 0; p < partitions; p++)
        {
            var expected = single.Valid.Where(e => PartitionOf(new RawEvent(e.SourceFile, e.Line, null, "", null, e.ClientId, null, null, null, null, null, null, DateTime.MinValue), partitions) == p)
                .Select(e => $"{e.EventId} {e.SourceFile}:{e.Line}");
            Assert.Equal(expected, parts[p].Valid.Select(e => $"{e.EventId} {e.SourceFile}:{e.Line}"));
        }

        Assert.Equal(FileTotals(single.Metrics).OrderBy(t => t.Key), FileTotals(parts.SelectMany(p => p.Metrics)).OrderBy(t => t.Key));
        // Every partition completes every file, those without rows of it too, so the monitor knows when a file is whole.
        var files = RealInput.Value.Count(m => m.FileEnd is not null);
        Assert.All(parts, p => Assert.Equal(files, p.Metrics.Count(m => m.Name == MetricNames.FileComplete)));
    }

    [Fact]
    public void Validate_RealData_ReusedTransactionIdsAreDecidedAcrossPartitions()
    {
        var single = Single();
        var (parts, _) = Partitioned(8, 100, 300, 7);

        // §9: four transaction ids appear twice, with different customers; the earlier purchase of each pair is kept.
        Assert.Equal(4, parts.Sum(p => p.DeadLetters.Count(d => d.StartsWith(DeadLetterReasons.DuplicateTransactionId, StringComparison.Ordinal))));
        Assert.Equal(287_744.40m, parts.SelectMany(p => p.Valid).Sum(e => e.Revenue ?? 0m));
        Assert.Equal(single.Valid.Sum(e => e.Revenue ?? 0m), parts.SelectMany(p => p.Valid).Sum(e => e.Revenue ?? 0m));
        // The pairs' clients fall into different partitions here: the decision really crossed them.
        var pairs = RealInput.Value.Where(m => m.Row is { EventName: "checkout_completed" or "purchase" }).Select(m => m.Row!)
            .GroupBy(r => System.Text.Json.JsonDocument.Parse(r.EventData!).RootElement.TryGetProperty("transaction_id", out var tx) ? tx.ToString() : "")
            .Where(g => g.Count() == 2).ToList();
        Assert.Equal(4, pairs.Count);
        Assert.Contains(pairs, g => g.Select(r => PartitionOf(r, 8)).Distinct().Count() == 2);
    }

    [Fact]
    public void Flush_OnePartitionStillReading_WaitsForItBeforeDecidingPurchases()
    {
        var ledger = new TransactionLedger(TimeSpan.FromDays(30), 2);
        var valid = new List<ValidEvent>();
        var dead = new List<string>();
        ValidatorCore Core(int p) => new(new ValidatorOptions(), ledger.Partition(p))
        {
            OnValid = valid.Add,
            OnDeadLetter = d => dead.Add($"{d.Reason} {d.ClientId}"),
        };
        var (a, b) = (Core(0), Core(1));
        var t = new DateTime(2025, 3, 1, 10, 0, 0, DateTimeKind.Utc);
        const string File = "events_20250301.csv";

        a.Accept(Purchase(File, 1, "later", t.AddMinutes(1), "T-1", t.AddMinutes(1)));
        Assert.False(a.Flush(t.AddMinutes(2)));
        Assert.Empty(valid);
        b.Accept(Purchase(File, 2, "earlier", t, "T-1", t.AddMinutes(2)));
        Assert.True(b.Flush(t.AddMinutes(2)));
        a.Advance();

        Assert.False(a.Flushing);
        Assert.Equal("earlier", Assert.Single(valid).ClientId);
        Assert.Equal($"{DeadLetterReasons.DuplicateTransactionId} later", Assert.Single(dead));
    }

    [Fact]
    public void Ledger_TransactionIdReusedAfterTheWindow_IsAcceptedAgainAndTheOldOnesAreForgotten()
    {
        var ledger = new TransactionLedger(TimeSpan.FromDays(30));
        var view = ledger.Partition(0);
        var t = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var first = new TransactionCandidate(t.Ticks, 5);
        var within = new TransactionCandidate(t.AddDays(29).Ticks, 1);
        var after = new TransactionCandidate(t.AddDays(31).Ticks, 2);
        foreach (var c in new[] { after, first, within })
            view.Register("T", c);
        view.Through(t.AddDays(40));

        Assert.True(view.TryDecide("T", first, out var a1) && a1 is null);
        Assert.True(view.TryDecide("T", within, out var a2) && a2 == first);
        // 31 days after the first accepted one it is forgotten (the one within the window was a duplicate, never accepted).
        Assert.True(view.TryDecide("T", after, out var a3) && a3 is null);
        Assert.True(view.TryAcceptedBefore("T", t.AddDays(32), out var late) && late == after);

        view.Settled(t.AddDays(31 + 32));
        Assert.Equal(0, ledger.Remembered);
    }

    private static RawEvent Purchase(string file, long line, string client, DateTime time, string tx, DateTime streamTime)
    {
        var ts = time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var data = $"{{\"transaction_id\":\"{tx}\",\"revenue\":10}}";
        return new RawEvent(file, line, new DateOnly(2025, 3, 1), $"{client},{ts},checkout_completed", null, client, "https://puffy.com/", "", ts,
            "checkout_completed", data, "Mozilla/5.0", streamTime);
    }
}
