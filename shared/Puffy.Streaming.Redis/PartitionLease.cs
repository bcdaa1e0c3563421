using System.Globalization;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// Who may store a partition's state, and where in its input that state stands. Each instance that is assigned the partition
/// takes the next epoch of its lease (INCR), and every checkpoint of that partition is a transaction on the condition that
/// the epoch is still its own: an instance that was expelled from its consumer group without noticing (frozen, cut off) can
/// then no longer overwrite what the partition's new owner stores. The same transaction stores where in its input the state
/// ends (<see cref="Enlist"/>: the stream runtime's resume point, as text), so state and position never part: a new owner
/// resumes exactly where the state it loads ends, whatever the consumer group's commit says (a commit can fail, or the owner
/// die, after the state was stored).
/// </summary>
public sealed class PartitionLease
{
    private PartitionLease(RedisKey key, RedisKey resumeKey, long epoch, string? storedResume)
    {
        Key = key;
        ResumeKey = resumeKey;
        Epoch = epoch;
        StoredResume = storedResume;
    }

    /// <summary>The lease: <c>{partition key}:lease</c>, the epoch of its current owner.</summary>
    public RedisKey Key { get; }

    /// <summary>Where in its input the partition's stored state ends: <c>{partition key}:resume</c>.</summary>
    public RedisKey ResumeKey { get; }

    public long Epoch { get; }

    /// <summary>
    /// Where in its input the stored state ends, as of taking the lease (the last checkpoint of any owner before), or null
    /// when none was stored.
    /// </summary>
    public string? StoredResume { get; }

    /// <summary>The condition every checkpoint transaction of the partition carries.</summary>
    public Condition Held => Condition.StringEqual(Key, Epoch);

    /// <summary>
    /// Takes the lease of the partition whose keys start with <paramref name="partitionKey"/>, and reads where its stored state
    /// ends. Read after the epoch is taken: no earlier owner can store anything after that.
    /// </summary>
    public static async Task<PartitionLease> AcquireAsync(IDatabase db, RedisKey partitionKey)
    {
        ArgumentNullException.ThrowIfNull(db);
        var key = partitionKey.Append(":lease");
        var resumeKey = partitionKey.Append(":resume");
        var epoch = await db.StringIncrementAsync(key);
        var stored = await db.StringGetAsync(resumeKey);
        return new PartitionLease(key, resumeKey, epoch, stored.HasValue ? (string?)stored : null);
    }

    /// <summary>
    /// Makes <paramref name="transaction"/> a checkpoint of this partition: it applies only while this instance holds the lease,
    /// and stores <paramref name="resume"/> (where in its input the state ends; null: unchanged) with the state. Returns that
    /// write (null when there is none), to await with the transaction's others.
    /// </summary>
    public Task? Enlist(ITransaction transaction, string? resume)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.AddCondition(Held);
        return resume is null ? null : transaction.StringSetAsync(ResumeKey, resume);
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
