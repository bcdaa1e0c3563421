using System.Text.Json;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>A Redis hash of JSON values, one field per client: atomic pipelined writes and deletes, and a full read.</summary>
internal sealed class JsonHash<T>(IDatabase db, RedisKey key)
    where T : class
{
    /// <summary>
    /// Sets and deletes fields in one MULTI/EXEC transaction (one round trip): a checkpoint is stored whole or not at
    /// all, even if the writer dies half-way. Other commands for the same transaction may be added. Under a
    /// <paramref name="lease"/>, it applies only while the lease is held, and stores <paramref name="resume"/> with it.
    /// </summary>
    public async Task WriteAsync(
        IEnumerable<(string Field, T? Value)> changes, Func<IBatch, IEnumerable<Task>>? alongside = null, PartitionLease? lease = null,
        string? resume = null)
    {
        var batch = db.CreateTransaction();
        var writes = new List<Task>();
        if (lease?.Enlist(batch, resume) is { } stored)
            writes.Add(stored);
        writes.AddRange(Queue(batch, changes));
        if (alongside is not null)
            writes.AddRange(alongside(batch));
        if (writes.Count == 0)
        {
            if (lease is not null)
                await lease.EnsureHeldAsync(db);
            return;
        }

        if (!await batch.ExecuteAsync())
        {
            if (lease is not null)
                await lease.EnsureHeldAsync(db);
            throw new CheckpointNotAppliedException($"{key}: the checkpoint transaction was not applied");
        }
        await Task.WhenAll(writes);
    }

    /// <summary>
    /// Adds the sets and deletes to another hash's transaction (see <see cref="WriteAsync"/>): one HSET and one HDEL,
    /// whatever the number of fields. A field changed twice ends as its last change says.
    /// </summary>
    public IEnumerable<Task> Queue(IBatch batch, IEnumerable<(string Field, T? Value)> changes)
    {
        var last = new Dictionary<string, T?>(StringComparer.Ordinal);
        foreach (var (field, value) in changes)
            last[field] = value;
        var sets = last.Where(c => c.Value is not null)
            .Select(c => new HashEntry(c.Key, JsonSerializer.SerializeToUtf8Bytes(c.Value))).ToArray();
        var deletes = last.Where(c => c.Value is null).Select(c => (RedisValue)c.Key).ToArray();
        var writes = new List<Task>(2);
        if (sets.Length > 0)
            writes.Add(batch.HashSetAsync(key, sets));
        if (deletes.Length > 0)
            writes.Add(batch.HashDeleteAsync(key, deletes));
        return writes;
    }

    public async Task<IReadOnlyList<T>> ReadAllAsync()
    {
        var entries = await db.HashGetAllAsync(key);
        return entries.Select(e => JsonSerializer.Deserialize<T>((string)e.Value!)
                                   ?? throw new InvalidDataException($"{key}: the value of {e.Name} is empty")).ToList();
    }

    public async Task<T?> ReadAsync(string field)
    {
        var json = await db.HashGetAsync(key, field);
        return json.HasValue ? JsonSerializer.Deserialize<T>((string)json!) : null;
    }
}
