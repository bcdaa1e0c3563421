namespace Puffy.Streaming.Contracts;

/// <summary>Kafka topic names. The version suffix changes only on an incompatible schema change.</summary>
public static class Topics
{
    /// <summary>CSV rows as read by the ingestor, keyed by client id.</summary>
    public const string RawEvents = "puffy.events.raw.v1";

    /// <summary>Events that passed validation, in event-time order per client, keyed by client id.</summary>
    public const string ValidEvents = "puffy.events.valid.v1";

    /// <summary>Valid events with the session they belong to, keyed by client id.</summary>
    public const string SessionizedEvents = "puffy.events.sessionized.v1";

    /// <summary>Rows and messages that were rejected, with a typed reason.</summary>
    public const string DeadLetters = "puffy.events.deadletter.v1";

    /// <summary>Closed sessions, keyed by client id.</summary>
    public const string Sessions = "puffy.sessions.v1";

    /// <summary>Attributed orders, keyed by client id.</summary>
    public const string AttributedOrders = "puffy.orders.attributed.v1";

    /// <summary>Data-quality and business metrics, keyed by day.</summary>
    public const string Metrics = "puffy.metrics.v1";

    /// <summary>Alerts raised by the monitor, keyed by rule and day.</summary>
    public const string Alerts = "puffy.alerts.v1";

    public static IReadOnlyList<string> All { get; } =
        [RawEvents, ValidEvents, SessionizedEvents, DeadLetters, Sessions, AttributedOrders, Metrics, Alerts];
}
