using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>The monitor's checkpoint in a real Redis: state and marketing contributions saved together, idempotently.</summary>
public sealed class MonitorStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    public sealed record State(string Note, IReadOnlyList<long> Positions);

    private MonitorStore<State> NewStore() => NewStore("test-" + Guid.NewGuid().ToString("N") + ":monitor");

    private MonitorStore<State> NewStore(string prefix) => new(redis.Connection.GetDatabase(), prefix);

    private static readonly DateOnly Day = new(2025, 3, 1);

    private static SessionContribution Session(string id, int day = 0) => new(id, Day.AddDays(day), Channels.Email, Converted: id.EndsWith('1'));

    private static OrderContribution Order(string id, decimal revenue, int day = 0) =>
        new(id, revenue, AttributionModels.All.Select(m => new ModelCredit(m, Day.AddDays(day), Channels.PaidSearch)).ToList());

    [Fact]
    public async Task LoadStateAsync_NothingSaved_ReturnsNullAndNoContributions()
    {
        var store = NewStore();

        Assert.Null(await store.LoadStateAsync());
        Assert.Empty(await store.LoadSessionsAsync());
        Assert.Empty(await store.LoadOrdersAsync());
    }

    [Fact]
    public async Task SaveAsync_TwoCheckpointsOneRepeated_KeepsTheLastStateAndEachContributionOnce()
    {
        var store = NewStore();

        await store.SaveAsync(new State("first", [10, 20]), [Session("s1"), Session("s2")], [Order("T-1", 129.99m)]);
        await store.SaveAsync(new State("second", [11, 25]), [Session("s2"), Session("s3")], [Order("T-1", 129.99m), Order("T-2", 1249.10m)]);

        var state = await store.LoadStateAsync();
        Assert.NotNull(state);
        Assert.Equal("second", state.Note);
        Assert.Equal([11L, 25L], state.Positions);
        Assert.Equal(["s1", "s2", "s3"], (await store.LoadSessionsAsync()).Select(s => s.SessionId).Order(StringComparer.Ordinal));
        var orders = (await store.LoadOrdersAsync()).OrderBy(o => o.TransactionId, StringComparer.Ordinal).ToList();
        Assert.Equal([129.99m, 1249.10m], orders.Select(o => o.Revenue));
        Assert.Equal(Order("T-2", 1249.10m).Credits, orders[1].Credits);
    }

    [Fact]
    public async Task SaveAsync_UnderALeaseAnotherInstanceTook_StoresNothingAndThrows()
    {
        var prefix = "test-" + Guid.NewGuid().ToString("N") + ":monitor";
        var db = redis.Connection.GetDatabase();
        var first = new MonitorStore<State>(db, prefix, await PartitionLease.AcquireAsync(db, prefix));
        Assert.True(await first.HoldsLeaseAsync());
        await first.SaveAsync(new State("first", [10]), [Session("s1")], []);

        // A standby takes the stage over: its lease ends the first instance's.
        var second = new MonitorStore<State>(db, prefix, await PartitionLease.AcquireAsync(db, prefix));

        Assert.False(await first.HoldsLeaseAsync());
        await Assert.ThrowsAsync<PartitionLeaseLostException>(() => first.SaveAsync(new State("stale", [12]), [Session("s2")], []));
        Assert.Equal("first", (await second.LoadStateAsync())!.Note);
        Assert.Equal(["s1"], (await second.LoadSessionsAsync()).Select(s => s.SessionId));
        Assert.True(await second.HoldsLeaseAsync());
        await second.SaveAsync(new State("second", [12]), [Session("s2")], []);
        Assert.Equal("second", (await first.LoadStateAsync())!.Note);
    }

    [Fact]
    public async Task SaveAsync_ForgetBefore_DeletesTheEarlierDaysFromRedisAndKeepsTheRest()
    {
        var prefix = "test-" + Guid.NewGuid().ToString("N") + ":monitor";
        var store = NewStore(prefix);
        await store.SaveAsync(new State("first", []), [Session("s0", day: 0), Session("s1", day: 1), Session("s2", day: 2)],
            [Order("T-0", 10m, day: 0), Order("T-2", 20m, day: 2)]);
        var server = redis.Connection.GetDatabase();
        StackExchange.Redis.RedisKey[] dayKeys =
        [
            $"{prefix}:marketing-sessions:2025-03-01", $"{prefix}:marketing-sessions:2025-03-02", $"{prefix}:marketing-sessions:2025-03-03",
            $"{prefix}:marketing-orders:2025-03-01", $"{prefix}:marketing-orders:2025-03-03",
        ];
        Assert.Equal(5, await server.KeyExistsAsync(dayKeys));

        await store.SaveAsync(new State("second", []), [Session("s3", day: 3), Session("late", day: 0)], [], forgetBefore: Day.AddDays(1));

        Assert.Equal(3, await server.KeyExistsAsync(dayKeys));
        Assert.False(await server.KeyExistsAsync($"{prefix}:marketing-sessions:2025-03-01"));
        Assert.False(await server.KeyExistsAsync($"{prefix}:marketing-orders:2025-03-01"));
        Assert.True(await server.KeyExistsAsync($"{prefix}:marketing-sessions:2025-03-02"));
        Assert.Equal([Day.AddDays(1), Day.AddDays(2), Day.AddDays(3)], await store.StoredDaysAsync());
        Assert.Equal(["s1", "s2", "s3"], (await store.LoadSessionsAsync()).Select(s => s.SessionId).Order(StringComparer.Ordinal));
        Assert.Equal(["T-2"], (await store.LoadOrdersAsync()).Select(o => o.TransactionId));

        // A store opened afresh (a restarted monitor) knows the stored days from Redis and keeps forgetting.
        await NewStore(prefix).SaveAsync(new State("third", []), [], [], forgetBefore: Day.AddDays(3));
        Assert.Equal([Day.AddDays(3)], await store.StoredDaysAsync());
        Assert.Equal(["s3"], (await store.LoadSessionsAsync()).Select(s => s.SessionId));
    }
}
