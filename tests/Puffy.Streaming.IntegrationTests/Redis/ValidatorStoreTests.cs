using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>The validator's checkpoint in a real Redis: round trip, the buffer's rows in and out, days forgotten.</summary>
public sealed class ValidatorStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private ValidatorStore NewStore() => new(redis.Connection.GetDatabase(), "test-" + Guid.NewGuid().ToString("N"));

    private static readonly DateTime T0 = new(2025, 3, 1, 10, 0, 0, 123, DateTimeKind.Utc);

    private static RawEvent Row(string file, long line, DateTime time) =>
        new(file, line, DateOnly.FromDateTime(time), $"c-{line},https://puffy.com/,,{time:O},page_viewed,,ua", null, $"c-{line}",
            "https://puffy.com/", "", time.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "page_viewed", null, "ua", time);

    private static ValidatorState State(DateTime streamTime) =>
        new(streamTime, [new ValidatorFileState("events_20250301.csv", new DateOnly(2025, 3, 1), 10, 7, 1, 349.5m, 0, false,
            new Dictionary<string, long>(StringComparer.Ordinal) { [DeadLetterReasons.BotUserAgent] = 2 }, new FieldTally().ToState())],
            T0.AddHours(1), ["events_20250228.csv"]);

    private static ValidatorCheckpoint Checkpoint(ValidatorState state, IReadOnlyCollection<RawEvent> buffered, IReadOnlyCollection<(string, long)> released,
        DateOnly? forgetBefore = null, params (UInt128 Id, DateTime Time)[] ids) =>
        new(state, ids,
            ids.Select(i => ("events.csv", (long)i.Id, i.Time)).ToList(), buffered, released, forgetBefore);

    [Fact]
    public async Task SaveAsync_TwoCheckpoints_LoadAsyncReturnsTheStateIdsAndTheRowsStillBuffered()
    {
        var store = NewStore();
        var early = Row("events_20250301.csv", 3, T0);
        var late = Row("events_20250301.csv", 4, T0.AddMinutes(1));

        await store.SaveAsync(Checkpoint(State(T0), [early, late], [], null, (1, T0), (2, T0.AddDays(1))));
        await store.SaveAsync(Checkpoint(State(T0.AddMinutes(20)), [], [("events_20250301.csv", 3)], null, (3, T0.AddDays(2))));
        var loaded = await store.LoadAsync();

        Assert.NotNull(loaded.State);
        Assert.Equal(T0.AddMinutes(20), loaded.State.StreamTime);
        var file = Assert.Single(loaded.State.Files);
        Assert.Equal((10, 7, 349.5m, 2L), (file.Rows, file.Valid, file.Revenue, file.DeadLettered[DeadLetterReasons.BotUserAgent]));
        Assert.Equal(T0.AddHours(1), loaded.State.FlushEnd);
        Assert.Equal(["events_20250228.csv"], loaded.State.Completed!);
        Assert.Equal(new UInt128[] { 1, 2, 3 }, loaded.Ids.Select(i => i.Id).Order());
        Assert.Equal(T0.AddDays(2), loaded.Ids.Single(i => i.Id == 3).Time);
        Assert.Equal(3, loaded.SeenRows.Count);
        Assert.Equal(late, Assert.Single(loaded.Buffered));
    }

    [Fact]
    public async Task SaveAsync_ForgetBefore_DeletesTheDaysBeforeItAndKeepsTheRest()
    {
        var store = NewStore();
        await store.SaveAsync(Checkpoint(State(T0), [], [], null, (1, T0), (2, T0.AddDays(1)), (3, T0.AddDays(2))));

        await store.SaveAsync(Checkpoint(State(T0.AddDays(2)), [], [], DateOnly.FromDateTime(T0.AddDays(1))));
        var loaded = await store.LoadAsync();

        Assert.Equal(new UInt128[] { 2, 3 }, loaded.Ids.Select(i => i.Id).Order());
        Assert.Equal(2, loaded.SeenRows.Count);
    }

    [Fact]
    public async Task SaveAsync_AnotherInstanceTookTheLease_IsRefusedAndStoresNothing()
    {
        var db = redis.Connection.GetDatabase();
        var prefix = "test-" + Guid.NewGuid().ToString("N");
        var first = await PartitionLease.AcquireAsync(db, prefix);
        var stale = new ValidatorStore(db, prefix, first);
        await stale.SaveAsync(Checkpoint(State(T0), [], [], null, (1, T0)));
        await PartitionLease.AcquireAsync(db, prefix);

        await Assert.ThrowsAsync<PartitionLeaseLostException>(() => stale.SaveAsync(Checkpoint(State(T0.AddHours(2)), [], [], null, (2, T0))));
        var loaded = await new ValidatorStore(db, prefix).LoadAsync();

        Assert.Equal(T0, loaded.State!.StreamTime);
        Assert.Equal(new UInt128[] { 1 }, loaded.Ids.Select(i => i.Id));
    }

    [Fact]
    public async Task LoadAsync_NothingSaved_HasNoState()
    {
        var loaded = await NewStore().LoadAsync();

        Assert.Null(loaded.State);
        Assert.Empty(loaded.Ids);
        Assert.Empty(loaded.Buffered);
    }
}
