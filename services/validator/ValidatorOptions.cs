namespace Puffy.Streaming.Validator;

/// <summary>The <c>Validator</c> section.</summary>
public sealed class ValidatorOptions
{
    public const string Section = "Validator";

    /// <summary>How far behind the stream time an event may arrive before it is <c>late_event</c> (semantics §2).</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long (stream time) accepted event and transaction ids are remembered for de-duplication, and rows (file, line)
    /// as handled, so a file a restarted ingestor sends again is not counted twice.
    /// </summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromDays(30);

    public string GroupId { get; set; } = Kafka.Streams.ConsumerGroups.Validator;
}
