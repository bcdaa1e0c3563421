using System.Text.Json;
using Puffy.Streaming.Pipeline.Sessions;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The sessionizer's client states in Redis: one hash field per client (its last applied event and open session, as
/// JSON) and a sorted set by last applied time for pruning. A checkpoint writes every changed client in one pipelined
/// batch; writing the same states again changes nothing, so a redelivered checkpoint is harmless.
/// </summary>
public sealed class SessionStore(IDatabase db, string keyPrefix)
{
    private readonly RedisKey _states = keyPrefix + ":clients";
    private readonly RedisKey _byTime = keyPrefix + ":clients-by-time";

    /// <summary>Stores the changed client states (one round trip for the whole batch).</summary>
    public async Task SaveAsync(IReadOnlyCollection<ClientState> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
            return;
        var batch = db.CreateBatch();
        var writes = new List<Task>(changes.Count * 2);
        foreach (var state in changes)
        {
            writes.Add(batch.HashSetAsync(_states, state.ClientId, JsonSerializer.Serialize(state)));
            writes.Add(batch.SortedSetAddAsync(_byTime, state.ClientId, ToScore(state.LastAppliedTime)));
        }

        batch.Execute();
        await Task.WhenAll(writes);
    }

    /// <summary>Every stored client state, for a restarting sessionizer.</summary>
    public async Task<IReadOnlyList<ClientState>> LoadAllAsync()
    {
        var entries = await db.HashGetAllAsync(_states);
        return entries.Select(e => JsonSerializer.Deserialize<ClientState>((string)e.Value!)
                                   ?? throw new InvalidDataException($"client state of {e.Name} is empty")).ToList();
    }

    /// <summary>Forgets clients without an open session whose last event is older than <paramref name="before"/>.</summary>
    public async Task<int> PruneAsync(DateTime before)
    {
        var old = await db.SortedSetRangeByScoreAsync(_byTime, double.NegativeInfinity, ToScore(before), Exclude.Stop);
        var removed = 0;
        foreach (var client in old)
        {
            var json = await db.HashGetAsync(_states, client);
            if (json.HasValue && JsonSerializer.Deserialize<ClientState>((string)json!)?.Open is not null)
                continue;
            await db.HashDeleteAsync(_states, client);
            await db.SortedSetRemoveAsync(_byTime, client);
            removed++;
        }

        return removed;
    }

    private static double ToScore(DateTime t) => Math.Floor((t - DateTime.UnixEpoch).TotalMilliseconds);
}
