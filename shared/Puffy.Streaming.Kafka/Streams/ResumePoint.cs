using System.Globalization;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// Where a partition's stored state ends in its input: the offset of the first message the state does not reflect, and,
/// for an ordered input, the position of the last record the state took (a record at or behind it is a copy). Stored with
/// the state, in the same transaction, as text (<see cref="ToText"/>).
/// </summary>
public readonly record struct ResumePoint(long Offset, StreamPosition? Taken)
{
    /// <summary><c>offset</c>, or <c>offset|ticks|seq|tie</c> with the last taken position (the tie last: it may hold anything).</summary>
    public string ToText() => Taken is { } t
        ? string.Create(CultureInfo.InvariantCulture, $"{Offset}|{t.Time.Ticks}|{t.Seq}|{t.Tie}")
        : Offset.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads <see cref="ToText"/>'s form back; null for null. Throws <see cref="FormatException"/> for anything else.</summary>
    public static ResumePoint? Parse(string? text)
    {
        if (text is null)
            return null;
        var parts = text.Split('|', 4);
        var offset = long.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture);
        if (parts.Length == 1)
            return new ResumePoint(offset, null);
        if (parts.Length != 4)
            throw new FormatException($"'{text}' is no resume point: offset, or offset|ticks|seq|tie");
        var time = new DateTime(long.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture), DateTimeKind.Utc);
        return new ResumePoint(offset, new StreamPosition(time, parts[3], long.Parse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)));
    }
}
