namespace Puffy.Streaming.Kafka.Streams;

/// <summary>One message of a merged stream: a record, a mark, or (both null) a poison message already dead-lettered.</summary>
public readonly record struct Merged<T>(int Partition, long Offset, StreamPosition Position, T? Record, Contracts.StreamMark? Mark)
    where T : class;

/// <summary>
/// Merges the partitions of an ordered topic back into the producer's total order. Each partition arrives sorted by
/// <see cref="StreamPosition"/>; a message is released once every partition has shown a position at or beyond it
/// (a record or a mark), so nothing that sorts before it can still come. Marks keep quiet partitions moving; a
/// flush mark lets a partition's last messages go. Within a partition, messages leave in offset order, so "released"
/// is a prefix of each partition and can be committed as such.
/// </summary>
/// <remarks>
/// A message that sorts before what was already released (a redelivery by a restarted producer) is released as soon
/// as it reaches the head of its partition; consumers must tolerate it, as they tolerate any redelivery.
/// </remarks>
public sealed class PartitionMerger<T>
    where T : class
{
    private readonly Queue<Merged<T>>[] _queues;
    private readonly StreamPosition?[] _high;

    public PartitionMerger(int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        _queues = Enumerable.Range(0, partitions).Select(_ => new Queue<Merged<T>>()).ToArray();
        _high = new StreamPosition?[partitions];
    }

    public int Partitions => _queues.Length;

    /// <summary>Messages received but not yet released.</summary>
    public int Buffered => _queues.Sum(q => q.Count);

    /// <summary>The furthest position seen on a partition; null until it sent anything.</summary>
    public StreamPosition? HighOf(int partition) => _high[partition];

    /// <summary>
    /// Tells the merger where a partition stood before this consumer started (the position of its last processed
    /// message), so a partition with nothing new does not hold the others back.
    /// </summary>
    public void Seed(int partition, StreamPosition position)
    {
        if (_high[partition] is not { } known || known < position)
            _high[partition] = position;
    }

    public void Add(Merged<T> message)
    {
        var p = message.Partition;
        _queues[p].Enqueue(message);
        // A flush mark ends the partition's current run: nothing more until a new replay, which sorts later.
        _high[p] = message.Mark is { Kind: Contracts.StreamMarkKind.Flush } ? StreamPosition.Max : message.Position;
    }

    /// <summary>The next message in total order, if it can no longer be preceded.</summary>
    public bool TryRelease(out Merged<T> next)
    {
        var best = -1;
        for (var p = 0; p < _queues.Length; p++)
        {
            if (_queues[p].TryPeek(out var head) && (best < 0 || Before(head, _queues[best].Peek())))
                best = p;
        }

        if (best < 0)
        {
            next = default;
            return false;
        }

        var candidate = _queues[best].Peek();
        for (var p = 0; p < _queues.Length; p++)
        {
            if (p == best || _queues[p].Count > 0)
                continue;
            if (_high[p] is not { } high || high < candidate.Position)
            {
                next = default;
                return false;
            }
        }

        next = _queues[best].Dequeue();
        return true;
    }

    /// <summary>
    /// Why nothing can be released: the position of the next message in total order and the silent partitions (none
    /// buffered, furthest position before it) it waits for; null when nothing is buffered.
    /// </summary>
    public (StreamPosition Next, IReadOnlyList<int> SilentPartitions)? Blocking()
    {
        var best = -1;
        for (var p = 0; p < _queues.Length; p++)
        {
            if (_queues[p].TryPeek(out var head) && (best < 0 || Before(head, _queues[best].Peek())))
                best = p;
        }

        if (best < 0)
            return null;
        var candidate = _queues[best].Peek().Position;
        var silent = Enumerable.Range(0, _queues.Length)
            .Where(p => _queues[p].Count == 0 && (_high[p] is not { } high || high < candidate)).ToList();
        return (candidate, silent);
    }

    // Records before marks at the same position: a mark speaks of what was written before it.
    private static bool Before(Merged<T> a, Merged<T> b)
    {
        var c = a.Position.CompareTo(b.Position);
        if (c != 0)
            return c < 0;
        var aMark = a.Mark is not null;
        var bMark = b.Mark is not null;
        return aMark != bMark ? !aMark : a.Partition < b.Partition;
    }
}
