using Confluent.Kafka;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// How far an ordered stream's producer got before it stopped: the position of the last message (record or mark) on
/// each partition of its output topic. Everything it sent to a partition before that message was written too
/// (a partition keeps the order of its sends), so every record at or before the lowest of these positions is already
/// in the topic, whichever partition its key chose: a restarted producer need not send it again.
/// </summary>
public static class TopicTail
{
    /// <summary>
    /// The lowest over the partitions of the last message's position; null when a partition holds nothing readable
    /// in its last <paramref name="lookBack"/> messages (then nothing can be said).
    /// </summary>
    public static StreamPosition? WrittenUpTo<T>(
        ConsumerConfig config, string topic, int partitions, MessageCodec codec, Func<T, StreamPosition> positionOf, TimeSpan timeout, int lookBack = 10_000)
        where T : class =>
        WrittenUpTo(config, topic, Enumerable.Range(0, partitions).ToList(), codec, positionOf, timeout, lookBack);

    /// <summary>The same over some partitions only (those one writer fills).</summary>
    public static StreamPosition? WrittenUpTo<T>(
        ConsumerConfig config, string topic, IReadOnlyList<int> partitions, MessageCodec codec, Func<T, StreamPosition> positionOf, TimeSpan timeout, int lookBack = 10_000)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(positionOf);
        var settings = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value)) { EnableAutoCommit = false, EnablePartitionEof = true };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(settings).SetLogHandler(KafkaClientLog.Handler).Build();
        StreamPosition? lowest = null;
        foreach (var p in partitions)
        {
            var tp = new TopicPartition(topic, p);
            var marks = consumer.QueryWatermarkOffsets(tp, timeout);
            if (marks.High.Value <= marks.Low.Value)
                return null;
            consumer.Assign(new TopicPartitionOffset(tp, Math.Max(marks.Low.Value, marks.High.Value - lookBack)));
            StreamPosition? last = null;
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(timeout);
                if (result is null || result.IsPartitionEOF)
                    break;
                if (result.Message.Value is not { } value)
                    continue;
                try
                {
                    last = codec.IsMark(value)
                        ? codec.Deserialize<StreamMark>(value) is var m ? new StreamPosition(m.Time, m.Tie, m.Seq) : null
                        : positionOf(codec.Deserialize<T>(value));
                }
                catch (InvalidMessageException)
                {
                    // Poison in the output topic says nothing about how far the producer got.
                }

                if (result.Offset.Value >= marks.High.Value - 1)
                    break;
            }

            if (last is not { } position)
                return null;
            if (lowest is not { } l || position < l)
                lowest = position;
        }

        return lowest;
    }
}
