using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Logging;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Redis;
using Core = Puffy.Streaming.Pipeline.Attribution.AttributionOptions;

namespace Puffy.Streaming.Attribution;

/// <summary>
/// Sessionized events → attributed orders (topic and ClickHouse). The input is merged back into time order so the
/// 7-day lookback expires touchpoints as in an embedded run. A checkpoint flushes Kafka and ClickHouse, stores the
/// changed touchpoints in Redis (one transaction), then commits; after a crash, redelivered session starts are
/// recorded once and redelivered purchases give the same order row again.
/// </summary>
public sealed partial class AttributionWorker(
    ServiceClients clients, IOptions<AttributionOptions> options, IHostApplicationLifetime lifetime, ILogger<AttributionWorker> log)
    : StreamWorker(lifetime, log)
{
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var streams = clients.Streams;
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        var store = new TouchpointStore(await clients.RedisAsync(stoppingToken), clients.Redis.KeyPrefix + ":attribution");
        using var clickHouse = await clients.ClickHouseAsync(stoppingToken);
        var writer = new ClickHouseWriter(clickHouse, batchSize: 5_000);
        using var producer = clients.Producer(codec, "attribution");
        var partitions = producer.PartitionsOf(Topics.SessionizedEvents);
        using var consumer = new OrderedTopicConsumer<SessionizedEvent>(clients.Consumer(options.Value.GroupId), Topics.SessionizedEvents,
            partitions, se => new StreamPosition(se.Event.Timestamp, se.Event.EventId, 0), producer, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = clients.Streams.StallWarning };

        var core = new AttributionCore(new Core { Lookback = options.Value.Lookback }) { TrackChanges = true };
        var stored = await store.LoadAllAsync();
        core.Restore(stored);
        LogRestored(stored.Count);
        consumer.Start(streams.StartupTimeout);

        var orders = new List<AttributedOrder>();

        // An order is in the writer once added, even when the batch flush it triggered failed: a retry goes on after it.
        var written = 0;
        long total = 0;
        var flushes = 0;
        var checkpoint = Stopwatch.StartNew();
        while (!stoppingToken.IsCancellationRequested)
        {
            // The replay the input comes from names every line logged for it and travels on with the outputs.
            using var replay = PuffyLogging.Replay(consumer.ReplayId);
            producer.ReplayId = consumer.ReplayId;
            foreach (var m in consumer.Poll(TimeSpan.FromMilliseconds(100), streams.PollBatch, stoppingToken))
            {
                if (m.Record is { } se && core.Accept(se) is { } order)
                {
                    producer.Send(Topics.AttributedOrders, order.ClientId, order);
                    orders.Add(order);
                    total++;
                    LogAttributed(order.TransactionId, order.ClientId, order.Touchpoints);
                }
                else if (m.Mark is { Kind: StreamMarkKind.Flush } flush && ++flushes >= flush.Partitions)
                {
                    flushes = 0;
                    LogFlushed(total);
                }
            }

            await Infrastructure.RetryAsync("Writing ClickHouse", WriteOrders, log, stoppingToken);
            if (checkpoint.Elapsed >= streams.CheckpointInterval)
            {
                await Checkpoint();
                checkpoint.Restart();
            }
        }

        await Checkpoint();

        async Task WriteOrders()
        {
            while (written < orders.Count)
            {
                var adding = writer.AddAsync(orders[written++], CancellationToken.None);
                await adding;
            }

            orders.Clear();
            written = 0;
        }

        async Task Checkpoint()
        {
            producer.Flush(CancellationToken.None);
            await Infrastructure.RetryAsync("Flushing ClickHouse", () => writer.FlushAsync(CancellationToken.None), log, stoppingToken);
            var changes = core.TakeChanges();
            await Infrastructure.RetryAsync("Storing the checkpoint in Redis", () => store.SaveAsync(changes), log, stoppingToken);
            consumer.Commit();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored the touchpoints of {Clients} clients")]
    private partial void LogRestored(int clients);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Attributed {TransactionId} of {ClientId} over {Touchpoints} touchpoints")]
    private partial void LogAttributed(string transactionId, string clientId, int touchpoints);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay flushed: {Orders} orders attributed since start")]
    private partial void LogFlushed(long orders);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}
