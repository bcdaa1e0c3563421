using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// The partition-parallel validator's transaction ledger in a real Redis: decisions wait for every partition, read
/// candidates in batches, a stale owner cannot publish, old transaction ids are forgotten atomically, and the real data
/// split over partitions validated through it gives one validator's results.
/// </summary>
public sealed class TransactionLedgerTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly DateTime T0 = new(2025, 3, 1, 10, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Window = TimeSpan.FromDays(30);

    private static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N");

    private async Task<(RedisTransactionLedger Ledger, RedisTransactionLedger.Partition[] Views)> NewLedgerAsync(string prefix, int partitions)
    {
        var db = redis.Connection.GetDatabase();
        var ledger = new RedisTransactionLedger(db, prefix, partitions, Window);
        var views = new RedisTransactionLedger.Partition[partitions];
        for (var p = 0; p < partitions; p++)
            views[p] = ledger.For(p, await PartitionLease.AcquireAsync(db, $"{prefix}:p{p}"));
        return (ledger, views);
    }

    [Fact]
    public async Task TryDecide_AfterEveryPartitionPublishedPastIt_FindsTheEarlierPurchaseOfAnotherPartition()
    {
        var prefix = NewPrefix();
        var (ledger, views) = await NewLedgerAsync(prefix, 2);
        var earlier = new TransactionCandidate(T0.Ticks, 9);
        var later = new TransactionCandidate(T0.AddMinutes(5).Ticks, 1);
        views[0].Register("T-1", later);
        views[0].Through(T0.AddMinutes(20));
        await views[0].PublishAsync();
        await ledger.RefreshAsync(views);

        // Partition 1 has published nothing: nothing can be decided yet.
        Assert.Equal(DateTime.MinValue, views[0].RegisteredThrough);

        views[1].Register("T-1", earlier);
        views[1].Through(T0.AddMinutes(10));
        await views[1].PublishAsync();
        await ledger.RefreshAsync(views);
        Assert.Equal(T0.AddMinutes(10), views[0].RegisteredThrough);

        // Both purchases lie before every partition's watermark: the refresh read their candidates along, in one batch.
        Assert.True(views[0].TryDecide("T-1", later, out var accepted));
        Assert.Equal(earlier, accepted);
        Assert.True(views[1].TryDecide("T-1", earlier, out var none));
        Assert.Null(none);
        // A question about an id no owned partition registered (a late purchase) is read with the next refresh.
        Assert.False(views[0].TryAcceptedBefore("T-2", T0.AddMinutes(10), out _));
        Assert.Equal(1, ledger.Wanted);
        await ledger.RefreshAsync(views);
        Assert.True(views[0].TryAcceptedBefore("T-2", T0.AddMinutes(10), out var unknown));
        Assert.Null(unknown);
    }

    [Fact]
    public async Task PublishAsync_AnotherInstanceTookThePartition_IsRefused()
    {
        var prefix = NewPrefix();
        var (ledger, views) = await NewLedgerAsync(prefix, 1);
        await PartitionLease.AcquireAsync(redis.Connection.GetDatabase(), $"{prefix}:p0");
        views[0].Register("T-1", new TransactionCandidate(T0.Ticks, 1));
        views[0].Through(T0.AddMinutes(1));

        await Assert.ThrowsAsync<PartitionLeaseLostException>(views[0].PublishAsync);
        await ledger.RefreshAsync(views);
        Assert.Equal(DateTime.MinValue, ledger.RegisteredThrough);
    }

    [Fact]
    public async Task ForgetAsync_EveryPartitionSettledPastTheWindow_DeletesOnlyTheIdsNoDecisionCanReach()
    {
        var prefix = NewPrefix();
        var (ledger, views) = await NewLedgerAsync(prefix, 2);
        views[0].Register("OLD", new TransactionCandidate(T0.Ticks, 1));
        views[0].Register("RECENT", new TransactionCandidate(T0.AddDays(35).Ticks, 2));
        foreach (var view in views)
        {
            view.Through(T0.AddDays(40));
            view.Settled(T0.AddDays(31));
        }

        foreach (var view in views)
            await view.PublishAsync();
        Assert.Equal(0, await ledger.ForgetAsync());

        views[1].Settled(T0.AddDays(40));
        views[0].Settled(T0.AddDays(40));
        foreach (var view in views)
            await view.PublishAsync();
        Assert.Equal(1, await ledger.ForgetAsync());

        var db = redis.Connection.GetDatabase();
        Assert.False(await db.KeyExistsAsync($"{prefix}:tx:OLD"));
        Assert.True(await db.KeyExistsAsync($"{prefix}:tx:RECENT"));
    }

    [Fact]
    public async Task Validate_RealDataOverFourPartitionsThroughRedis_EqualsOneValidator()
    {
        var input = RealInput();
        var single = new List<string>();
        var one = new ValidatorCore(new ValidatorOptions())
        {
            OnValid = e => single.Add($"valid {e.SourceFile}:{e.Line}"),
            OnDeadLetter = d => single.Add($"{d.Reason} {d.SourceFile}:{d.Line}"),
        };
        foreach (var (raw, end) in input)
        {
            if (raw is not null)
                one.Accept(raw);
            else
                one.EndOfFile(end!, EventTime.DayFromFileName(end!));
        }

        one.Flush();

        const int Partitions = 4;
        var (ledger, views) = await NewLedgerAsync(NewPrefix(), Partitions);
        var outputs = new List<string>();
        var cores = views.Select(v => new ValidatorCore(new ValidatorOptions(), v)
        {
            OnValid = e => outputs.Add($"valid {e.SourceFile}:{e.Line}"),
            OnDeadLetter = d => outputs.Add($"{d.Reason} {d.SourceFile}:{d.Line}"),
        }).ToArray();
        var streamTime = DateTime.MinValue;
        var rows = 0;
        async Task PollAsync()
        {
            foreach (var view in views)
                await view.PublishAsync();
            await ledger.RefreshAsync(views);
            foreach (var core in cores)
                core.Advance();
        }

        foreach (var (raw, end) in input)
        {
            if (raw is not null)
            {
                cores[Testing.RawPartitions.Of(raw, Partitions)].Accept(raw);
                streamTime = raw.StreamTime;
                if (++rows % 500 != 0)
                    continue;
                foreach (var core in cores)
                    core.AdvanceTo(streamTime);
                await PollAsync();
            }
            else
            {
                foreach (var core in cores)
                    core.EndOfFile(end!, EventTime.DayFromFileName(end!));
            }
        }

        foreach (var core in cores)
            core.Flush(streamTime);
        for (var i = 0; i < 3 && cores.Any(c => c.Flushing); i++)
            await PollAsync();

        Assert.All(cores, c => Assert.False(c.Flushing));
        Assert.Equal(single.Order(StringComparer.Ordinal), outputs.Order(StringComparer.Ordinal));
        Assert.Equal(4, outputs.Count(o => o.StartsWith(DeadLetterReasons.DuplicateTransactionId, StringComparison.Ordinal)));
    }

    private static List<(RawEvent? Row, string? End)> RealInput()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Puffy.Streaming.sln")))
            root = root.Parent;
        var input = new List<(RawEvent?, string?)>();
        var ingestor = new IngestorCore();
        foreach (var file in Directory.GetFiles(Path.Combine(root!.FullName, "data", "puffy-events"), "*.csv").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            input.AddRange(ingestor.ReadFile(name, File.ReadAllBytes(file)).Select(r => ((RawEvent?)r, (string?)null)));
            input.Add((null, name));
        }

        return input;
    }
}
