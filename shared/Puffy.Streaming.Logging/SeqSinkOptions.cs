using System.Text;

namespace Puffy.Streaming.Logging;

/// <summary>Where and how <see cref="SeqSink"/> ships events.</summary>
public sealed record SeqSinkOptions
{
    /// <summary>The Seq server's base address, e.g. <c>http://seq:5341</c>; events go to <c>ingest/clef</c> below it.</summary>
    public required Uri ServerUrl { get; init; }

    /// <summary>Sent as <c>X-Seq-ApiKey</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Most events in one request.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Longest time an event waits in the sink before its batch is sent (while Seq is reachable).</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most events held while Seq is slow or down; beyond it the oldest are dropped and counted.</summary>
    public int QueueLimit { get; init; } = 100_000;

    /// <summary>How long <see cref="SeqSink.Dispose"/> waits to send what is still held.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(5);

    // Options get logged at startup; the API key must not end up in those logs.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ServerUrl = ").Append(ServerUrl)
            .Append(", ApiKey = ").Append(ApiKey is null ? "(none)" : "***")
            .Append(", BatchSize = ").Append(BatchSize)
            .Append(", Period = ").Append(Period)
            .Append(", QueueLimit = ").Append(QueueLimit)
            .Append(", FlushTimeout = ").Append(FlushTimeout);
        return true;
    }
}
