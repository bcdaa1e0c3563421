using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Alerting;

/// <summary>
/// An alert the monitor raised, as published on RabbitMQ (MassTransit's JSON envelope). <see cref="AlertId"/> is
/// <c>rule:day</c> — the monitor raises an alert once per rule and day, and the alert topic is keyed the same way —
/// so an alert published again (a monitor that crashed before its checkpoint) is recognisable as the same one.
/// </summary>
/// <param name="Day">The day the alert is about, <c>yyyy-MM-dd</c>, or null for alerts about no day.</param>
/// <param name="Severity">Info, Warning, Error or Critical.</param>
public sealed record AlertRaised(string AlertId, string? Day, string Rule, string Severity, double Observed, double Threshold, string Message)
{
    public static AlertRaised From(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var day = alert.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return new AlertRaised($"{alert.Rule}:{day ?? "unknown"}", day, alert.Rule, alert.Severity.ToString(), alert.Observed, alert.Threshold, alert.Message);
    }

    /// <summary>The MassTransit message id: the same alert always travels under the same id.</summary>
    public Guid MessageId()
    {
        // A name-based id (the first 16 bytes of SHA-256 over the alert id), not a security measure.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("puffy-alert:" + AlertId));
        return new Guid(hash.AsSpan(0, 16));
    }

    public bool IsAtLeast(Severity minimum) =>
        Enum.TryParse<Severity>(Severity, ignoreCase: true, out var severity) && severity >= minimum;
}
