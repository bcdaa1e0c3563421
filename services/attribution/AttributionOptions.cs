namespace Puffy.Streaming.Attribution;

/// <summary>The <c>Attribution</c> section.</summary>
public sealed class AttributionOptions
{
    public const string Section = "Attribution";

    /// <summary>How far back touchpoints count (semantics §5; inclusive).</summary>
    public TimeSpan Lookback { get; set; } = TimeSpan.FromDays(7);

    public string GroupId { get; set; } = Kafka.Streams.ConsumerGroups.Attribution;
}
