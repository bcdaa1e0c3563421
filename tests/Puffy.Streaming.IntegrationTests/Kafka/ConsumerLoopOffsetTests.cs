using System.Collections.Concurrent;
using System.Globalization;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

public sealed class ConsumerLoopOffsetTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task RunAsync_CrashAfterHandlerBeforeOffsetStore_SameGroupReceivesMessageAgain()
    {
        var topic = KafkaFixture.UniqueName("crash");
        var group = KafkaFixture.UniqueName("group");
        await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        using (var producer = kafka.Producer())
        {
            for (var i = 0; i < 3; i++)
            {
                producer.Produce(topic, Message("k", i.ToString(CultureInfo.InvariantCulture)));
            }

            producer.Flush(TestToken);
        }

        // First consumer: the side effect of message 1 happens, then the process "dies" before its offset is stored.
        var first = new ConcurrentQueue<int>();
        var crashing = kafka.Start(topic, r => int.Parse(Text(r.Message.Value), CultureInfo.InvariantCulture), (n, _, _) =>
        {
            first.Enqueue(n);
            return n == 1 ? throw new InvalidOperationException("simulated crash") : Task.CompletedTask;
        }, group: group);
        var crash = await Assert.ThrowsAsync<InvalidOperationException>(() => crashing.Task.WaitAsync(Deadline, TestToken));
        Assert.Equal("simulated crash", crash.Message);
        Assert.Equal([0, 1], first);
        await crashing.DisposeAsync();

        var second = new ConcurrentQueue<int>();
        await using var restarted = kafka.Start(topic, r => int.Parse(Text(r.Message.Value), CultureInfo.InvariantCulture), (n, _, _) =>
        {
            second.Enqueue(n);
            return Task.CompletedTask;
        }, group: group);

        await WaitUntilAsync(() => second.Count >= 2);

        // Message 0 was stored and committed on Close; message 1 is delivered again, then 2.
        Assert.Equal([1, 2], second);
    }

    [Fact]
    public async Task RunAsync_Cancelled_CompletesAndCommitsHandledOffsets()
    {
        var topic = KafkaFixture.UniqueName("cancel");
        var group = KafkaFixture.UniqueName("group");
        await kafka.CreateTopicAsync(topic, partitions: 1, TestToken);
        using (var producer = kafka.Producer())
        {
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(topic, Message("k", i.ToString(CultureInfo.InvariantCulture)));
            }

            producer.Flush(TestToken);
        }

        var handled = 0;
        var run = kafka.Start(topic, r => r.Message.Value, (_, _, _) =>
        {
            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }, group: group);
        await WaitUntilAsync(() => Volatile.Read(ref handled) >= 10);

        await run.Cancellation.CancelAsync();
        await run.Task.WaitAsync(Deadline, TestToken);

        Assert.True(run.Task.IsCompletedSuccessfully);
        Assert.Equal(10, kafka.CommittedOffset(group, topic));
        await run.DisposeAsync();
    }
}
