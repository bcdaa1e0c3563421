using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// Reads every partition of some topics by assignment from the group's committed offsets, in arrival order. The
/// caller processes a batch, makes its effects durable, then calls <see cref="Commit"/>, which commits exactly what
/// <see cref="Poll"/> returned so far (at-least-once).
/// </summary>
public sealed class AssignedConsumer : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly Dictionary<TopicPartition, long> _next = [];
    private readonly Dictionary<TopicPartition, long> _committed = [];
    private readonly Action<string> _log;

    public AssignedConsumer(ConsumerConfig config, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var settings = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value)) {
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Never skip silently: a position the broker no longer holds means messages were lost.
            AutoOffsetReset = AutoOffsetReset.Error,
        };
        _log = log ?? (static _ => { });
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(settings)
            .SetErrorHandler((_, e) => _log($"Kafka consumer error: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .Build();
    }

    public void Start(IEnumerable<(string Topic, int Partitions)> topics, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var partitions = topics.SelectMany(t => Enumerable.Range(0, t.Partitions).Select(p => new TopicPartition(t.Topic, p))).ToList();
        var committed = _consumer.Committed(partitions, timeout);
        _consumer.Assign(committed.Select(c => new TopicPartitionOffset(c.TopicPartition, c.Offset.Value >= 0 ? c.Offset : Offset.Beginning)));
    }

    /// <summary>The replay the latest input came from (header <c>puffy-replay</c>), for the logs.</summary>
    public string? ReplayId => _replay.Current;

    private readonly ReplayHeader _replay = new();

    public List<ConsumeResult<byte[]?, byte[]?>> Poll(TimeSpan wait, int maxMessages, CancellationToken cancellationToken)
    {
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        Batches.Consume(_consumer, wait, maxMessages, result =>
        {
            _replay.Observe(result.Message.Headers);
            _next[result.TopicPartition] = result.Offset.Value + 1;
            results.Add(result);
        }, _log, cancellationToken);
        return results;
    }

    /// <summary>Commits everything returned by <see cref="Poll"/> so far; call after its effects are durable.</summary>
    public void Commit()
    {
        var offsets = _next.Where(kv => !_committed.TryGetValue(kv.Key, out var c) || c < kv.Value)
            .Select(kv => new TopicPartitionOffset(kv.Key, kv.Value)).ToList();
        if (offsets.Count == 0)
            return;
        _consumer.Commit(offsets);
        foreach (var o in offsets)
            _committed[o.TopicPartition] = o.Offset.Value;
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
