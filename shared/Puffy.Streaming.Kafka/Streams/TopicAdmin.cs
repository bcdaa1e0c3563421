using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>Topic metadata and creation through the standard admin API.</summary>
public static class TopicAdmin
{
    /// <summary>The partition count of an existing topic (waits for it to appear, up to <paramref name="timeout"/>).</summary>
    public static int PartitionCount(Handle handle, string topic, TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(handle).Build();
        return PartitionCount(admin, topic, timeout);
    }

    public static int PartitionCount(IAdminClient admin, string topic, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            var t = metadata.Topics.FirstOrDefault(x => x.Topic == topic);
            if (t is not null && !t.Error.IsError && t.Partitions.Count > 0)
                return t.Partitions.Count;
            if (DateTime.UtcNow > deadline)
                throw new KafkaException(t?.Error ?? new Error(ErrorCode.UnknownTopicOrPart, $"topic {topic} not found"));
            Thread.Sleep(200); // polling for metadata propagation
        }
    }

    /// <summary>
    /// Creates the topics that do not exist yet (existing ones are left as they are). Brokers without the
    /// CreateTopics API (librdkafka's test cluster) must get their topics from whoever runs them.
    /// </summary>
    public static async Task EnsureAsync(KafkaOptions kafka, IEnumerable<string> topics, int partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        using var admin = new AdminClientBuilder(kafka.AdminConfig()).SetLogHandler(KafkaClientLog.Handler).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        var existing = metadata.Topics.Where(t => !t.Error.IsError && t.Partitions.Count > 0).Select(t => t.Topic).ToHashSet(StringComparer.Ordinal);
        var missing = topics.Where(t => !existing.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count == 0)
            return;
        try
        {
            await admin.CreateTopicsAsync(missing.Select(t => new TopicSpecification { Name = t, NumPartitions = partitions, ReplicationFactor = 1 }),
                new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30) }).WaitAsync(cancellationToken);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => !r.Error.IsError || r.Error.Code == ErrorCode.TopicAlreadyExists))
        {
            // Another service created them first.
        }
    }
}
