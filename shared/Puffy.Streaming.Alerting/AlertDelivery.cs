using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Alerting;

/// <summary>
/// Alert delivery over RabbitMQ with MassTransit: a bus hosted in the monitor publishes each alert, and — when
/// webhooks are configured — the <see cref="WebhookNotifier"/> consumes them from <see cref="AlertingOptions.Queue"/>
/// with message retry, failed messages ending in <c>{Queue}_error</c>. Nothing is registered without
/// <c>RabbitMq:Host</c>.
/// </summary>
public static class AlertDelivery
{
    /// <returns>True when alert delivery is on (<c>RabbitMq:Host</c> is set).</returns>
    public static bool AddAlertDelivery(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (!rabbit.Enabled)
            return false;
        var alerting = configuration.GetSection(AlertingOptions.Section).Get<AlertingOptions>() ?? new AlertingOptions();
        services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AlertingOptions>().BindConfiguration(AlertingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AlertPublisher>();
        services.AddSingleton<WebhookClient>();
        var intervals = alerting.RetryIntervals.Count > 0 ? [.. alerting.RetryIntervals] : AlertingOptions.DefaultRetryIntervals.ToArray();

        // Start-up waits for the broker, so the queue and its binding exist before the first alert is published.
        services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        services.AddMassTransit(bus =>
        {
            if (alerting.HasWebhooks)
                bus.AddConsumer<WebhookNotifier>();
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(rabbit.Username);
                    h.Password(rabbit.Password);
                });
                if (!alerting.HasWebhooks)
                    return;
                // Debian's RabbitMQ has no delayed-message exchange plugin, so no UseDelayedRedelivery: the retries
                // wait in the consumer (message retry), spaced out by the intervals.
                cfg.ReceiveEndpoint(alerting.Queue, endpoint =>
                {
                    endpoint.UseMessageRetry(retry => retry.Intervals(intervals));
                    endpoint.ConfigureConsumer<WebhookNotifier>(context);
                });
            });
        });
        return true;
    }
}

/// <summary>Publishes alerts on the bus, each under the message id of its alert id.</summary>
public sealed class AlertPublisher(IBus bus)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <exception cref="TimeoutException">RabbitMQ did not take the alert (unreachable, or not confirming): retry.</exception>
    public async Task PublishAsync(Alert alert, CancellationToken cancellationToken)
    {
        var message = AlertRaised.From(alert);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Patience);
        try
        {
            await bus.Publish(message, context => context.MessageId = message.MessageId(), timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException or MassTransitException)
        {
            throw new TimeoutException($"RabbitMQ did not take alert {message.AlertId}: {e.Message}", e);
        }
    }
}
