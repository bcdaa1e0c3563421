using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>Attribution state in a real Redis: a crash, a restore and redelivered events give the uninterrupted orders.</summary>
public sealed class TouchpointStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Theory]
    [InlineData(0.3, 3000)]
    [InlineData(0.7, 20000)]
    public async Task Restart_FromRedisCheckpointsWithRedelivery_GivesTheUninterruptedOrders(double crashAt, int redelivered)
    {
        var sessionized = new List<SessionizedEvent>();
        var sessionizer = new SessionizerCore(new SessionizerOptions()) { OnEvent = sessionized.Add };
        foreach (var (_, e) in SessionStoreTests.ValidEventsOfRealData())
            sessionizer.Accept(e);
        sessionizer.Flush();

        var expected = new Dictionary<string, AttributedOrder>(StringComparer.Ordinal);
        var reference = new AttributionCore(new AttributionOptions());
        foreach (var se in sessionized)
        {
            if (reference.Accept(se) is { } order)
                expected[order.TransactionId] = order;
        }

        var store = new TouchpointStore(redis.Connection.GetDatabase(), "test-" + Guid.NewGuid().ToString("N"));
        var emitted = new Dictionary<string, AttributedOrder>(StringComparer.Ordinal);
        var first = new AttributionCore(new AttributionOptions()) { TrackChanges = true };
        var crash = (int)(sessionized.Count * crashAt);
        var committed = 0;
        for (var i = 0; i < crash; i++)
        {
            if (first.Accept(sessionized[i]) is { } order)
                emitted[order.TransactionId] = order;
            if ((i + 1) % 5000 == 0)
            {
                await store.SaveAsync(first.TakeChanges());
                committed = i + 1;
            }
        }

        var second = new AttributionCore(new AttributionOptions()) { TrackChanges = true };
        second.Restore(await store.LoadAllAsync());
        foreach (var se in sessionized.Skip(Math.Max(0, committed - redelivered)))
        {
            if (second.Accept(se) is { } order)
                emitted[order.TransactionId] = order;
        }

        Assert.Equal(290, expected.Count);
        Assert.Equal(expected.Count, emitted.Count);
        Assert.All(expected, kv => Assert.Equal(kv.Value, emitted[kv.Key]));
    }
}
