using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

public sealed class ConsumerLoopFailureTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task RunAsync_UndecodableMessage_DeadLetteredWithHeadersAndLaterMessagesHandled()
    {
        var topic = KafkaFixture.UniqueName("poison");
        var deadLetterTopic = KafkaFixture.UniqueName("dlq");
        await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        await kafka.CreateTopicAsync(deadLetterTopic, partitions: 1, TestToken);
        DeliveryResult<byte[]?, byte[]?> poison;
        using (var producer = kafka.Producer())
        {
            await producer.ProduceAsync(topic, Message("k1", "1"), TestToken);
            poison = await producer.ProduceAsync(topic, Message("k2", "not-a-number"), TestToken);
            await producer.ProduceAsync(topic, Message("k3", "3"), TestToken);
        }

        var handled = new ConcurrentQueue<int>();
        var group = KafkaFixture.UniqueName("group");
        var run = kafka.Start(topic, r => int.Parse(Text(r.Message.Value), CultureInfo.InvariantCulture), (n, _, _) =>
        {
            handled.Enqueue(n);
            return Task.CompletedTask;
        }, deadLetterTopic: deadLetterTopic, group: group);
        await using (run)
        {
            await WaitUntilAsync(() => handled.Count >= 2);
            Assert.Equal([1, 3], handled);

            // The loop keeps going after the poison message.
            using (var producer = kafka.Producer())
            {
                await producer.ProduceAsync(topic, Message("k4", "4"), TestToken);
            }

            await WaitUntilAsync(() => handled.Count >= 3);
            Assert.Equal([1, 3, 4], handled);
            Assert.Equal(1, run.Loop.DeadLettered);
        }

        var dead = Assert.Single(kafka.ReadAll(deadLetterTopic, expected: 1));
        Assert.Equal("k2", Text(dead.Message.Key));
        Assert.Equal("not-a-number", Text(dead.Message.Value));
        Assert.Equal(DeadLetterReasons.PoisonMessage, Header(dead, DeadLetterHeaders.Reason));
        Assert.Contains("FormatException", Header(dead, DeadLetterHeaders.Detail), StringComparison.Ordinal);
        Assert.Equal(topic, Header(dead, DeadLetterHeaders.SourceTopic));
        Assert.Equal(poison.Partition.Value.ToString(CultureInfo.InvariantCulture), Header(dead, DeadLetterHeaders.SourcePartition));
        Assert.Equal(poison.Offset.Value.ToString(CultureInfo.InvariantCulture), Header(dead, DeadLetterHeaders.SourceOffset));

        // The poison offset was stored and committed with the rest: nothing is pending for the group.
        Assert.Equal(4, kafka.CommittedOffset(group, topic));
    }

    [Fact]
    public async Task RunAsync_HandlerFailsTransiently_RetriedUntilSuccessAndNothingDeadLettered()
    {
        var topic = KafkaFixture.UniqueName("transient");
        var deadLetterTopic = KafkaFixture.UniqueName("dlq");
        await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        await kafka.CreateTopicAsync(deadLetterTopic, partitions: 1, TestToken);
        using (var producer = kafka.Producer())
        {
            for (var i = 0; i < 5; i++)
            {
                producer.Produce(topic, Message("k", i.ToString(CultureInfo.InvariantCulture)));
            }

            producer.Flush(TestToken);
        }

        var attempts = new ConcurrentDictionary<int, int>();
        var handled = new ConcurrentQueue<int>();
        var run = kafka.Start(topic, r => int.Parse(Text(r.Message.Value), CultureInfo.InvariantCulture), (n, _, _) =>
        {
            var attempt = attempts.AddOrUpdate(n, 1, (_, a) => a + 1);
            // Message 2 meets a store that is down for three attempts: timeouts, then an I/O error.
            if (n == 2 && attempt <= 3)
            {
                throw attempt < 3 ? new TimeoutException("store timed out") : new IOException("connection reset");
            }

            handled.Enqueue(n);
            return Task.CompletedTask;
        }, deadLetterTopic: deadLetterTopic);
        await using (run)
        {
            await WaitUntilAsync(() => handled.Count >= 5);

            Assert.Equal([0, 1, 2, 3, 4], handled);
            Assert.Equal(4, attempts[2]);
            Assert.Equal(3, run.Loop.Retries);
            Assert.Equal(0, run.Loop.DeadLettered);
        }

        // A dead letter would have been produced (and acknowledged) before the loop moved on.
        Assert.Equal(0, kafka.HighWatermark(deadLetterTopic));
    }
}
