using Confluent.Kafka;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// The stream runtime of a stage whose state spans its whole input (the monitor), over a real broker: of several instances one
/// runs the stage and the others stand by; a standby takes over where the stored state ends; an instance whose save is refused
/// (another took the lease) gives the stage up without committing.
/// </summary>
public sealed class SingleOwnerStreamTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    private sealed record Taken(string Instance, TopicPartition At, long Offset);

    /// <summary>
    /// The stage's state "stored" in <paramref name="store"/> (the input positions it reflects), shared by the instances as
    /// Redis is; every message taken is recorded with the instance that took it.
    /// </summary>
    private sealed class Whole(string instance, Dictionary<TopicPartition, long> store, List<Taken> taken) : IWholeInputWork
    {
        private readonly Dictionary<TopicPartition, long> _stored = new(store);

        public IReadOnlyDictionary<TopicPartition, long> Stored => _stored;

        public bool Refuse { get; set; }

        public Task AcceptAsync(ConsumeResult<byte[]?, byte[]?> message)
        {
            taken.Add(new Taken(instance, message.TopicPartition, message.Offset.Value));
            return Task.CompletedTask;
        }

        public Task<bool> CheckpointAsync(IReadOnlyDictionary<TopicPartition, long> positions)
        {
            if (Refuse)
                return Task.FromResult(false);
            foreach (var (at, next) in positions)
                store[at] = next;
            return Task.FromResult(true);
        }
    }

    private sealed class Instance(string name, Dictionary<TopicPartition, long> store, List<Taken> taken)
    {
        public string Name => name;

        public List<Whole> Opened { get; } = [];

        public Task<Whole> OpenAsync()
        {
            var work = new Whole(name, store, taken);
            Opened.Add(work);
            return Task.FromResult(work);
        }
    }

    private StreamProducer Producer() => new(kafka.Options.ProducerConfig(), MessageCodec.Catalogue, "test");

    /// <summary>A test's stage: two fresh input topics, a fresh group, the producers, the shared store and what was taken.</summary>
    private sealed class Stage(string[] topics, string group, IProducer<byte[]?, byte[]?> raw, StreamProducer producer) : IDisposable
    {
        public string[] Topics => topics;

        public string Group => group;

        public StreamProducer Producer => producer;

        public Dictionary<TopicPartition, long> Store { get; } = [];

        public List<Taken> Taken { get; } = [];

        public void Send(int n) => SingleOwnerStreamTests.Send(raw, topics, n);

        public void Dispose()
        {
            raw.Dispose();
            producer.Dispose();
        }
    }

    private async Task<Stage> StageAsync() => new(await TopicsAsync(), KafkaFixture.UniqueName("g"), kafka.Producer(), Producer());

    private SingleOwnerStream<Whole> Stream(string group, string[] topics, StreamProducer producer, Instance instance, TimeSpan? fencedGrace = null) =>
        new(kafka.Consumer(group), topics, producer, instance.OpenAsync,
            line => TestContext.Current.SendDiagnosticMessage($"{instance.Name}: {line}"))
        {
            FencedGrace = fencedGrace ?? TimeSpan.FromSeconds(60),
        };

    private async Task<string[]> TopicsAsync()
    {
        string[] topics = [KafkaFixture.UniqueName("whole-a"), KafkaFixture.UniqueName("whole-b")];
        await kafka.CreateTopicAsync(topics[0], partitions: 2, TestToken);
        await kafka.CreateTopicAsync(topics[1], partitions: 3, TestToken);
        return topics;
    }

    // n messages to every partition of both topics: (topic, partition) → offsets 0..n-1 the first time.
    private static void Send(IProducer<byte[]?, byte[]?> producer, string[] topics, int n)
    {
        foreach (var (topic, partitions) in new[] { (topics[0], 2), (topics[1], 3) })
        {
            for (var p = 0; p < partitions; p++)
            {
                for (var i = 0; i < n; i++)
                    producer.Produce(new TopicPartition(topic, p), Message($"k{i}", $"{topic}/{p}/{i}"));
            }
        }

        producer.Flush(TestToken);
    }

    private static async Task PollUntilAsync(Func<bool> done, params SingleOwnerStream<Whole>[] streams)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!done() && DateTime.UtcNow < until)
        {
            foreach (var stream in streams)
                await stream.PollAsync(TimeSpan.FromMilliseconds(50), 500, TestToken);
        }
    }

    [Fact]
    public async Task PollAsync_TwoInstances_OneRunsTheStageAndAfterItStopsTheOtherResumesWhereTheStoredStateEnds()
    {
        using var stage = await StageAsync();
        var (topics, group, producer, store, taken) = (stage.Topics, stage.Group, stage.Producer, stage.Store, stage.Taken);
        stage.Send(10); // 50 messages

        var a = new Instance("a", store, taken);
        var b = new Instance("b", store, taken);
        using var streamB = Stream(group, topics, producer, b);
        var streamA = Stream(group, topics, producer, a);
        streamA.Start();
        streamB.Start();
        await PollUntilAsync(() => taken.Count >= 50, streamA, streamB);
        // Another round each: a second owner would have taken everything again by now.
        await streamA.PollAsync(TimeSpan.FromMilliseconds(200), 500, TestToken);
        await streamB.PollAsync(TimeSpan.FromMilliseconds(200), 500, TestToken);

        Assert.Equal(50, taken.Count);
        var first = Assert.Single(taken.Select(t => t.Instance).Distinct());
        var (running, standby, standbyInstance) = first == "a" ? (streamA, streamB, b) : (streamB, streamA, a);
        Assert.True(running.Running);
        Assert.False(standby.Running);
        Assert.Empty(standbyInstance.Opened);

        await running.CheckpointAsync();
        Assert.Equal(5, store.Count);
        Assert.All(store.Values, next => Assert.Equal(10, next));
        stage.Send(4); // offsets 10..13 of every partition
        await running.PollAsync(TimeSpan.FromMilliseconds(500), 3, TestToken); // part of them, processed but not stored

        // The running instance stops: leaving the group hands the stage over after a last checkpoint.
        running.Dispose();
        var before = taken.Count;
        await PollUntilAsync(() => taken.Count(t => t.Instance == standbyInstance.Name) >= 70 - before, standby);

        var second = taken.Where(t => t.Instance == standbyInstance.Name).ToList();
        Assert.True(standby.Running);
        Assert.Single(standbyInstance.Opened);
        // The last checkpoint stored what the stopping instance had taken beyond the first one; the standby started there.
        Assert.Equal(store.OrderBy(s => s.Key.ToString()), standbyInstance.Opened[0].Stored.OrderBy(s => s.Key.ToString()));
        Assert.All(store, s => Assert.Equal(10 + taken.Count(t => t.Instance == first && t.At == s.Key && t.Offset >= 10), s.Value));
        // Every message once in all, each partition in order: the standby took exactly what the stored state did not hold.
        Assert.Equal(70, taken.Count);
        Assert.Equal(taken.Count, taken.Select(t => (t.At, t.Offset)).Distinct().Count());
        foreach (var partition in taken.GroupBy(t => t.At))
        {
            Assert.Equal(Enumerable.Range(0, 14).Select(i => (long)i), partition.Select(t => t.Offset));
        }

        Assert.All(second, t => Assert.True(t.Offset >= 10));
    }

    /// <summary>The stage loop's early-commit check counts per input partition what was taken since its last commit.</summary>
    [Fact]
    public async Task CheckpointDue_CountsMessagesAndBytesTakenSinceTheLastCommitPerPartition()
    {
        using var stage = await StageAsync();
        var (topics, group, producer, store, taken) = (stage.Topics, stage.Group, stage.Producer, stage.Store, stage.Taken);
        stage.Send(6); // 6 per partition, 5 partitions
        var instance = new Instance("a", store, taken);
        using var stream = Stream(group, topics, producer, instance);
        Assert.False(stream.CheckpointDue(1, 1));
        stream.Start();
        await PollUntilAsync(() => taken.Count >= 30, stream);
        var bytes = Message("k0", $"{topics[0]}/0/0").Value!.Length;

        Assert.True(stream.CheckpointDue(6, long.MaxValue));
        Assert.False(stream.CheckpointDue(7, long.MaxValue));
        Assert.True(stream.CheckpointDue(long.MaxValue, 6L * bytes - 6));
        Assert.False(stream.CheckpointDue(long.MaxValue, 6L * (bytes + 5)));

        await stream.CheckpointAsync();

        Assert.False(stream.CheckpointDue(1, 1));
        stage.Send(2);
        await PollUntilAsync(() => taken.Count >= 40, stream);
        Assert.True(stream.CheckpointDue(2, long.MaxValue));
        Assert.False(stream.CheckpointDue(3, long.MaxValue));
    }

    [Fact]
    public async Task PollAsync_StoredPositionsDifferFromTheCommit_ResumesWhereTheStoredStateEnds()
    {
        using var stage = await StageAsync();
        var (topics, group, producer, store, taken) = (stage.Topics, stage.Group, stage.Producer, stage.Store, stage.Taken);
        stage.Send(8); // 40 messages
        // The state stands at 5 and 2 in two partitions; nothing was committed; the rest was never stored.
        store[new TopicPartition(topics[0], 1)] = 5;
        store[new TopicPartition(topics[1], 2)] = 2;
        var instance = new Instance("a", store, taken);
        using var stream = Stream(group, topics, producer, instance);
        stream.Start();
        await PollUntilAsync(() => taken.Count >= 40 - 5 - 2, stream);
        await stream.PollAsync(TimeSpan.FromMilliseconds(200), 500, TestToken);

        Assert.Equal(33, taken.Count);
        Assert.Equal(Enumerable.Range(5, 3).Select(i => (long)i), taken.Where(t => t.At == new TopicPartition(topics[0], 1)).Select(t => t.Offset));
        Assert.Equal(Enumerable.Range(2, 6).Select(i => (long)i), taken.Where(t => t.At == new TopicPartition(topics[1], 2)).Select(t => t.Offset));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), taken.Where(t => t.At == new TopicPartition(topics[0], 0)).Select(t => t.Offset));
    }

    [Fact]
    public async Task CheckpointAsync_SaveRefusedBecauseAnotherInstanceTookTheLease_CommitsNothingAndTakesTheStageAgainFromTheStoredState()
    {
        using var stage = await StageAsync();
        var (topics, group, producer, store, taken) = (stage.Topics, stage.Group, stage.Producer, stage.Store, stage.Taken);
        var instance = new Instance("a", store, taken);
        using var stream = Stream(group, topics, producer, instance, fencedGrace: TimeSpan.Zero);
        stream.Start();
        stage.Send(3);
        await PollUntilAsync(() => taken.Count >= 15, stream);
        await stream.CheckpointAsync();
        stage.Send(2);
        await PollUntilAsync(() => taken.Count >= 25, stream);

        instance.Opened[^1].Refuse = true;
        await stream.CheckpointAsync();

        Assert.False(stream.Running);
        Assert.Equal(3, kafka.CommittedOffset(group, topics[0]));
        Assert.All(store.Values, next => Assert.Equal(3, next));
        // Still elected (nobody else is in the group): after the grace it takes the stage again, from the stored state.
        await PollUntilAsync(() => taken.Count >= 35, stream);
        Assert.Equal(2, instance.Opened.Count);
        Assert.Equal(35, taken.Count);
        Assert.All(taken.Skip(25).GroupBy(t => t.At), p => Assert.Equal([3L, 4L], p.Select(t => t.Offset)));
    }
}
