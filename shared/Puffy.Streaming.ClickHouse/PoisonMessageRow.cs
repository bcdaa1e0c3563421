using System.Text;

namespace Puffy.Streaming.ClickHouse;

/// <summary>
/// One row of <c>poison_messages</c>: a message on the bus that is not an input row and that no service could take
/// (semantics §2). Known by its Kafka position, so a redelivered one replaces its row.
/// </summary>
/// <param name="Reason">A <see cref="Contracts.PoisonReasons"/> code.</param>
/// <param name="FoundBy">The service that set it aside.</param>
public sealed record PoisonMessageRow(
    string Topic,
    int Partition,
    long Offset,
    string Reason,
    string Detail,
    string FoundBy,
    string Key,
    string ExcerptBase64,
    long Bytes,
    DateTime Received)
{
    /// <summary>How much of the message is kept.</summary>
    public const int ExcerptBytes = 1024;

    /// <summary>Longest detail kept: a forged message can carry text of any length.</summary>
    public const int MaxDetailChars = 1000;

    public static PoisonMessageRow Of(string topic, int partition, long offset, string reason, string detail, string foundBy,
        byte[]? key, byte[]? value, DateTime received)
    {
        ArgumentNullException.ThrowIfNull(detail);
        var bytes = value ?? [];
        if (detail.Length > MaxDetailChars)
            detail = detail[..MaxDetailChars] + "…";
        return new PoisonMessageRow(topic, partition, offset, reason, detail, foundBy,
            key is null ? string.Empty : Encoding.UTF8.GetString(key, 0, Math.Min(key.Length, 256)),
            Convert.ToBase64String(bytes, 0, Math.Min(bytes.Length, ExcerptBytes)), bytes.Length, received);
    }
}
