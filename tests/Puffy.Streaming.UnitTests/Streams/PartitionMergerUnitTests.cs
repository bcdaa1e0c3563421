using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka.Streams;

namespace Puffy.Streaming.UnitTests.Streams;

public sealed class PartitionMergerUnitTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static StreamPosition At(int seconds, long seq = 0) => new(T0.AddSeconds(seconds), "f", seq);

    private static Merged<string> Record(int partition, long offset, int seconds) =>
        new(partition, offset, At(seconds), $"p{partition}@{seconds}", null);

    private static Merged<string> Mark(int partition, long offset, int seconds, StreamMarkKind kind = StreamMarkKind.Watermark) =>
        new(partition, offset, At(seconds), null, new StreamMark(kind, "test", T0.AddSeconds(seconds), "f", 0, 2));

    private static List<string> Drain(PartitionMerger<string> merger)
    {
        var released = new List<string>();
        while (merger.TryRelease(out var m))
            released.Add(m.Record ?? $"mark:{m.Mark!.Kind}@{m.Partition}");
        return released;
    }

    [Fact]
    public void TryRelease_PartitionNeverHeardFrom_HoldsEverything()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 0, 1));
        merger.Add(Record(0, 1, 2));

        Assert.Empty(Drain(merger));
        Assert.Equal(2, merger.Buffered);
    }

    [Fact]
    public void Blocking_HeldMessages_NamesTheSilentPartitionsAndTheNextPosition()
    {
        var merger = new PartitionMerger<string>(3);
        Assert.Null(merger.Blocking());
        merger.Add(Record(0, 0, 5));
        merger.Add(Mark(2, 0, 3));

        Assert.Empty(Drain(merger));
        var blocking = merger.Blocking();
        Assert.NotNull(blocking);
        Assert.Equal(At(3), blocking.Value.Next);
        Assert.Equal([1], blocking.Value.SilentPartitions);
    }

    [Fact]
    public void TryRelease_InterleavedPartitions_ReleasesInGlobalOrderUpToTheSlowestPartition()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 0, 1));
        merger.Add(Record(0, 1, 5));
        merger.Add(Record(1, 0, 2));
        merger.Add(Record(1, 1, 3));

        // Partition 1 has shown position 3: nothing of it can come before 3, but 5 must wait.
        Assert.Equal(["p0@1", "p1@2", "p1@3"], Drain(merger));
        merger.Add(Record(1, 2, 7));
        Assert.Equal(["p0@5"], Drain(merger));
    }

    [Fact]
    public void TryRelease_WatermarkOnQuietPartition_LetsTheOtherPartitionGo()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 0, 1));
        merger.Add(Record(0, 1, 4));
        merger.Add(Mark(1, 0, 4));

        // A record and a mark at the same position: the record first, the mark speaks of what came before it.
        Assert.Equal(["p0@1", "p0@4", "mark:Watermark@1"], Drain(merger));
    }

    [Fact]
    public void TryRelease_FlushMark_ReleasesTheLastRecordsOfEveryPartition()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 0, 9));
        merger.Add(Mark(0, 1, 9, StreamMarkKind.Flush));
        merger.Add(Record(1, 0, 3));

        Assert.Equal(["p1@3"], Drain(merger));
        merger.Add(Mark(1, 1, 3, StreamMarkKind.Flush));
        Assert.Equal(["mark:Flush@1", "p0@9", "mark:Flush@0"], Drain(merger));
    }

    [Fact]
    public void Seed_PositionOfLastProcessedMessage_UnblocksAPartitionWithNothingNew()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 5, 10));
        Assert.Empty(Drain(merger));

        merger.Seed(1, At(20));

        Assert.Equal(["p0@10"], Drain(merger));
    }

    [Fact]
    public void TryRelease_RedeliveredOlderRecord_IsReleasedAtOnce()
    {
        var merger = new PartitionMerger<string>(2);
        merger.Add(Record(0, 0, 5));
        merger.Add(Record(1, 0, 6));
        Assert.Equal(["p0@5"], Drain(merger));

        merger.Add(Record(0, 1, 2));

        Assert.Equal(["p0@2"], Drain(merger));
    }

    [Fact]
    public void TryRelease_WithinAPartition_KeepsOffsetOrder()
    {
        var merger = new PartitionMerger<string>(1);
        merger.Add(Record(0, 0, 1));
        merger.Add(Record(0, 1, 2));
        merger.Add(Record(0, 2, 3));

        var offsets = new List<long>();
        while (merger.TryRelease(out var m))
            offsets.Add(m.Offset);

        Assert.Equal([0L, 1L, 2L], offsets);
    }
}
