using System.Text;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using static Puffy.Streaming.IntegrationTests.Kafka.KafkaTestKit;

namespace Puffy.Streaming.IntegrationTests.Kafka;

/// <summary>
/// The stream runtime of the partition-parallel stages over a real broker: each partition's records and the producer's
/// marks come back in the producer's order; a checkpoint's commit resumes a new instance after what was processed (unless a
/// partition's work holds its commit back); poison goes to dead letters; the lag gate holds back until a group commits.
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

    /// <summary>
    /// A partition's work that keeps what it is handed and the offsets it is asked to store; <see cref="MayCommit"/> as the
    /// test sets it; its state "stored" at <see cref="Stored"/>.
    /// </summary>
    private sealed class Collect(List<Merged<Metric>> all, ResumePoint? stored = null) : IPartitionWork<Metric>
    {
        public bool MayCommit { get; set; } = true;

        public int Saves { get; private set; }

        public List<ResumePoint?> ResumeAts { get; } = [];

        public ResumePoint? Stored => stored;

        public void Accept(Merged<Metric> message) => all.Add(message);

        public Task<bool> SaveAsync(ResumePoint? resumeAt)
        {
            Saves++;
            ResumeAts.Add(resumeAt);
            return Task.FromResult(true);
        }
    }

    private PartitionedStream<Metric, Collect> Stream(
        string topic, string group, StreamProducer producer, List<Merged<Metric>> all, Dictionary<int, Collect>? works = null,
        Func<int, ResumePoint?>? stored = null, bool inOrder = false) =>
        new(kafka.Consumer(group), topic, PositionOf, producer, p =>
        {
            var work = new Collect(all, stored?.Invoke(p));
            works?.Add(p, work);
            return Task.FromResult(work);
        }, () => Task.CompletedTask, line => TestContext.Current.SendDiagnosticMessage(line)) { InputInOrder = inOrder };

    private static async Task<List<Merged<Metric>>> ReadUntilAsync(PartitionedStream<Metric, Collect> stream, List<Merged<Metric>> all, Func<List<Merged<Metric>>, bool> done)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!done(all) && DateTime.UtcNow < until)
            await stream.PollAsync(TimeSpan.FromMilliseconds(100), 1000, TestToken);
        return all;
    }

    [Fact]
    public async Task PollAsync_KeyedRecordsOverThreePartitions_EachPartitionInTheProducersOrderWithItsMarks()
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

        var all = new List<Merged<Metric>>();
        using var stream = Stream(topic, KafkaFixture.UniqueName("g"), producer, all);
        stream.Start();
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Mark is { Kind: StreamMarkKind.Flush }) == 3);

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (double)i), all.Where(m => m.Record is not null).Select(m => m.Record!.Value).Order());
        foreach (var partition in all.GroupBy(m => m.Partition))
        {
            var records = partition.Where(m => m.Record is not null).Select(m => m.Record!.Value).ToList();
            Assert.Equal(records.Order(), records);
            Assert.Equal(7, partition.Count(m => m.Mark is not null));
            // A client's records all travel in one partition.
            Assert.All(partition.Where(m => m.Record is not null).GroupBy(m => m.Record!.Dimension),
                c => Assert.DoesNotContain(all.Where(o => o.Partition != partition.Key && o.Record is not null), o => o.Record!.Dimension == c.Key));
        }

        Assert.Equal(3, stream.Works.Count());
    }

    [Fact]
    public async Task CheckpointAsync_ThenANewInstance_ResumesAfterWhatWasProcessedUnlessTheWorkHeldItsCommitBack()
    {
        var topic = await TopicAsync("resume");
        var group = KafkaFixture.UniqueName("g");
        using var producer = Producer();
        for (var i = 0; i < 100; i++)
            producer.Send(topic, $"c-{i % 7}", Item(i));
        producer.Flush(TestToken);

        var works = new Dictionary<int, Collect>();
        var first = new List<Merged<Metric>>();
        using (var stream = Stream(topic, group, producer, first, works))
        {
            stream.Start();
            await ReadUntilAsync(stream, first, r => r.Count(m => m.Record is not null) == 100);
            // One partition has effects still to come: its state is saved, its offsets are not committed.
            var held = works.Keys.Min();
            works[held].MayCommit = false;
            await stream.CheckpointAsync();
            Assert.All(works.Values, w => Assert.Equal(1, w.Saves));
            works[held].MayCommit = true;
            works.Clear();
            // Closing revokes and checkpoints once more: keep the hold-back to the end.
            foreach (var (p, work) in stream.Works.Where(w => w.Partition == held))
                work.MayCommit = false;
        }

        for (var i = 100; i < 150; i++)
            producer.Send(topic, $"c-{i % 7}", Item(i));
        producer.Flush(TestToken);

        var second = new List<Merged<Metric>>();
        using var next = Stream(topic, group, producer, second);
        next.Start();
        var heldPartition = first.Where(m => m.Record is not null).Min(m => m.Partition);
        var heldCount = first.Count(m => m.Record is not null && m.Partition == heldPartition);
        await ReadUntilAsync(next, second, r => r.Count(m => m.Record is not null) == 50 + heldCount);

        var again = second.Where(m => m.Record is not null && m.Record.Value < 100).ToList();
        Assert.Equal(heldCount, again.Count);
        Assert.All(again, m => Assert.Equal(heldPartition, m.Partition));
        Assert.Equal(Enumerable.Range(100, 50).Select(i => (double)i), second.Where(m => m.Record is not null && m.Record.Value >= 100).Select(m => m.Record!.Value).Order());
    }

    /// <summary>
    /// What the stage loop checks to commit before upstream's back-pressure limits: a partition that has taken that many
    /// messages or bytes since its last commit, and may commit them, makes a checkpoint due; one that holds its commit back
    /// does not, and after a checkpoint nothing is due.
    /// </summary>
    [Fact]
    public async Task CheckpointDue_CountsMessagesAndBytesTakenSinceTheLastCommitPerPartition()
    {
        var topic = await TopicAsync("due");
        using var producer = Producer();
        for (var i = 0; i < 90; i++)
            producer.Send(topic, "c-0", Item(i));
        producer.Flush(TestToken);
        var works = new Dictionary<int, Collect>();
        var all = new List<Merged<Metric>>();
        using var stream = Stream(topic, KafkaFixture.UniqueName("g"), producer, all, works);
        stream.Start();
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Record is not null) == 90);
        var bytes = MessageCodec.Catalogue.Serialize(Item(0)).Length;

        // All 90 on one partition (one key): the limits are per partition, not summed over the topic.
        Assert.True(stream.CheckpointDue(90, long.MaxValue));
        Assert.False(stream.CheckpointDue(91, long.MaxValue));
        Assert.True(stream.CheckpointDue(long.MaxValue, 90L * bytes - 90));
        Assert.False(stream.CheckpointDue(long.MaxValue, 90L * bytes + 90));
        var work = Assert.Single(works.Values);
        work.MayCommit = false;
        Assert.False(stream.CheckpointDue(1, 1));
        work.MayCommit = true;

        await stream.CheckpointAsync();

        Assert.False(stream.CheckpointDue(1, 1));
        for (var i = 90; i < 100; i++)
            producer.Send(topic, "c-0", Item(i));
        producer.Flush(TestToken);
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Record is not null) == 100);
        Assert.True(stream.CheckpointDue(10, long.MaxValue));
        Assert.False(stream.CheckpointDue(11, long.MaxValue));
    }

    [Fact]
    public async Task PollAsync_StateStoredAtAnotherOffsetThanTheGroupsCommit_ResumesExactlyWhereTheStateEnds()
    {
        var topic = await TopicAsync("stored");
        var group = KafkaFixture.UniqueName("g");
        using var producer = Producer();
        for (var p = 0; p < 3; p++)
        {
            for (var i = 0; i < 40; i++)
                producer.SendTo(topic, p, $"c-{p}", Item((1000 * p) + i));
        }

        producer.Flush(TestToken);
        // The group committed 10, 30 and 20; the partitions' states were stored at 25 (a later save whose commit never came),
        // at 5 (state older than the commit) and not at all.
        using (var consumer = new ConsumerBuilder<byte[]?, byte[]?>(kafka.Consumer(group)).Build())
            consumer.Commit([new TopicPartitionOffset(topic, 0, 10), new TopicPartitionOffset(topic, 1, 30), new TopicPartitionOffset(topic, 2, 20)]);
        ResumePoint?[] stored = [new(25, null), new(5, null), null];

        var works = new Dictionary<int, Collect>();
        var all = new List<Merged<Metric>>();
        using var stream = Stream(topic, group, producer, all, works, p => stored[p]);
        stream.Start();
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Record is not null) >= 15 + 35 + 20);
        // Nothing more may come: poll on until the last partition's end has certainly been reached once more.
        await stream.PollAsync(TimeSpan.FromMilliseconds(500), 1000, TestToken);

        Assert.Equal(Enumerable.Range(25, 15).Select(i => (long)i), all.Where(m => m.Partition == 0).Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(5, 35).Select(i => (long)i), all.Where(m => m.Partition == 1).Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(20, 20).Select(i => (long)i), all.Where(m => m.Partition == 2).Select(m => m.Offset));

        // A checkpoint stores each partition's next offset with its state, and only when it moved.
        await stream.CheckpointAsync();
        await stream.CheckpointAsync();
        Assert.All(works.Values, w => Assert.Equal([new ResumePoint(40, null), null], w.ResumeAts));
    }

    [Fact]
    public async Task PollAsync_OrderedInput_DropsRecordsAtOrBehindTheLastTakenAndResumesThatPositionFromTheState()
    {
        var topic = await TopicAsync("copies");
        using var producer = Producer();
        // Partition 0 as a restarted (or frozen and thawed) upstream instance writes it: 0..9, then 5..14 again, a mark
        // at 3, then 15..19; partition 1 starts where a stored state says the last record taken was 7.
        void Send(int p, IEnumerable<int> items)
        {
            foreach (var i in items)
                producer.SendTo(topic, p, $"c-{p}", Item(i));
        }

        Send(0, Enumerable.Range(0, 10));
        Send(0, Enumerable.Range(5, 10));
        producer.MarkPartition(topic, 0, StreamMarkKind.Watermark, PositionOf(Item(3)));
        Send(0, Enumerable.Range(15, 5));
        Send(1, Enumerable.Range(0, 12));
        producer.Flush(TestToken);

        var works = new Dictionary<int, Collect>();
        var all = new List<Merged<Metric>>();
        using var stream = Stream(topic, KafkaFixture.UniqueName("g"), producer, all, works,
            p => p == 1 ? new ResumePoint(0, PositionOf(Item(7))) : null, inOrder: true);
        stream.Start();
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Record is not null) == 20 + 4);
        await stream.PollAsync(TimeSpan.FromMilliseconds(500), 1000, TestToken);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (double)i), all.Where(m => m.Partition == 0 && m.Record is not null).Select(m => m.Record!.Value));
        Assert.Single(all, m => m.Partition == 0 && m.Mark is not null);
        Assert.Equal(Enumerable.Range(8, 4).Select(i => (double)i), all.Where(m => m.Partition == 1).Select(m => m.Record!.Value));

        // The state stores the offset and the last position taken, for the next owner.
        await stream.CheckpointAsync();
        Assert.Equal(new ResumePoint(26, PositionOf(Item(19))), Assert.Single(works[0].ResumeAts));
        Assert.Equal(new ResumePoint(12, PositionOf(Item(11))), Assert.Single(works[1].ResumeAts));
    }

    [Fact]
    public async Task PollAsync_PartitionsPausedInAHoldBackThenMovedAwayAndBack_AreFetchedAgain()
    {
        var topic = await TopicAsync("paused");
        var group = KafkaFixture.UniqueName("g");
        using var producer = Producer();
        void SendRound(int round)
        {
            for (var p = 0; p < 3; p++)
                producer.SendTo(topic, p, $"c-{p}", Item((1000 * round) + p));
            producer.Flush(TestToken);
        }

        SendRound(0);
        var first = new List<Merged<Metric>>();
        using var stream = Stream(topic, group, producer, first);
        stream.Start();
        await ReadUntilAsync(stream, first, r => r.Count(m => m.Record is not null) == 3);

        // A hold-back pauses every partition; a second instance joins meanwhile and takes some of them.
        var second = new List<Merged<Metric>>();
        var other = Stream(topic, group, producer, second);
        other.Start();
        var until = DateTime.UtcNow + Deadline;
        while (stream.Works.Count() == 3 && DateTime.UtcNow < until)
        {
            stream.Idle(TimeSpan.FromMilliseconds(50));
            await other.PollAsync(TimeSpan.FromMilliseconds(50), 1000, TestToken);
        }

        Assert.True(stream.Works.Count() < 3, "the second instance never took a partition");
        SendRound(1);
        until = DateTime.UtcNow + Deadline;
        while (!second.Any(m => m.Record is not null) && DateTime.UtcNow < until)
        {
            stream.Idle(TimeSpan.FromMilliseconds(50));
            await other.PollAsync(TimeSpan.FromMilliseconds(50), 1000, TestToken);
        }

        // The hold-back ends; then the second instance leaves and its partitions come back, still paused in the client.
        stream.Resume();
        other.Dispose();
        SendRound(2);
        await ReadUntilAsync(stream, first, r => r.Count(m => m.Record is { Value: >= 2000 }) == 3);

        Assert.Equal([2000.0, 2001.0, 2002.0], first.Where(m => m.Record is { Value: >= 2000 }).Select(m => m.Record!.Value).Order());
    }

    [Fact]
    public async Task PollAsync_UndecodableMessage_IsDeadLetteredWithItsPositionAndThePartitionGoesOn()
    {
        var topic = await TopicAsync("poison");
        var deadLetterTopic = Topics.DeadLetters;
        using var producer = Producer();
        producer.Raw.Produce(new TopicPartition(topic, 1), new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes("not avro") });
        producer.SendTo(topic, 1, "c-1", Item(1));
        producer.Mark(topic, StreamMarkKind.Flush, PositionOf(Item(1)));
        producer.Flush(TestToken);

        var all = new List<Merged<Metric>>();
        using var stream = Stream(topic, KafkaFixture.UniqueName("g"), producer, all);
        stream.Start();
        await ReadUntilAsync(stream, all, r => r.Count(m => m.Mark is { Kind: StreamMarkKind.Flush }) == 3);
        producer.Flush(TestToken);

        Assert.Equal([1.0], all.Where(m => m.Record is not null).Select(m => m.Record!.Value));
        var poison = Assert.Single(all, m => m.Record is null && m.Mark is null);
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
