using System.ComponentModel.DataAnnotations;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Alerting;

/// <summary>The <c>RabbitMq</c> section: the broker alerts travel through. An empty <see cref="Host"/> turns alert delivery off.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    public string Host { get; set; } = string.Empty;

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "guest";

    public string Password { get; set; } = "guest";

    public bool Enabled => Host.Length > 0;
}

/// <summary>The <c>Alerting</c> section: who is told about alerts, and how hard delivery tries.</summary>
public sealed class AlertingOptions : IValidatableObject
{
    public const string Section = "Alerting";

    /// <summary>
    /// Slack-compatible incoming-webhook URLs; every alert at or above <see cref="MinimumSeverity"/> is posted to each.
    /// Blank entries are ignored (compose passes an unset variable as one).
    /// </summary>
    public IList<string> Webhooks { get; } = [];

    public bool HasWebhooks => Webhooks.Any(w => !string.IsNullOrWhiteSpace(w));

    /// <summary>The configured webhooks, blanks left out.</summary>
    public IReadOnlyList<Uri> Targets => [.. Webhooks.Where(w => !string.IsNullOrWhiteSpace(w)).Select(w => new Uri(w.Trim(), UriKind.Absolute))];

    public Severity MinimumSeverity { get; set; } = Severity.Warning;

    /// <summary>The queue the webhook notifier consumes; a message that keeps failing moves to <c>{Queue}_error</c>.</summary>
    [Required]
    public string Queue { get; set; } = "puffy-alert-webhooks";

    /// <summary>
    /// The waits between delivery attempts of one message (MassTransit message retry). After the last one fails,
    /// the message goes to the error queue.
    /// </summary>
    public IList<TimeSpan> RetryIntervals { get; } = [];

    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The default retry schedule when <see cref="RetryIntervals"/> is not configured: about five minutes in all.</summary>
    public static IReadOnlyList<TimeSpan> DefaultRetryIntervals { get; } =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(3)];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var webhook in Webhooks.Where(w => !string.IsNullOrWhiteSpace(w)))
        {
            if (!Uri.TryCreate(webhook.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                yield return new ValidationResult("Alerting:Webhooks holds an entry that is not an http(s) URL", [nameof(Webhooks)]);
        }
    }
}
