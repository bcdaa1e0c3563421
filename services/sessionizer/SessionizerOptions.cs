namespace Puffy.Streaming.Sessionizer;

/// <summary>The <c>Sessionizer</c> section.</summary>
public sealed class SessionizerOptions
{
    public const string Section = "Sessionizer";

    /// <summary>Inactivity that ends a session (semantics §3).</summary>
    public TimeSpan SessionGap { get; set; } = TimeSpan.FromMinutes(30);

    public string GroupId { get; set; } = Kafka.Streams.ConsumerGroups.Sessionizer;
}
