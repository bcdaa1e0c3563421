using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.Alerting;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka.Streams;
using Core = Puffy.Streaming.Pipeline.Monitoring.MonitorOptions;

namespace Puffy.Streaming.Monitor;

/// <summary>
/// The monitor: metrics, dead letters, sessions and orders in; alerts (topic, ClickHouse, RabbitMQ), file_stats, dead_letters,
/// poison_messages and marketing_daily out (<see cref="MonitorStage"/>). Its state spans its whole input (a day's rules need
/// every producer's metrics, marketing_daily every session and order), so one instance runs it at a time
/// (<see cref="SingleOwnerStream{TWork}"/>): any further instance stands by and takes over, from the last checkpoint, when
/// the running one stops or dies.
/// </summary>
public sealed partial class MonitorWorker(
    ServiceClients clients, IOptions<MonitorOptions> options, IHostApplicationLifetime lifetime, ILogger<MonitorWorker> log,
    AlertPublisher? publisher = null)
    : StreamWorker(lifetime, log)
{
    /// <summary>What the monitor reads: every partition of these, through one state.</summary>
    public static IReadOnlyList<string> Inputs { get; } = [Topics.Metrics, Topics.DeadLetters, Topics.Sessions, Topics.AttributedOrders];

    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var streams = clients.Streams;
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        using var clickHouse = await clients.ClickHouseAsync(stoppingToken);
        var redis = await clients.RedisAsync(stoppingToken);
        using var producer = clients.Producer(codec, "monitor");
        var prefix = clients.Redis.KeyPrefix + ":monitor";
        using var stream = new SingleOwnerStream<MonitorStage>(
            clients.Consumer(options.Value.GroupId), Inputs, producer,
            () => MonitorStage.OpenAsync(redis, prefix, Rules(options.Value), codec, producer, new ClickHouseWriter(clickHouse, batchSize: 10_000),
                publisher, log, stoppingToken),
            line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = streams.StallWarning };
        await clients.RunStageAsync(stream, producer, [], static () => { }, () => stream.Work?.TickAsync() ?? Task.CompletedTask, stoppingToken);
    }

    private static Core Rules(MonitorOptions o) => new()
    {
        MissingClientIdWarningPercent = o.MissingClientIdWarningPercent,
        MissingClientIdCriticalPercent = o.MissingClientIdCriticalPercent,
        DeadLetterWarningPercent = o.DeadLetterWarningPercent,
        DeadLetterCriticalPercent = o.DeadLetterCriticalPercent,
        AnomalySigmas = o.AnomalySigmas,
        RowsCollapsePercent = o.RowsCollapsePercent,
        AnomalyWindowDays = o.AnomalyWindowDays,
        DirectShareJumpPoints = o.DirectShareJumpPoints,
        IdleAfter = o.IdleAfter,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}
