using Microsoft.Extensions.Logging;

namespace Puffy.Streaming.UnitTests.Logging;

// Events shaped like the services' own, carrying the properties ops filter on in Seq.
internal static partial class OpsLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Closed session {SessionId} for {ClientId} on {Day}")]
    public static partial void ClosedSession(ILogger logger, string sessionId, string clientId, string day);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettered {Topic} [{Partition}] @{Offset}: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attributed order {TransactionId} of {ClientId}")]
    public static partial void Attributed(ILogger logger, string transactionId, string clientId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {File} for {Day}")]
    public static partial void Replayed(ILogger logger, string file, string day);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Trace {Marker}")]
    public static partial void Trace(ILogger logger, string marker);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Debug {Marker}")]
    public static partial void Debug(ILogger logger, string marker);

    [LoggerMessage(Level = LogLevel.Information, Message = "Information {Marker}")]
    public static partial void Information(ILogger logger, string marker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warning {Marker}")]
    public static partial void Warning(ILogger logger, string marker);
}
