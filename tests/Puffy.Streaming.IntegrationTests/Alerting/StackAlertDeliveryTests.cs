using System.Globalization;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.IntegrationTests.Stack;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Alerting;

/// <summary>
/// The local stack with RabbitMQ, as <c>puffy stack up</c> starts it: the 14 real days replayed through the services
/// reach a webhook configured on the monitor as exactly the embedded run's critical alerts, each once.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackAlertDeliveryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_RealDataWithWebhook_WebhookReceivesTheCriticalAlertsOnce()
    {
        var criticals = StackHarness.Embedded(StackHarness.RealData, Ct).Alerts.Where(a => a.Severity == Severity.Critical).ToList();
        using var webhook = new RecordingWebhook();
        await using var stack = await StackHarness.UpAsync(rabbitMq: true, Ct);
        Assert.NotNull(stack.State.RabbitMqPort);

        // The monitor of `stack up` reads its webhooks from the environment; give this one the test's.
        await LocalStack.RestartServiceAsync(stack.State.Root, "monitor", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Alerting__Webhooks__0"] = webhook.Url.ToString(),
            ["Alerting__MinimumSeverity"] = "Critical",
        }, Ct);

        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);
        var requests = await webhook.WaitForRequestsAsync(criticals.Count);

        var expected = criticals.Select(a => $"[CRITICAL] {a.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} {a.Rule}: {a.Message}");
        Assert.Equal(expected.Order(StringComparer.Ordinal), requests.Select(r => r.Json.GetProperty("text").GetString()!).Order(StringComparer.Ordinal));
    }
}
