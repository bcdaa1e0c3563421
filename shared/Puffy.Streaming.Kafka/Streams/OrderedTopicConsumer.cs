using System.Globalization;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// Reads every partition of an ordered topic (by assignment, with the group's committed offsets) and hands the
/// messages back in the producer's total order through a <see cref="PartitionMerger{T}"/>. The caller processes
/// what <see cref="Poll"/> returns, makes its side effects durable, then calls <see cref="Commit"/>: only released
/// (hence processed) messages are committed, so a crash at any point redelivers and never loses.
/// </summary>
/// <remarks>
/// Assignment instead of a subscription: an ordered stage is one instance by design (it needs every partition to
/// merge), so group rebalancing would only add pauses. The group id still keeps the committed offsets.
/// A message that cannot be decoded is poison: its copy goes to the dead-letter topic with reason and source
/// topic/partition/offset, and it is released (with neither record nor mark) so its offset can be committed.
/// </remarks>
public sealed class OrderedTopicConsumer<T> : IDisposable
    where T : class
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly string _topic;
    private readonly MessageCodec _codec;
    private readonly Func<T, StreamPosition> _positionOf;
    private readonly StreamProducer _deadLetters;
    private readonly Action<string> _log;
    private readonly Action<string> _info;
    private readonly PartitionMerger<T> _merger;
    private readonly long[] _seedOffset;
    private readonly long[] _released;
    private readonly long[] _committed;

    public OrderedTopicConsumer(
        ConsumerConfig config,
        string topic,
        int partitions,
        Func<T, StreamPosition> positionOf,
        StreamProducer deadLetters,
        Action<string>? log = null,
        Action<string>? info = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(deadLetters);
        var settings = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value)) {
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Never skip silently: a position the broker no longer holds means messages were lost.
            AutoOffsetReset = AutoOffsetReset.Error,
        };
        _log = log ?? (static _ => { });
        _info = info ?? _log;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(settings)
            .SetErrorHandler((_, e) => _log($"Kafka consumer error on {topic}: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .Build();
        _topic = topic;
        _codec = deadLetters.Codec;
        _positionOf = positionOf;
        _deadLetters = deadLetters;
        _merger = new PartitionMerger<T>(partitions);
        _seedOffset = Enumerable.Repeat(-1L, partitions).ToArray();
        _released = Enumerable.Repeat(-1L, partitions).ToArray();
        _committed = Enumerable.Repeat(-1L, partitions).ToArray();
    }

    public int Partitions => _merger.Partitions;

    /// <summary>Messages received and waiting for the other partitions to catch up.</summary>
    public int Buffered => _merger.Buffered;

    public long Received { get; private set; }

    /// <summary>
    /// How long received messages may wait for a silent partition before it is logged (and again each time as long):
    /// a stall is never silent.
    /// </summary>
    public TimeSpan StallWarningAfter { get; init; } = TimeSpan.FromSeconds(30);

    private readonly System.Diagnostics.Stopwatch _sinceRelease = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>
    /// Assigns every partition from its committed offset. Where something was committed, the last processed message
    /// is read again only to learn its position (it is not handed out), so the merge resumes where it stopped.
    /// </summary>
    public void Start(TimeSpan timeout)
    {
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(_topic, p)).ToList();
        var committed = _consumer.Committed(partitions, timeout);
        var assignment = new List<TopicPartitionOffset>();
        foreach (var c in committed)
        {
            var p = c.Partition.Value;
            if (c.Offset.Value > 0)
            {
                _seedOffset[p] = c.Offset.Value - 1;
                _released[p] = _committed[p] = c.Offset.Value - 1;
                assignment.Add(new TopicPartitionOffset(c.TopicPartition, new Offset(c.Offset.Value - 1)));
            }
            else
            {
                assignment.Add(new TopicPartitionOffset(c.TopicPartition, Offset.Beginning));
            }
        }

        _consumer.Assign(assignment);
        _info(string.Create(CultureInfo.InvariantCulture,
            $"Reading {_topic} ({Partitions} partitions) from offsets {string.Join(", ", committed.Select(c => c.Offset.Value < 0 ? "start" : c.Offset.Value.ToString(CultureInfo.InvariantCulture)))}"));
    }

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> (waiting up to <paramref name="wait"/> for the first) and returns
    /// whatever can now be released, in total order.
    /// </summary>
    public List<Merged<T>> Poll(TimeSpan wait, int maxMessages, CancellationToken cancellationToken)
    {
        Batches.Consume(_consumer, wait, maxMessages, Receive, _log, cancellationToken);
        var released = new List<Merged<T>>();
        while (_merger.TryRelease(out var next))
        {
            _released[next.Partition] = next.Offset;
            released.Add(next);
        }

        if (released.Count > 0 || _merger.Buffered == 0)
        {
            _sinceRelease.Restart();
        }
        else if (_sinceRelease.Elapsed >= StallWarningAfter && _merger.Blocking() is { } blocking)
        {
            _log(string.Create(CultureInfo.InvariantCulture,
                $"Stalled for {_sinceRelease.Elapsed.TotalSeconds:0} s: {_merger.Buffered} messages of {_topic} wait for partition(s) {string.Join(", ", blocking.SilentPartitions)} to pass {blocking.Next.Time:O} (no record or watermark from the producer)"));
            _sinceRelease.Restart();
        }

        return released;
    }

    /// <summary>The replay the latest input came from (header <c>puffy-replay</c>), for the logs and the outputs.</summary>
    public string? ReplayId => _replay.Current;

    private readonly ReplayHeader _replay = new();

    private void Receive(ConsumeResult<byte[]?, byte[]?> result)
    {
        _replay.Observe(result.Message.Headers);
        var p = result.Partition.Value;
        var offset = result.Offset.Value;
        var value = result.Message.Value;
        if (offset == _seedOffset[p])
        {
            _seedOffset[p] = -1;
            if (StreamMessages.TryDecode<T>(_codec, value, out var seedRecord, out var seedMark, out _))
                _merger.Seed(p, seedMark is not null ? StreamMessages.PositionOf(seedMark) : _positionOf(seedRecord!));
            return;
        }

        Received++;
        if (StreamMessages.TryDecode<T>(_codec, value, out var record, out var mark, out var error))
        {
            _merger.Add(new Merged<T>(p, offset, mark is not null ? StreamMessages.PositionOf(mark) : _positionOf(record!), record, mark));
            return;
        }

        _log(string.Create(CultureInfo.InvariantCulture, $"Dead-lettering {_topic}[{p}]@{offset}: {error}"));
        _deadLetters.SendRaw(Topics.DeadLetters, DeadLetterHeaders.Route(result, DeadLetterReasons.PoisonMessage, error!));
        _merger.Add(new Merged<T>(p, offset, _merger.HighOf(p) ?? StreamPosition.Min, null, null));
    }


    /// <summary>Commits every released message; call only after their side effects are durable.</summary>
    public void Commit()
    {
        var offsets = new List<TopicPartitionOffset>();
        for (var p = 0; p < Partitions; p++)
        {
            if (_released[p] > _committed[p])
                offsets.Add(new TopicPartitionOffset(_topic, p, _released[p] + 1));
        }

        if (offsets.Count == 0)
            return;
        _consumer.Commit(offsets);
        foreach (var o in offsets)
            _committed[o.Partition.Value] = o.Offset.Value - 1;
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
