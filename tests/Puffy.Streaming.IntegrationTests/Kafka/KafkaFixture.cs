using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Puffy.Streaming.Kafka;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// A Kafka reached over TCP: the broker named by <c>KAFKA_BOOTSTRAP</c> when set (e.g. the compose stack),
/// otherwise librdkafka's mock cluster started in this process. Every client gets the security settings of the
/// environment (<c>Kafka__Security__security_protocol=SASL_SSL</c>, …), so a cluster with SASL/TLS is tested by
/// setting them beside <c>KAFKA_BOOTSTRAP</c>; the mock cluster speaks neither.
/// </summary>
public sealed class KafkaFixture : IDisposable
{
    private readonly MockKafkaCluster? mock;

    public KafkaFixture()
    {
        var external = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP");
        if (!string.IsNullOrWhiteSpace(external))
        {
            BootstrapServers = external;
        }
        else
        {
            mock = new MockKafkaCluster(brokers: 3);
            BootstrapServers = mock.BootstrapServers;
        }

        Options = KafkaOptions.FromEnvironment(BootstrapServers);
        // Short session timeout: the mock makes a new member wait about one session timeout after the previous
        // member of the group left.
        Options.Consumer["session.timeout.ms"] = "6000";
    }

    public string BootstrapServers { get; }

    /// <summary>Where every client of the tests gets its settings, as the services do.</summary>
    public KafkaOptions Options { get; }

    public static string UniqueName(string prefix) => $"test.{prefix}.{Guid.NewGuid():N}";

    public async Task CreateTopicAsync(string name, int partitions, CancellationToken cancellationToken)
    {
        if (mock is not null)
        {
            // The mock has no CreateTopics; it takes topics through its own API.
            mock.CreateTopic(name, partitions);
            return;
        }

        using var admin = new AdminClientBuilder(Options.AdminConfig()).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }])
            .WaitAsync(cancellationToken);
    }

    public IProducer<byte[]?, byte[]?> Producer() =>
        new ProducerBuilder<byte[]?, byte[]?>(Options.ProducerConfig()).Build();

    public ConsumerConfig Consumer(string groupId) => Options.ConsumerConfig(groupId);

    /// <summary>Starts a loop with a fast retry backoff and its own dead-letter producer; dispose to stop it.</summary>
    public RunningLoop<T> Start<T>(
        string topic,
        Func<ConsumeResult<byte[]?, byte[]?>, T> decode,
        Func<T, ConsumeResult<byte[]?, byte[]?>, CancellationToken, Task> handle,
        string? deadLetterTopic = null,
        string? group = null)
    {
        var producer = Producer();
        var options = new ConsumerLoopOptions
        {
            Topic = topic,
            DeadLetterTopic = deadLetterTopic ?? UniqueName("dlq"),
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        };
        var loop = new ConsumerLoop<T>(
            Consumer(group ?? UniqueName("group")), options, decode, handle, producer,
            line => TestContext.Current.SendDiagnosticMessage(line));
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        return new RunningLoop<T>(loop, loop.RunAsync(cancellation.Token), cancellation, producer);
    }

    /// <summary>Reads partition 0 from the start by assignment (no group, so no rebalance wait).</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Consumer(UniqueName("reader"))).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        var until = DateTime.UtcNow + Deadline;
        while (results.Count < expected && DateTime.UtcNow < until)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null)
            {
                results.Add(result);
            }
        }

        return results;
    }

    public long CommittedOffset(string group, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Consumer(group)).Build();
        var committed = consumer.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10));
        return Assert.Single(committed).Offset.Value;
    }

    public long HighWatermark(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Consumer(UniqueName("probe"))).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    public void Dispose() => mock?.Dispose();
}
