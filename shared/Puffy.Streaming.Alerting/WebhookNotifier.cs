using System.Net.Http.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Puffy.Streaming.Alerting;

/// <summary>
/// Posts each alert at or above the minimum severity to every configured webhook. A webhook that fails (no answer,
/// or a status outside 2xx) fails the message: MassTransit retries it on the configured intervals and then moves
/// it to the error queue. A retry posts to every webhook again, so with several webhooks one that already took the
/// alert sees it twice (the alert id in the message tells).
/// </summary>
public sealed partial class WebhookNotifier(WebhookClient client, IOptions<AlertingOptions> options, ILogger<WebhookNotifier> log)
    : IConsumer<AlertRaised>
{
    public async Task Consume(ConsumeContext<AlertRaised> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var alert = context.Message;
        var o = options.Value;
        if (!alert.IsAtLeast(o.MinimumSeverity))
        {
            LogBelowMinimum(alert.AlertId, alert.Severity);
            return;
        }

        var targets = o.Targets;
        var body = SlackMessage.Of(alert);
        foreach (var webhook in targets)
        {
            using var response = await client.Http.PostAsJsonAsync(webhook, body, context.CancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException(
                    $"webhook {webhook.GetLeftPart(UriPartial.Authority)} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            }
        }

        LogDelivered(alert.AlertId, alert.Severity, targets.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered alert {AlertId} ({Severity}) to {Webhooks} webhooks")]
    private partial void LogDelivered(string alertId, string severity, int webhooks);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Alert {AlertId} ({Severity}) is below the minimum severity: not delivered")]
    private partial void LogBelowMinimum(string alertId, string severity);
}

/// <summary>The notifier's one HttpClient, with the configured timeout.</summary>
public sealed class WebhookClient(IOptions<AlertingOptions> options) : IDisposable
{
    public HttpClient Http { get; } = new() { Timeout = options.Value.WebhookTimeout };

    public void Dispose() => Http.Dispose();
}
