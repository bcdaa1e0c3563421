using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>How far a consumer group is behind the end of its topics (committed offsets vs high watermarks).</summary>
public static class ConsumerLag
{
    /// <summary>Messages not yet committed by <paramref name="groupId"/> over every partition of the topics.</summary>
    public static long Of(KafkaOptions kafka, string groupId, IEnumerable<string> topics, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(topics);
        using var probe = new ConsumerBuilder<byte[]?, byte[]?>(kafka.ProbeConfig(groupId)).SetLogHandler(KafkaClientLog.Handler).Build();
        using var admin = new DependentAdminClientBuilder(probe.Handle).Build();
        var partitions = topics.SelectMany(t => Enumerable.Range(0, TopicAdmin.PartitionCount(admin, t, timeout)).Select(p => new TopicPartition(t, p))).ToList();
        return PerPartition(probe, partitions, timeout).Sum();
    }

    /// <summary>The lag of each partition for the group of <paramref name="probe"/> (a consumer that never consumes).</summary>
    public static IEnumerable<long> PerPartition(IConsumer<byte[]?, byte[]?> probe, IEnumerable<TopicPartition> partitions, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return probe.Committed(partitions, timeout)
            .Select(c => probe.QueryWatermarkOffsets(c.TopicPartition, timeout).High.Value - Math.Max(0, c.Offset.Value))
            .ToList();
    }
}
