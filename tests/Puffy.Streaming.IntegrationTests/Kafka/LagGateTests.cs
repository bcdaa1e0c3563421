using Confluent.Kafka;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// The lag gate while the broker refuses writes for a moment: what the producer has queued but the broker has not
/// acknowledged is in no lag read from the broker, yet it will be lag once it lands, so it counts towards the limit.
/// </summary>
public sealed class LagGateTests(KafkaFixture kafka)
    : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task MustWait_MessagesTheBrokerHasNotAcknowledged_CountTowardsTheLimit()
    {
        // The local broker refuses the first writes (a real one, named by KAFKA_BOOTSTRAP, is taken as it is).
        using var refusing = string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP")) ? new MockKafkaCluster() : null;
        var options = refusing is null ? kafka.Options : KafkaOptions.FromEnvironment(refusing.BootstrapServers);
        var topic = KafkaFixture.UniqueName("gate");
        var group = KafkaFixture.UniqueName("g");
        if (refusing is null)
            await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        else
            refusing.CreateTopic(topic, partitions: 1);
        refusing?.RefuseWrites(requests: 5);
        using var producer = new StreamProducer(options.ProducerConfig(), MessageCodec.Catalogue, "test");
        using var gate = new LagGate(options, group, topic, partitions: 1, maxLagPerPartition: 100)
        {
            Sent = () => producer.Sent,
            Acknowledged = () => producer.Acknowledged,
        };

        // The group commits nothing: every message sent is lag, landed or not.
        var sent = 0;
        while (sent < 1000 && !gate.MustWait())
        {
            producer.Send(topic, "k", new Metric(null, "seq", "c", sent, string.Empty));
            sent++;
        }

        Assert.InRange(sent, 1, 101);
        producer.Flush(TestToken);
        Assert.True(gate.MustWait());
        Assert.Equal(sent, gate.LastLag);

        using (var consumer = new ConsumerBuilder<byte[]?, byte[]?>(options.ConsumerConfig(group)).Build())
            consumer.Commit([new TopicPartitionOffset(topic, 0, sent)]);

        Assert.False(gate.MustWait());
        Assert.Equal(0, gate.LastLag);
    }
}
