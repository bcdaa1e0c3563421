using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

public sealed class KafkaRoundTripTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task RunAsync_KeyedMessagesOverFourPartitions_PreservesPerKeyOrder()
    {
        var topic = KafkaFixture.UniqueName("order");
        await kafka.CreateTopicAsync(topic, partitions: 4, TestToken);
        const int keys = 12;
        const int perKey = 40;
        var partitionsByKey = new ConcurrentDictionary<string, ConcurrentBag<int>>();
        using (var producer = kafka.Producer())
        {
            for (var seq = 0; seq < perKey; seq++)
            {
                for (var k = 0; k < keys; k++)
                {
                    producer.Produce(topic, Message($"client-{k}", $"{seq}"), report =>
                        partitionsByKey.GetOrAdd(Text(report.Message.Key), _ => []).Add(report.Partition.Value));
                }
            }

            producer.Flush(TestToken);
        }

        var received = new ConcurrentQueue<(string Key, int Seq, int Partition)>();
        await using var run = kafka.Start(topic, r => int.Parse(Text(r.Message.Value), CultureInfo.InvariantCulture),
            (seq, r, _) =>
            {
                received.Enqueue((Text(r.Message.Key), seq, r.Partition.Value));
                return Task.CompletedTask;
            });

        await WaitUntilAsync(() => received.Count >= keys * perKey);

        Assert.Equal(keys * perKey, received.Count);
        foreach (var group in received.GroupBy(m => m.Key))
        {
            Assert.Equal(Enumerable.Range(0, perKey), group.Select(m => m.Seq));
            Assert.Single(group.Select(m => m.Partition).Distinct());
        }

        Assert.All(partitionsByKey.Values, p => Assert.Single(p.Distinct()));
        Assert.True(received.Select(m => m.Partition).Distinct().Count() > 1, "keys should spread over partitions");
    }

    [Fact]
    public async Task RunAsync_MessageWithHeaders_HeadersKeyAndValueRoundTrip()
    {
        var topic = KafkaFixture.UniqueName("headers");
        await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        byte[] binary = [0, 1, 2, 254, 255];
        var headers = new Headers
        {
            { "trace-id", Encoding.UTF8.GetBytes("abc-123") },
            { "binary", binary },
            { "empty", [] },
            { "repeated", Encoding.UTF8.GetBytes("first") },
            { "repeated", Encoding.UTF8.GetBytes("second") },
        };
        using (var producer = kafka.Producer())
        {
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = null, Value = binary, Headers = headers }, TestToken);
        }

        var received = new ConcurrentQueue<ConsumeResult<byte[]?, byte[]?>>();
        await using var run = kafka.Start(topic, r => r.Message.Value, (_, r, _) =>
        {
            received.Enqueue(r);
            return Task.CompletedTask;
        });

        await WaitUntilAsync(() => !received.IsEmpty);

        var message = Assert.Single(received).Message;
        Assert.Null(message.Key);
        Assert.Equal(binary, message.Value);
        Assert.Equal(
            ["trace-id", "binary", "empty", "repeated", "repeated"],
            message.Headers.Select(h => h.Key));
        Assert.Equal("abc-123", Text(message.Headers.GetLastBytes("trace-id")));
        Assert.Equal(binary, message.Headers.GetLastBytes("binary"));
        Assert.Empty(message.Headers.GetLastBytes("empty"));
        Assert.Equal(["first", "second"], message.Headers.Where(h => h.Key == "repeated").Select(h => Text(h.GetValueBytes())));
    }
}
