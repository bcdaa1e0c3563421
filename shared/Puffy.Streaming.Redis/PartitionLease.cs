using System.Globalization;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// Who may store a partition's state: each instance that is assigned the partition takes the next epoch of its lease
/// (INCR), and every checkpoint of that partition is a transaction on the condition that the epoch is still its own. An
/// instance that was expelled from its consumer group without noticing (frozen, cut off) can then no longer overwrite
/// what the partition's new owner stores.
/// </summary>
public sealed class PartitionLease
{
    private PartitionLease(RedisKey key, long epoch)
    {
        Key = key;
        Epoch = epoch;
    }

    public RedisKey Key { get; }

    public long Epoch { get; }

    /// <summary>The condition every checkpoint transaction of the partition carries.</summary>
    public Condition Held => Condition.StringEqual(Key, Epoch);

    public static async Task<PartitionLease> AcquireAsync(IDatabase db, RedisKey key)
    {
        ArgumentNullException.ThrowIfNull(db);
        return new PartitionLease(key, await db.StringIncrementAsync(key));
    }

    /// <summary>Throws <see cref="PartitionLeaseLostException"/> when another instance took the lease since.</summary>
    public async Task EnsureHeldAsync(IDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var current = await db.StringGetAsync(Key);
        if (current != Epoch)
            throw new PartitionLeaseLostException(string.Create(CultureInfo.InvariantCulture, $"{Key}: epoch {current} now, this instance holds {Epoch}"));
    }
}

/// <summary>A checkpoint was refused because another instance holds the partition's lease now.</summary>
public sealed class PartitionLeaseLostException(string message) : Exception(message);
