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
    private long _ackedAtCheck;

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

    /// <summary>Messages the producer has handed to its client so far (any topic: an upper bound for this one); 0 when unknown.</summary>
    public Func<long> Sent { get; init; } = static () => 0;

    /// <summary>
    /// Of <see cref="Sent"/>, the messages the broker has answered for so far (stored or refused); 0 when unknown. The rest
    /// are still in the client's queue or on the wire: not in the broker's log yet, so not in any lag read from it.
    /// </summary>
    public Func<long> Acknowledged { get; init; } = static () => 0;

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
        // The lag the group will have once everything sent has landed is at most the lag at the last check plus every
        // message the broker had not acknowledged then (all of it on one partition, at worst). That bound is checked on
        // every call; the committed lag itself is read every 100 ms, and sooner when the bound could have reached a limit.
        // Messages still in the client's queue count: a fast producer (the ingestor) queues thousands in 100 ms, more than
        // the local broker keeps on one partition, and a lag read from the broker alone would not see them.
        var unacknowledged = Sent() - _ackedAtCheck;
        var worst = LastLag + unacknowledged;
        var bytes = MessageBytes();
        if (!_behind && _sinceCheck.Elapsed < _checkEvery && worst <= _maxLag && (MaxLagBytes <= 0 || worst * bytes <= MaxLagBytes))
            return false;
        _sinceCheck.Restart();
        // Read before the lag: whatever was acknowledged by then is in the high watermarks read after it.
        var acknowledged = Acknowledged();
        try
        {
            var lags = ConsumerLag.PerPartition(_probe, _partitions, TimeSpan.FromSeconds(10)).ToList();
            _ackedAtCheck = acknowledged;
            LastLag = lags.Max();
            var inFlight = Math.Max(0, Sent() - acknowledged);
            worst = LastLag + inFlight;
            var byteLimited = MaxLagBytes > 0 && bytes > 0 && worst * bytes > MaxLagBytes;
            LastCheck = "lag per partition " + string.Join(", ", lags.Select((lag, p) => $"[{p}] {lag}"))
                        + (inFlight > 0 ? $", {inFlight} more not yet acknowledged by the broker" : string.Empty)
                        + (byteLimited ? FormattableString.Invariant($" (about {worst * bytes / 1048576:0.0} MiB, more than the {MaxLagBytes / 1048576.0:0.0} MiB allowed)") : string.Empty);
            _behind = worst > _maxLag || byteLimited;
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
