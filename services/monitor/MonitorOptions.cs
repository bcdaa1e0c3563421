namespace Puffy.Streaming.Monitor;

/// <summary>The <c>Monitor</c> section; thresholds are those of semantics §8.</summary>
public sealed class MonitorOptions
{
    public const string Section = "Monitor";

    public double MissingClientIdWarningPercent { get; set; } = 5;

    public double MissingClientIdCriticalPercent { get; set; } = 10;

    public double AnomalySigmas { get; set; } = 3;

    public int AnomalyWindowDays { get; set; } = 7;

    public double DirectShareJumpPoints { get; set; } = 15;

    /// <summary>Live replays: raise <c>no_events</c> when the ingestor's heartbeat stops for this long.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMinutes(10);

    public string GroupId { get; set; } = Kafka.Streams.ConsumerGroups.Monitor;
}
