using System.Globalization;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// Who may store a partition's state, and where in its input that state stands. Each instance that is assigned the partition
/// takes the next epoch of its lease (INCR), and every checkpoint of that partition is a transaction on the condition that
/// the epoch is still its own: an instance that was expelled from its consumer group without noticing (frozen, cut off) can
/// then no longer overwrite what the partition's new owner stores. The same transaction stores the input offset the state
/// reflects (<see cref="Enlist"/>), so state and position never part: a new owner resumes exactly where the state it loads
/// ends, whatever the consumer group's commit says (a commit can fail, or the owner die, after the state was stored).
/// </summary>
public sealed class PartitionLease
{
    private PartitionLease(RedisKey key, RedisKey offsetKey, long epoch, long? storedOffset)
    {
        Key = key;
        OffsetKey = offsetKey;
        Epoch = epoch;
        StoredOffset = storedOffset;
    }

    /// <summary>The lease: <c>{partition key}:lease</c>, the epoch of its current owner.</summary>
    public RedisKey Key { get; }

    /// <summary>The input offset the partition's stored state reflects: <c>{partition key}:offset</c>.</summary>
    public RedisKey OffsetKey { get; }

    public long Epoch { get; }

    /// <summary>
    /// The offset of the first input message the stored state does not reflect, as of taking the lease (the last checkpoint of
    /// any owner before), or null when none was stored.
    /// </summary>
    public long? StoredOffset { get; }

    /// <summary>The condition every checkpoint transaction of the partition carries.</summary>
    public Condition Held => Condition.StringEqual(Key, Epoch);

    /// <summary>
    /// Takes the lease of the partition whose keys start with <paramref name="partitionKey"/>, and reads the offset its stored
    /// state reflects. Read after the epoch is taken: no earlier owner can store anything after that.
    /// </summary>
    public static async Task<PartitionLease> AcquireAsync(IDatabase db, RedisKey partitionKey)
    {
        ArgumentNullException.ThrowIfNull(db);
        var key = partitionKey.Append(":lease");
        var offsetKey = partitionKey.Append(":offset");
        var epoch = await db.StringIncrementAsync(key);
        var stored = await db.StringGetAsync(offsetKey);
        return new PartitionLease(key, offsetKey, epoch, stored.HasValue ? (long)stored : null);
    }

    /// <summary>
    /// Makes <paramref name="transaction"/> a checkpoint of this partition: it applies only while this instance holds the lease,
    /// and stores <paramref name="resumeAt"/> (the offset of the first input message its state does not reflect; null: unchanged)
    /// with the state. Returns that write (null when there is none), to await with the transaction's others.
    /// </summary>
    public Task? Enlist(ITransaction transaction, long? resumeAt)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.AddCondition(Held);
        return resumeAt is { } offset ? transaction.StringSetAsync(OffsetKey, offset) : null;
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
