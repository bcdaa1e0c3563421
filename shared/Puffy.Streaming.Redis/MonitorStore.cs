using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Puffy.Streaming.Pipeline.Marketing;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The monitor's checkpoint in Redis: its state (rules, file totals and the input positions they reflect) as one JSON
/// value, and the sessions and orders the marketing table has counted, one hash field per id in one hash per day (the
/// day <see cref="MarketingDaily"/> remembers the id by), with a set naming the stored days. A checkpoint writes the
/// state and the new contributions, and deletes the days the table has forgotten, in one MULTI/EXEC transaction, so a
/// restart sees one checkpoint whole and the stored ids stay within the table's horizon. Writing the same contributions
/// again changes nothing. Under a <paramref name="lease"/> (the stage's, taken by the instance that runs it), a checkpoint
/// applies only while that instance still holds it; otherwise it throws <see cref="PartitionLeaseLostException"/>.
/// </summary>
public sealed class MonitorStore<TState>(IDatabase db, string keyPrefix, PartitionLease? lease = null)
    where TState : class
{
    private readonly RedisKey _state = keyPrefix + ":state";
    private readonly RedisKey _days = keyPrefix + ":marketing-days";
    private SortedSet<DateOnly>? _storedDays;

    /// <summary>
    /// Stores a checkpoint: the state, the contributions counted since the last one, and the deletion of every stored day
    /// before <paramref name="forgetBefore"/> (contributions of such a day are not written).
    /// </summary>
    public async Task SaveAsync(
        TState state, IReadOnlyCollection<SessionContribution> sessions, IReadOnlyCollection<OrderContribution> orders, DateOnly forgetBefore = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(orders);
        var stored = _storedDays ??= await ReadStoredDaysAsync();
        var batch = db.CreateTransaction();
        var writes = new List<Task>();
        lease?.Enlist(batch, null);
        foreach (var day in sessions.Where(s => s.Day >= forgetBefore).GroupBy(s => s.Day))
            writes.AddRange(Sessions(day.Key).Queue(batch, day.Select(s => (s.SessionId, (SessionContribution?)s))));
        foreach (var day in orders.Where(o => o.Day() >= forgetBefore).GroupBy(o => o.Day()))
            writes.AddRange(Orders(day.Key).Queue(batch, day.Select(o => (o.TransactionId, (OrderContribution?)o))));
        var added = sessions.Select(s => s.Day).Concat(orders.Select(o => o.Day())).Where(d => d >= forgetBefore && !stored.Contains(d)).ToHashSet();
        if (added.Count > 0)
            writes.Add(batch.SetAddAsync(_days, added.Select(d => (RedisValue)Field(d)).ToArray()));
        var forgotten = stored.Where(d => d < forgetBefore).ToList();
        if (forgotten.Count > 0)
        {
            writes.Add(batch.KeyDeleteAsync(forgotten.SelectMany(d => new[] { SessionsKey(d), OrdersKey(d) }).ToArray()));
            writes.Add(batch.SetRemoveAsync(_days, forgotten.Select(d => (RedisValue)Field(d)).ToArray()));
        }

        writes.Add(batch.StringSetAsync(_state, StateJson.Serialize(state)));
        if (!await batch.ExecuteAsync())
        {
            if (lease is not null)
                await lease.EnsureHeldAsync(db);
            throw new CheckpointNotAppliedException($"{_state}: the checkpoint transaction was not applied");
        }

        await Task.WhenAll(writes);
        stored.UnionWith(added);
        stored.ExceptWith(forgotten);
    }

    /// <summary>False when another instance took the lease since this store's was taken (true without a lease).</summary>
    public async Task<bool> HoldsLeaseAsync() => lease is null || await db.StringGetAsync(lease.Key) == lease.Epoch;

    /// <summary>The state of the last checkpoint, or null when none was saved.</summary>
    public async Task<TState?> LoadStateAsync()
    {
        var json = await db.StringGetAsync(_state);
        if (!json.HasValue)
            return null;
        return StateJson.Deserialize<TState>((string)json!) ?? throw new InvalidDataException($"{_state}: the stored state is empty");
    }

    public async Task<IReadOnlyList<SessionContribution>> LoadSessionsAsync()
    {
        var all = new List<SessionContribution>();
        foreach (var day in _storedDays = await ReadStoredDaysAsync())
            all.AddRange(await Sessions(day).ReadAllAsync());
        return all;
    }

    public async Task<IReadOnlyList<OrderContribution>> LoadOrdersAsync()
    {
        var all = new List<OrderContribution>();
        foreach (var day in _storedDays = await ReadStoredDaysAsync())
            all.AddRange(await Orders(day).ReadAllAsync());
        return all;
    }

    /// <summary>The days whose contributions are stored, in order.</summary>
    public async Task<IReadOnlyCollection<DateOnly>> StoredDaysAsync() => await ReadStoredDaysAsync();

    private async Task<SortedSet<DateOnly>> ReadStoredDaysAsync() =>
        new((await db.SetMembersAsync(_days)).Select(v => DateOnly.ParseExact((string)v!, "yyyy-MM-dd", CultureInfo.InvariantCulture)));

    private JsonHash<SessionContribution> Sessions(DateOnly day) => new(db, SessionsKey(day));

    private JsonHash<OrderContribution> Orders(DateOnly day) => new(db, OrdersKey(day));

    private RedisKey SessionsKey(DateOnly day) => $"{keyPrefix}:marketing-sessions:{Field(day)}";

    private RedisKey OrdersKey(DateOnly day) => $"{keyPrefix}:marketing-orders:{Field(day)}";

    private static string Field(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

/// <summary>The stored form of a checkpoint state: JSON, with non-finite numbers allowed.</summary>
public static class StateJson
{
    private static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Serialize<T>(T state) => JsonSerializer.Serialize(state, Options);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);
}
