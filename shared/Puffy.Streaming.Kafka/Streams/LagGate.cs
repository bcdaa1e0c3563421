using System.Diagnostics;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// Back-pressure from a downstream consumer group: a producer asks <see cref="MustWait"/> before it sends more, and
/// holds off while the group is more than a set number of messages behind on any partition of the topic it feeds.
/// Brokers keep a bounded log (librdkafka's test broker only 5 MiB per partition); a consumer that falls further
/// behind than that would find its next messages deleted, so the producer slows to the consumer's pace instead.
/// </summary>
public sealed class LagGate : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _probe;
    private readonly List<TopicPartition> _partitions;
    private readonly long _maxLag;
    private readonly TimeSpan _checkEvery;
    private readonly Stopwatch _sinceCheck = Stopwatch.StartNew();
    private bool _behind;
    private long _sentAtCheck;

    public LagGate(KafkaOptions kafka, string groupId, string topic, int partitions, long maxLagPerPartition, TimeSpan? checkEvery = null)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLagPerPartition, 1);
        _probe = new ConsumerBuilder<byte[]?, byte[]?>(kafka.ProbeConfig(groupId)).SetLogHandler(KafkaClientLog.Handler).Build();
        _partitions = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();
        _maxLag = maxLagPerPartition;
        _checkEvery = checkEvery ?? TimeSpan.FromMilliseconds(100);
        Group = groupId;
        Topic = topic;
    }

    public string Group { get; }

    public string Topic { get; }

    /// <summary>Also wait while a partition's lag in bytes (lag × <see cref="MessageBytes"/>) exceeds this; 0: no byte limit.</summary>
    public long MaxLagBytes { get; init; }

    /// <summary>The average size of a message on the topic (what the producer sent so far); 0 while unknown.</summary>
    public Func<double> MessageBytes { get; init; } = static () => 0;

    /// <summary>Messages the producer has sent so far (any topic: an upper bound for this one); 0 when unknown.</summary>
    public Func<long> Sent { get; init; } = static () => 0;

    /// <summary>The largest lag seen at the last check.</summary>
    public long LastLag { get; private set; }

    /// <summary>The lag of each partition at the last check, or why it could not be read.</summary>
    public string LastCheck { get; private set; } = "not checked yet";

    /// <summary>
    /// True while the group is too far behind (checked at most every check interval; cheap otherwise), and while its
    /// lag cannot be read (e.g. the broker restarts): sending on blindly could outrun the broker's log.
    /// </summary>
    public bool MustWait()
    {
        // Checked every 100 ms, and sooner when the lag could have reached a limit since the last check: the lag then plus
        // everything sent since (all of it on one partition, at worst). A fast producer (the ingestor) sends thousands of
        // messages in 100 ms, more than the local broker keeps on one partition; far from the limits, no round trip.
        var sentSince = Sent() - _sentAtCheck;
        var worst = LastLag + sentSince;
        var bytes = MessageBytes();
        if (!_behind && _sinceCheck.Elapsed < _checkEvery && worst <= _maxLag && (MaxLagBytes <= 0 || worst * bytes <= MaxLagBytes))
            return false;
        _sentAtCheck += sentSince;
        _sinceCheck.Restart();
        try
        {
            var lags = ConsumerLag.PerPartition(_probe, _partitions, TimeSpan.FromSeconds(10)).ToList();
            LastLag = lags.Max();
            var byteLimited = MaxLagBytes > 0 && bytes > 0 && LastLag * bytes > MaxLagBytes;
            LastCheck = "lag per partition " + string.Join(", ", lags.Select((lag, p) => $"[{p}] {lag}"))
                        + (byteLimited ? FormattableString.Invariant($" (about {LastLag * bytes / 1048576:0.0} MiB, more than the {MaxLagBytes / 1048576.0:0.0} MiB allowed)") : string.Empty);
            _behind = LastLag > _maxLag || byteLimited;
        }
        catch (KafkaException e)
        {
            LastCheck = $"lag unreadable: {e.Error.Code} {e.Error.Reason}";
            _behind = true;
        }

        return _behind;
    }

    public void Dispose() => _probe.Dispose();
}
