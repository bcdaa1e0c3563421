using System.Globalization;
using System.Net;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Alerting;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.IntegrationTests.Stack;

namespace Puffy.Streaming.IntegrationTests.Alerting;

/// <summary>
/// Alert delivery through a real RabbitMQ with the monitor's own wiring (<see cref="AlertDelivery"/>): the real data's
/// alerts published on the bus reach a webhook as Slack-compatible JSON, critical ones only when so configured, each
/// once; a webhook that keeps failing gets the configured retries and the message ends in the error queue.
/// </summary>
public sealed class AlertDeliveryTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Publish_RealDataAlerts_WebhookReceivesEachCriticalAlertOnce()
    {
        var alerts = StackHarness.Embedded(StackHarness.RealData, Ct).Alerts;
        var criticals = alerts.Where(a => a.Severity == Severity.Critical).ToList();
        // The real data's alerts: 7 critical (4 duplicate_transaction_id, 2 missing_client_id_rate, 1 schema_change)
        // and 15 warnings, which must not arrive.
        Assert.Equal(22, alerts.Count);
        Assert.Equal(7, criticals.Count);
        TestContext.Current.SendDiagnosticMessage($"RabbitMQ answered AMQP after {rabbit.StartUp.TotalSeconds:0.0} s");

        using var webhook = new RecordingWebhook();
        using var host = await StartDeliveryAsync(webhook, "Critical", ["00:00:00.100"]);
        var publisher = host.Services.GetRequiredService<AlertPublisher>();
        foreach (var alert in alerts)
            await publisher.PublishAsync(alert, Ct);

        await webhook.WaitForRequestsAsync(criticals.Count);
        await host.StopAsync(Ct); // lets in-flight deliveries finish: anything sent twice would be here now

        var requests = webhook.Requests;
        var expected = criticals.Select(a => $"[CRITICAL] {Day(a.Day)} {a.Rule}: {a.Message}").Order(StringComparer.Ordinal);
        Assert.Equal(expected, requests.Select(r => r.Json.GetProperty("text").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(requests, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal(webhook.Url.AbsolutePath, r.Path);
            Assert.StartsWith("application/json", r.ContentType, StringComparison.Ordinal);
            Assert.Equal("section", r.Json.GetProperty("blocks")[0].GetProperty("type").GetString());
        });
    }

    [Fact]
    public async Task Publish_WebhookAnswers500_RetriesThenMessageLandsInErrorQueue()
    {
        var alert = StackHarness.Embedded(StackHarness.RealData, Ct).Alerts.First(a => a.Severity == Severity.Critical);
        using var webhook = new RecordingWebhook(HttpStatusCode.InternalServerError);
        var queue = "alerts-" + Guid.NewGuid().ToString("N");
        var faulted = new TaskCompletionSource<ConsumeContext<AlertRaised>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            BrokerHost(cfg);
            cfg.ReceiveEndpoint(queue + "_error", e =>
            {
                e.ConfigureConsumeTopology = false; // read what MassTransit moved here, not new publications
                e.Handler<AlertRaised>(context =>
                {
                    faulted.TrySetResult(context);
                    return Task.CompletedTask;
                });
            });
        });
        await errors.StartAsync(Ct);
        try
        {
            using var host = await StartDeliveryAsync(webhook, "Warning", ["00:00:00.050", "00:00:00.050", "00:00:00.050"], queue);
            await host.Services.GetRequiredService<AlertPublisher>().PublishAsync(alert, Ct);

            var error = await faulted.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            Assert.Equal(AlertRaised.From(alert), error.Message);
            Assert.Equal(AlertRaised.From(alert).MessageId(), error.MessageId);
            Assert.Contains("500", error.ReceiveContext.TransportHeaders.Get<string>("MT-Fault-Message"), StringComparison.Ordinal);
            Assert.Equal(4, webhook.Requests.Count); // the first attempt and three retries, all before the move
            await host.StopAsync(Ct);
        }
        finally
        {
            await errors.StopAsync(CancellationToken.None);
        }
    }

    private async Task<IHost> StartDeliveryAsync(RecordingWebhook webhook, string minimumSeverity, string[] retryIntervals, string? queue = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["RabbitMq:Host"] = "127.0.0.1",
            ["RabbitMq:Port"] = rabbit.Server.Port.ToString(CultureInfo.InvariantCulture),
            ["Alerting:Webhooks:0"] = webhook.Url.ToString(),
            ["Alerting:MinimumSeverity"] = minimumSeverity,
            ["Alerting:Queue"] = queue ?? "alerts-" + Guid.NewGuid().ToString("N"),
        };
        for (var i = 0; i < retryIntervals.Length; i++)
            settings[$"Alerting:RetryIntervals:{i}"] = retryIntervals[i];
        builder.Configuration.AddInMemoryCollection(settings);
        Assert.True(builder.Services.AddAlertDelivery(builder.Configuration));
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    private void BrokerHost(IRabbitMqBusFactoryConfigurator cfg) =>
        cfg.Host("127.0.0.1", (ushort)rabbit.Server.Port, "/", h =>
        {
            h.Username("guest");
            h.Password("guest");
        });

    private static string Day(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "no day";
}
