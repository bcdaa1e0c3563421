using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// A service's one Kafka producer: sends contract messages (keyed, so per-key order holds), stream marks to every
/// partition of a topic, and dead-letter copies. Sends are asynchronous; <see cref="Flush"/> waits until everything
/// sent is acknowledged and throws if anything failed, so callers commit their input only after a successful flush.
/// </summary>
public sealed class StreamProducer : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly ConcurrentDictionary<string, int> _partitions = new(StringComparer.Ordinal);
    private readonly Action<DeliveryReport<byte[]?, byte[]?>> _onDelivery;
    private readonly TimeSpan _metadataTimeout;
    private volatile Error? _failure;
    private long _sent;
    private long _acknowledged;

    public StreamProducer(ProducerConfig config, MessageCodec codec, string name, Action<string>? log = null, TimeSpan? metadataTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Codec = codec ?? throw new ArgumentNullException(nameof(codec));
        Name = name;
        _metadataTimeout = metadataTimeout ?? TimeSpan.FromSeconds(30);
        var logLine = log ?? (static _ => { });
        // The delivery handler reads only the outcome: without this, every report copies the message's headers and
        // timestamp back out of librdkafka (a setting given explicitly wins).
        var settings = new ProducerConfig(config.ToDictionary(p => p.Key, p => p.Value));
        if (config.DeliveryReportFields is null)
            settings.DeliveryReportFields = "status";
        _producer = new ProducerBuilder<byte[]?, byte[]?>(settings)
            .SetLogHandler(KafkaClientLog.Handler)
            .SetErrorHandler((_, e) => logLine($"Kafka producer error: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .Build();
        _onDelivery = report =>
        {
            Interlocked.Increment(ref _acknowledged);
            if (report.Error.IsError)
                _failure ??= report.Error;
        };
    }

    /// <summary>The producing service's name, written into its marks.</summary>
    public string Name { get; }

    public MessageCodec Codec { get; }

    public IProducer<byte[]?, byte[]?> Raw => _producer;

    /// <summary>Messages handed to the client so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Of <see cref="Sent"/>, the messages whose delivery the broker has answered for (stored or failed).</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public void Send<T>(string topic, string? key, T value)
        where T : notnull =>
        Produce(new TopicPartition(topic, Partition.Any), key is null ? null : Encoding.UTF8.GetBytes(key), Codec.Serialize(value));

    /// <summary>
    /// Sends to one given partition: a partition-parallel stage writes what it derives from input partition p to output
    /// partition p, so each output partition has one writer and keeps its input's order.
    /// </summary>
    public void SendTo<T>(string topic, int partition, string? key, T value)
        where T : notnull =>
        Produce(new TopicPartition(topic, new Partition(partition)), key is null ? null : Encoding.UTF8.GetBytes(key), Codec.Serialize(value));

    /// <summary>Writes a mark to one partition of <paramref name="topic"/> (the one a partition-parallel stage owns).</summary>
    public void MarkPartition(string topic, int partition, StreamMarkKind kind, StreamPosition position) =>
        Produce(new TopicPartition(topic, new Partition(partition)), null, MarkValue(topic, kind, position, null, null, 0));

    private byte[] MarkValue(string topic, StreamMarkKind kind, StreamPosition position, string? file, DateOnly? fileDay, long rows) =>
        Codec.Serialize(new StreamMark(kind, Name, position.Time, position.Tie, position.Seq, PartitionsOf(topic), file, fileDay, rows));

    /// <summary>Writes <paramref name="mark"/> to every partition of <paramref name="topic"/>.</summary>
    public void Mark(string topic, StreamMarkKind kind, StreamPosition position, string? file = null, DateOnly? fileDay = null, long rows = 0)
    {
        var value = MarkValue(topic, kind, position, file, fileDay, rows);
        for (var p = 0; p < PartitionsOf(topic); p++)
            Produce(new TopicPartition(topic, new Partition(p)), null, value);
    }

    /// <summary>Sends an already-built message (e.g. a dead-letter copy) as is.</summary>
    public void SendRaw(string topic, Message<byte[]?, byte[]?> message) => Produce(new TopicPartition(topic, Partition.Any), message);

    public int PartitionsOf(string topic) => _partitions.GetOrAdd(topic, t => TopicAdmin.PartitionCount(_producer.Handle, t, _metadataTimeout));

    /// <summary>Waits for every sent message's acknowledgement; throws if any failed since the last flush.</summary>
    public void Flush(CancellationToken cancellationToken = default)
    {
        while (_producer.Flush(TimeSpan.FromMilliseconds(500)) > 0)
            cancellationToken.ThrowIfCancellationRequested();
        if (_failure is { } failure)
        {
            _failure = null;
            throw new KafkaException(failure);
        }
    }

    /// <summary>
    /// The replay the messages being sent come from: every message carries it as the header <c>puffy-replay</c>, so
    /// each service downstream can name it in its logs and pass it on. Null sends no header.
    /// </summary>
    public string? ReplayId
    {
        get => _replayId;
        set
        {
            if (value == _replayId)
                return;
            _replayId = value;
            _replayHeaders = string.IsNullOrEmpty(value) ? null : new Headers { { ReplayHeader.Name, Encoding.UTF8.GetBytes(value) } };
        }
    }

    // One Headers instance per replay id: librdkafka copies it at Produce, so every message can share it.
    private Headers? _replayHeaders;
    private string? _replayId;

    private void Produce(TopicPartition target, byte[]? key, byte[] value) =>
        Produce(target, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = _replayHeaders });

    private readonly ConcurrentDictionary<string, Volume> _volume = new(StringComparer.Ordinal);

    /// <summary>The average size (key, value and header bytes) of the messages sent to <paramref name="topic"/> so far; 0 before any.</summary>
    public double AverageBytes(string topic) =>
        _volume.TryGetValue(topic, out var v) && Interlocked.Read(ref v.Messages) is > 0 and var n ? Interlocked.Read(ref v.Bytes) / (double)n : 0;

    private sealed class Volume
    {
        public long Messages;
        public long Bytes;
    }

    private void Produce(TopicPartition target, Message<byte[]?, byte[]?> message)
    {
        if (_failure is { } failure)
            throw new KafkaException(failure);
        var volume = _volume.GetOrAdd(target.Topic, static _ => new Volume());
        Interlocked.Increment(ref volume.Messages);
        Interlocked.Add(ref volume.Bytes, (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0) + HeaderBytes(message.Headers));
        // Counted before it is handed over, so that its acknowledgement (on librdkafka's thread) never comes first.
        Interlocked.Increment(ref _sent);
        try
        {
            while (true)
            {
                try
                {
                    _producer.Produce(target, message, _onDelivery);
                    return;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // Back-pressure: wait for acknowledgements to make room.
                    _producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
        catch
        {
            Interlocked.Decrement(ref _sent);
            throw;
        }
    }

    private static int HeaderBytes(Headers? headers)
    {
        if (headers is null)
            return 0;
        var n = 0;
        for (var i = 0; i < headers.Count; i++)
            n += headers[i].Key.Length + (headers[i].GetValueBytes()?.Length ?? 0);
        return n;
    }

    public void Dispose()
    {
        try
        {
            _producer.Flush(TimeSpan.FromSeconds(10));
        }
        catch (KafkaException)
        {
            // Disposal must not throw; unflushed messages were not committed as processed.
        }

        _producer.Dispose();
    }
}
