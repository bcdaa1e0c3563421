namespace Puffy.Streaming.Monitor;

/// <summary>The <c>Monitor</c> section; thresholds are those of semantics §8.</summary>
public sealed class MonitorOptions
{
    public const string Section = "Monitor";

    public double MissingClientIdWarningPercent { get; set; } = 5;

    public double MissingClientIdCriticalPercent { get; set; } = 10;

    /// <summary>Share of a file's rows dead-lettered above which <c>dead_letter_share</c> warns / is critical.</summary>
    public double DeadLetterWarningPercent { get; set; } = 30;

    public double DeadLetterCriticalPercent { get; set; } = 50;

    public double AnomalySigmas { get; set; } = 3;

    /// <summary>A <c>rows_anomaly</c> below this share of the trailing median is critical (the day collapsed).</summary>
    public double RowsCollapsePercent { get; set; } = 50;

    public int AnomalyWindowDays { get; set; } = 7;

    public double DirectShareJumpPoints { get; set; } = 15;

    /// <summary>Live replays: raise <c>no_events</c> when the ingestor's heartbeat stops for this long.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMinutes(10);

    public string GroupId { get; set; } = Kafka.Streams.ConsumerGroups.Monitor;
}
