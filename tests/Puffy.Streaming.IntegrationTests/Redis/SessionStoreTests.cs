using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>The sessionizer's client states in a real Redis: round trip, idempotent checkpoints, restart, pruning.</summary>
public sealed class SessionStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private SessionStore NewStore() => new(redis.Connection.GetDatabase(), "test-" + Guid.NewGuid().ToString("N"));

    private static readonly DateTime T0 = new(2025, 3, 1, 10, 0, 0, 123, DateTimeKind.Utc);

    private static ClientState Open(string client, DateTime last) =>
        new(client, last, "e-" + client, new OpenSessionState("s-" + client, client, T0, last, "e0-" + client, Channels.Email, Devices.Mobile,
            "https://puffy.com/?a=1", null, [2, 0, 1, 0, 1], 4, 129.99m, ["T-" + client]));

    [Fact]
    public async Task SaveAsync_ThenLoadAllAsync_ReturnsEqualStates()
    {
        var store = NewStore();
        ClientState[] states = [Open("a", T0.AddMinutes(5)), new("b", T0, "e-b", null)];

        await store.SaveAsync(states);
        var loaded = (await store.LoadAllAsync()).OrderBy(s => s.ClientId, StringComparer.Ordinal).ToList();

        Assert.Equal(2, loaded.Count);
        Assert.Equal(states[1], loaded[1]);
        var open = loaded[0].Open!;
        Assert.Equal(states[0].Open! with { Counts = [], TransactionIds = [] }, open with { Counts = [], TransactionIds = [] });
        Assert.Equal(states[0].Open!.Counts, open.Counts);
        Assert.Equal(states[0].Open!.TransactionIds, open.TransactionIds);
        Assert.Null(open.LandingReferrer);
    }

    [Fact]
    public async Task SaveAsync_UnderALease_StoresWhereTheInputStandsWithTheStateAndOnlyWhileTheLeaseIsHeld()
    {
        var db = redis.Connection.GetDatabase();
        var prefix = "test-" + Guid.NewGuid().ToString("N");
        var first = await PartitionLease.AcquireAsync(db, prefix);
        Assert.Null(first.StoredResume);
        var store = new SessionStore(db, prefix, first);
        await store.SaveAsync([Open("a", T0)], resume: "120|638764128001230000|0|e-a");
        await store.SaveAsync([Open("b", T0)]); // no offset: the stored one stays

        var second = await PartitionLease.AcquireAsync(db, prefix);
        // The earlier owner, unaware it was replaced, can store neither state nor offset any more.
        await Assert.ThrowsAsync<PartitionLeaseLostException>(() => store.SaveAsync([Open("c", T0)], resume: "180"));
        var third = await PartitionLease.AcquireAsync(db, prefix);

        Assert.Equal("120|638764128001230000|0|e-a", second.StoredResume);
        Assert.Equal(second.StoredResume, third.StoredResume);
        Assert.Equal(third.StoredResume, new SessionStore(db, prefix, third).StoredResume);
        Assert.Equal(["a", "b"], (await store.LoadAllAsync()).Select(c => c.ClientId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SaveAsync_ForgottenClient_DeletesItsStoredState()
    {
        var store = NewStore();
        await store.SaveAsync([Open("a", T0.AddMinutes(5)), Open("b", T0.AddMinutes(6))]);

        await store.SaveAsync([ClientState.Forgotten("a")]);
        var loaded = await store.LoadAllAsync();

        Assert.Equal("b", Assert.Single(loaded).ClientId);
        Assert.Equal(0, await store.PruneAsync(T0.AddDays(1)));
    }

    [Fact]
    public async Task SaveAsync_SameCheckpointTwice_LeavesOneStatePerClient()
    {
        var store = NewStore();
        var states = Enumerable.Range(0, 500).Select(i => Open("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), T0.AddSeconds(i))).ToList();

        await store.SaveAsync(states);
        await store.SaveAsync(states);

        Assert.Equal(500, (await store.LoadAllAsync()).Count);
    }

    [Fact]
    public async Task PruneAsync_ForgetsOnlyOldClientsWithoutOpenSession()
    {
        var store = NewStore();
        await store.SaveAsync([new ClientState("old-closed", T0, "e1", null), Open("old-open", T0), new ClientState("new-closed", T0.AddDays(2), "e2", null)]);

        var removed = await store.PruneAsync(T0.AddDays(1));

        Assert.Equal(1, removed);
        Assert.Equal(["new-closed", "old-open"], (await store.LoadAllAsync()).Select(s => s.ClientId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Restart_FromRedisCheckpointsWithRedelivery_GivesTheUninterruptedSessions()
    {
        var events = ValidEventsOfRealData();
        var expected = new Dictionary<string, Session>(StringComparer.Ordinal);
        var reference = new SessionizerCore(new SessionizerOptions()) { OnSessionClosed = s => expected[s.SessionId] = s };
        foreach (var (_, e) in events)
            reference.Accept(e);
        reference.Flush();

        var store = NewStore();
        var emitted = new Dictionary<string, Session>(StringComparer.Ordinal);
        var first = new SessionizerCore(new SessionizerOptions()) { TrackChanges = true, OnSessionClosed = s => emitted[s.SessionId] = s };
        var committed = 0;
        for (var i = 0; i < events.Count / 2; i++)
        {
            first.Accept(events[i].Event);
            if (events[i + 1].File != events[i].File)
            {
                await store.SaveAsync(first.TakeChanges());
                committed = i + 1;
            }
        }

        // The process dies here; a new one loads the checkpoint and is handed 2,000 already-applied events again.
        var second = new SessionizerCore(new SessionizerOptions()) { TrackChanges = true, OnSessionClosed = s => emitted[s.SessionId] = s };
        second.Restore(await store.LoadAllAsync());
        foreach (var (_, e) in events.Skip(Math.Max(0, committed - 2000)))
            second.Accept(e);
        second.Flush();

        Assert.Equal(expected.Count, emitted.Count);
        Assert.All(expected, kv => Assert.Equal(kv.Value.EventCount, emitted[kv.Key].EventCount));
        Assert.Equal(expected.Values.Sum(s => s.Revenue), emitted.Values.Sum(s => s.Revenue));
    }

    internal static List<(string File, ValidEvent Event)> ValidEventsOfRealData()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Puffy.Streaming.sln")))
            root = root.Parent;
        var folder = Path.Combine(root!.FullName, "data", "puffy-events");
        var events = new List<(string, ValidEvent)>();
        var validator = new ValidatorCore(new ValidatorOptions()) { OnValid = e => events.Add((e.SourceFile, e)) };
        var ingestor = new IngestorCore();
        foreach (var file in Directory.GetFiles(folder, "*.csv").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            foreach (var raw in ingestor.ReadFile(name, File.ReadAllBytes(file)))
                validator.Accept(raw);
            validator.EndOfFile(name, EventTime.DayFromFileName(name));
        }

        validator.Flush();
        return events;
    }
}
