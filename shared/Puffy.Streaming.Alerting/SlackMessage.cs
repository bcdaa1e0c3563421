using System.Globalization;
using System.Text.Json.Nodes;

namespace Puffy.Streaming.Alerting;

/// <summary>
/// The body posted to a webhook, in Slack's incoming-webhook format: <c>text</c> (what notifications and clients
/// without blocks show) and the same alert as Block Kit blocks. Mattermost, Rocket.Chat and Teams' Slack-compatible
/// endpoints read <c>text</c>.
/// </summary>
public static class SlackMessage
{
    public static string Text(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return $"[{alert.Severity.ToUpperInvariant()}] {alert.Day ?? "no day"} {alert.Rule}: {alert.Message}";
    }

    public static JsonObject Of(AlertRaised alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["text"] = Text(alert),
            ["blocks"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "section",
                    ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = $"*{alert.Severity.ToUpperInvariant()}* `{alert.Rule}` on {alert.Day ?? "no day"}\n{alert.Message}" },
                    ["fields"] = new JsonArray(
                        new JsonObject { ["type"] = "mrkdwn", ["text"] = $"*Observed*\n{Number(alert.Observed)}" },
                        new JsonObject { ["type"] = "mrkdwn", ["text"] = $"*Threshold*\n{Number(alert.Threshold)}" }),
                },
                new JsonObject
                {
                    ["type"] = "context",
                    ["elements"] = new JsonArray(new JsonObject { ["type"] = "mrkdwn", ["text"] = $"alert id `{alert.AlertId}`" }),
                }),
        };
    }
}
