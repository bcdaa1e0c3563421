using Puffy.Streaming.Pipeline.Sessions;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The sessionizer's client states in Redis: one hash field per client (its last applied event and open session, as
/// JSON) and a sorted set by last applied time for pruning. A checkpoint writes every changed client in one pipelined
/// batch; writing the same states again changes nothing, so a redelivered checkpoint is harmless.
/// </summary>
/// <remarks>A partition-parallel sessionizer keeps one store per input partition (its own key prefix) under that partition's lease.</remarks>
public sealed class SessionStore(IDatabase db, string keyPrefix, PartitionLease? lease = null)
{
    /// <summary>Where in its input the stored state ends, as of taking the lease (null: none stored, or no lease).</summary>
    public string? StoredResume => lease?.StoredResume;

    private readonly JsonHash<ClientState> _states = new(db, keyPrefix + ":clients");
    private readonly RedisKey _byTime = keyPrefix + ":clients-by-time";
    private readonly JsonHash<DayState> _days = new(db, keyPrefix + ":days");

    /// <summary>
    /// Stores the changed client states and day tallies together, atomically, in one round trip; a forgotten client's
    /// state is deleted. Under a lease, <paramref name="resume"/> (where in their input they end) is stored with them.
    /// </summary>
    public Task SaveAsync(IReadOnlyCollection<ClientState> changes, IReadOnlyCollection<DayState>? days = null, string? resume = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        days ??= [];
        return _states.WriteAsync(
            changes.Select(c => (c.ClientId, c.IsForgotten ? null : (ClientState?)c)),
            batch => ByTime(batch, changes).Concat(_days.Queue(batch, days.Select(d => (DayField(d.Day), d.Completed ? null : d)))).ToList(),
            lease,
            resume);
    }

    // One ZADD and one ZREM for the whole checkpoint; a client changes at most once per checkpoint.
    private IEnumerable<Task> ByTime(IBatch batch, IReadOnlyCollection<ClientState> changes)
    {
        var added = changes.Where(c => !c.IsForgotten).Select(c => new SortedSetEntry(c.ClientId, ToScore(c.LastAppliedTime))).ToArray();
        var removed = changes.Where(c => c.IsForgotten).Select(c => (RedisValue)c.ClientId).ToArray();
        if (added.Length > 0)
            yield return batch.SortedSetAddAsync(_byTime, added);
        if (removed.Length > 0)
            yield return batch.SortedSetRemoveAsync(_byTime, removed);
    }

    /// <summary>The day tallies of the last checkpoint.</summary>
    public Task<IReadOnlyList<DayState>> LoadDaysAsync() => _days.ReadAllAsync();

    private static string DayField(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every stored client state, for a restarting sessionizer.</summary>
    public Task<IReadOnlyList<ClientState>> LoadAllAsync() => _states.ReadAllAsync();

    /// <summary>Forgets clients without an open session whose last event is older than <paramref name="before"/>.</summary>
    public async Task<int> PruneAsync(DateTime before)
    {
        var old = await db.SortedSetRangeByScoreAsync(_byTime, double.NegativeInfinity, ToScore(before), Exclude.Stop);
        var removed = 0;
        foreach (var client in old)
        {
            if ((await _states.ReadAsync(client!))?.Open is not null)
                continue;
            await _states.WriteAsync([(client!, null)]);
            await db.SortedSetRemoveAsync(_byTime, client);
            removed++;
        }

        return removed;
    }

    private static double ToScore(DateTime t) => Math.Floor((t - DateTime.UnixEpoch).TotalMilliseconds);
}
