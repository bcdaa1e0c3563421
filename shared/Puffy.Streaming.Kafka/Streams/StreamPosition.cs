namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// Where a message sits in its stream's total order: raw rows by (stream time, file, line), valid and sessionized
/// events by (event time, event id). Each partition of an ordered topic is written in this order.
/// </summary>
public readonly record struct StreamPosition(DateTime Time, string Tie, long Seq) : IComparable<StreamPosition>
{
    public static StreamPosition Min { get; } = new(DateTime.MinValue, string.Empty, long.MinValue);

    public static StreamPosition Max { get; } = new(DateTime.MaxValue, string.Empty, long.MaxValue);

    public int CompareTo(StreamPosition other)
    {
        var c = Time.CompareTo(other.Time);
        if (c != 0)
            return c;
        c = string.CompareOrdinal(Tie, other.Tie);
        return c != 0 ? c : Seq.CompareTo(other.Seq);
    }

    public static bool operator <(StreamPosition left, StreamPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(StreamPosition left, StreamPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(StreamPosition left, StreamPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(StreamPosition left, StreamPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Time:O}/{Tie}/{Seq}";
}
