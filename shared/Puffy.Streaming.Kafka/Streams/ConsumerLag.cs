using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>How far a consumer group is behind the end of its topics (committed offsets vs high watermarks).</summary>
public static class ConsumerLag
{
    /// <summary>Messages not yet committed by <paramref name="groupId"/> over every partition of the topics.</summary>
    public static long Of(string bootstrapServers, string groupId, IEnumerable<string> topics, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var config = KafkaConfig.Consumer(bootstrapServers, groupId);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        long lag = 0;
        foreach (var topic in topics)
        {
            var partitions = Enumerable.Range(0, TopicAdmin.PartitionCount(admin, topic, timeout)).Select(p => new TopicPartition(topic, p)).ToList();
            foreach (var c in consumer.Committed(partitions, timeout))
            {
                var high = consumer.QueryWatermarkOffsets(c.TopicPartition, timeout).High.Value;
                lag += high - Math.Max(0, c.Offset.Value);
            }
        }

        return lag;
    }
}
