using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// An ordered stream over a real broker: keyed records spread over partitions plus the producer's marks come back
/// in the producer's order; commits resume exactly after the last released message; poison goes to dead letters.
/// </summary>
public sealed class OrderedStreamTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    private static readonly DateTime T0 = new(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static Metric Item(int i) => new(null, "seq", $"c-{i % 7}", i, string.Empty);

    private static StreamPosition PositionOf(Metric m) => new(T0.AddSeconds(m.Value), m.Dimension, (long)m.Value);

    private async Task<string> TopicAsync(string prefix)
    {
        var topic = KafkaFixture.UniqueName(prefix);
        await kafka.CreateTopicAsync(topic, partitions: 3, TestToken);
        return topic;
    }

    private StreamProducer Producer() => new(kafka.Options.ProducerConfig(), MessageCodec.Catalogue, "test");

    private OrderedTopicConsumer<Metric> Consumer(string topic, string group, StreamProducer deadLetters) =>
        new(kafka.Consumer(group), topic, 3, PositionOf, deadLetters, line => TestContext.Current.SendDiagnosticMessage(line));

    private static List<Merged<Metric>> ReadUntil(OrderedTopicConsumer<Metric> consumer, Func<List<Merged<Metric>>, bool> done)
    {
        var all = new List<Merged<Metric>>();
        var until = DateTime.UtcNow + Deadline;
        while (!done(all) && DateTime.UtcNow < until)
            all.AddRange(consumer.Poll(TimeSpan.FromMilliseconds(100), 1000, TestToken));
        return all;
    }

    [Fact]
    public async Task Poll_KeyedRecordsOverThreePartitions_ComeBackInTheProducersOrder()
    {
        var topic = await TopicAsync("ordered");
        using var producer = Producer();
        for (var i = 0; i < 300; i++)
        {
            producer.Send(topic, $"c-{i % 7}", Item(i));
            if (i % 50 == 49)
                producer.Mark(topic, StreamMarkKind.Watermark, PositionOf(Item(i)));
        }

        producer.Mark(topic, StreamMarkKind.Flush, PositionOf(Item(299)));
        producer.Flush(TestToken);

        using var consumer = Consumer(topic, KafkaFixture.UniqueName("g"), producer);
        consumer.Start(Deadline);
        var released = ReadUntil(consumer, r => r.Count(m => m.Mark is { Kind: StreamMarkKind.Flush }) == 3);

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (double)i), released.Where(m => m.Record is not null).Select(m => m.Record!.Value));
        Assert.Equal(3 * 7, released.Count(m => m.Mark is not null));
        Assert.Equal(0, consumer.Buffered);
    }

    [Fact]
    public async Task Start_AfterCommit_ResumesAfterTheLastReleasedMessageWithoutRepeats()
    {
        var topic = await TopicAsync("resume");
        var group = KafkaFixture.UniqueName("g");
        using var producer = Producer();
        for (var i = 0; i < 100; i++)
            producer.Send(topic, $"c-{i % 7}", Item(i));
        producer.Mark(topic, StreamMarkKind.Watermark, PositionOf(Item(99)));
        producer.Flush(TestToken);

        using (var first = Consumer(topic, group, producer))
        {
            first.Start(Deadline);
            var released = ReadUntil(first, r => r.Count(m => m.Record is not null) == 100);
            Assert.Equal(100, released.Count(m => m.Record is not null));
            first.Commit();
        }

        for (var i = 100; i < 150; i++)
            producer.Send(topic, $"c-{i % 7}", Item(i));
        producer.Mark(topic, StreamMarkKind.Flush, PositionOf(Item(149)));
        producer.Flush(TestToken);

        using var second = Consumer(topic, group, producer);
        second.Start(Deadline);
        var rest = ReadUntil(second, r => r.Count(m => m.Mark is { Kind: StreamMarkKind.Flush }) == 3);

        Assert.Equal(Enumerable.Range(100, 50).Select(i => (double)i), rest.Where(m => m.Record is not null).Select(m => m.Record!.Value));
    }

    [Fact]
    public async Task Poll_UndecodableMessage_IsDeadLetteredWithItsPositionAndTheStreamGoesOn()
    {
        var topic = await TopicAsync("poison");
        var deadLetterTopic = Topics.DeadLetters;
        using var producer = Producer();
        producer.Send(topic, "c-0", Item(0));
        producer.Raw.Produce(new TopicPartition(topic, 1), new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes("not avro") });
        producer.Send(topic, "c-1", Item(1));
        producer.Mark(topic, StreamMarkKind.Flush, PositionOf(Item(1)));
        producer.Flush(TestToken);

        using var consumer = Consumer(topic, KafkaFixture.UniqueName("g"), producer);
        consumer.Start(Deadline);
        var released = ReadUntil(consumer, r => r.Count(m => m.Mark is { Kind: StreamMarkKind.Flush }) == 3);
        producer.Flush(TestToken);

        Assert.Equal([0.0, 1.0], released.Where(m => m.Record is not null).Select(m => m.Record!.Value));
        var poison = Assert.Single(released, m => m.Record is null && m.Mark is null);
        Assert.Equal(1, poison.Partition);

        // The copy on the dead-letter topic names where it came from.
        using var reader = new ConsumerBuilder<byte[]?, byte[]?>(kafka.Consumer(KafkaFixture.UniqueName("dlq"))).Build();
        var partitions = TopicAdmin.PartitionCount(reader.Handle, deadLetterTopic, Deadline);
        reader.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(deadLetterTopic, p, Offset.Beginning)));
        ConsumeResult<byte[]?, byte[]?>? copy = null;
        var until = DateTime.UtcNow + Deadline;
        while (copy is null && DateTime.UtcNow < until)
        {
            var r = reader.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && Header(r, DeadLetterHeaders.SourceTopic) == topic)
                copy = r;
        }

        Assert.NotNull(copy);
        Assert.Equal(DeadLetterReasons.PoisonMessage, Header(copy, DeadLetterHeaders.Reason));
        Assert.Equal("1", Header(copy, DeadLetterHeaders.SourcePartition));
        Assert.Equal("not avro", Text(copy.Message.Value));
    }

    [Fact]
    public async Task MustWait_GroupBehindByMoreThanTheLimit_HoldsUntilItCommits()
    {
        var topic = await TopicAsync("gate");
        var group = KafkaFixture.UniqueName("g");
        using var producer = Producer();
        for (var i = 0; i < 90; i++)
            producer.Raw.Produce(new TopicPartition(topic, i % 3), new Message<byte[]?, byte[]?> { Value = [1] });
        producer.Flush(TestToken);
        using var gate = new LagGate(kafka.Options, group, topic, 3, maxLagPerPartition: 20, checkEvery: TimeSpan.Zero);

        Assert.True(gate.MustWait());
        Assert.Equal(30, gate.LastLag);

        using (var consumer = new ConsumerBuilder<byte[]?, byte[]?>(kafka.Consumer(group)).Build())
            consumer.Commit(Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(topic, p, 25)));

        Assert.False(gate.MustWait());
        Assert.Equal(5, gate.LastLag);
    }
}
