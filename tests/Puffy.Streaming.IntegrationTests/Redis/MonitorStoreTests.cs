using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>The monitor's checkpoint in a real Redis: state and marketing contributions saved together, idempotently.</summary>
public sealed class MonitorStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    public sealed record State(string Note, IReadOnlyList<long> Positions);

    private MonitorStore<State> NewStore() => new(redis.Connection.GetDatabase(), "test-" + Guid.NewGuid().ToString("N") + ":monitor");

    private static readonly DateOnly Day = new(2025, 3, 1);

    private static SessionContribution Session(string id) => new(id, Day, Channels.Email, Converted: id.EndsWith('1'));

    private static OrderContribution Order(string id, decimal revenue) =>
        new(id, revenue, AttributionModels.All.Select(m => new ModelCredit(m, Day, Channels.PaidSearch)).ToList());

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
}
