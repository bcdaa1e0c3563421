using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Redis;
using Core = Puffy.Streaming.Pipeline.Attribution.AttributionOptions;
using IDatabase = StackExchange.Redis.IDatabase;

namespace Puffy.Streaming.Attribution;

/// <summary>
/// Sessionized events → attributed orders (topic and ClickHouse). Partition-parallel: a client's sessions and purchases
/// all arrive on one partition, in order, so each partition is attributed on its own (<see cref="AttributionPartition"/>)
/// by whichever instance owns it, and the 7-day lookback expires touchpoints as in an embedded run. A checkpoint flushes
/// Kafka and ClickHouse, stores each partition's changed touchpoints in Redis (one transaction, under the partition's
/// lease), then commits; after a crash, redelivered session starts are recorded once and redelivered purchases give the
/// same order row again.
/// </summary>
public sealed partial class AttributionWorker(
    ServiceClients clients, IOptions<AttributionOptions> options, IHostApplicationLifetime lifetime, ILogger<AttributionWorker> log)
    : StreamWorker(lifetime, log)
{
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        var redis = await clients.RedisAsync(stoppingToken);
        var prefix = clients.Redis.KeyPrefix + ":attribution";
        using var clickHouse = await clients.ClickHouseAsync(stoppingToken);
        var writer = new ClickHouseWriter(clickHouse, batchSize: 5_000);
        using var producer = clients.Producer(codec, "attribution");
        var output = new Output(producer, writer, log, stoppingToken);
        using var stream = new PartitionedStream<SessionizedEvent, AttributionPartition>(
            clients.Consumer(options.Value.GroupId), Topics.SessionizedEvents, se => new StreamPosition(se.Event.Timestamp, se.Event.EventId, 0),
            producer, p => output.OpenAsync(p, () => OpenAsync(redis, prefix, p, output)), output.FlushAsync, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = clients.Streams.StallWarning, InputInOrder = true };
        await clients.RunStageAsync(stream, producer, [], static () => { }, output.WriteAsync, stoppingToken);
    }

    private async Task<AttributionPartition> OpenAsync(IDatabase redis, string prefix, int partition, Output output)
    {
        var lease = await PartitionLease.AcquireAsync(redis, $"{prefix}:p{partition}");
        var store = new TouchpointStore(redis, $"{prefix}:p{partition}", lease);
        var core = new AttributionCore(new Core { Lookback = options.Value.Lookback }) { TrackChanges = true };
        var stored = await store.LoadAllAsync();
        core.Restore(stored);
        LogRestored(partition, lease.Epoch, stored.Count);
        return new AttributionPartition(partition, core, store, output, log);
    }

    /// <summary>Where every partition's orders go: the topic, and ClickHouse after each batch.</summary>
    internal sealed class Output : StageOutput
    {
        private readonly PendingRows<AttributedOrder> _orders;

        public Output(StreamProducer producer, ClickHouseWriter writer, ILogger log, CancellationToken stoppingToken)
            : base(producer, writer, log, stoppingToken) =>
            _orders = new(o => writer.AddAsync(o, CancellationToken.None));

        public void Add(AttributedOrder order)
        {
            Producer.Send(Topics.AttributedOrders, order.ClientId, order);
            _orders.Add(order);
        }

        protected override Task WriteRowsAsync() => _orders.DrainAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: lease epoch {Epoch}; restored the touchpoints of {Clients} clients")]
    private partial void LogRestored(int partition, long epoch, int clients);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}

/// <summary>The attribution of one partition of the sessionized events: its clients' 7-day touchpoints.</summary>
internal sealed partial class AttributionPartition(int partition, AttributionCore core, TouchpointStore store, AttributionWorker.Output output, ILogger log)
    : IPartitionWork<SessionizedEvent>
{
    private long _orders;

    public void Accept(Merged<SessionizedEvent> m)
    {
        if (m.Record is { } se && core.Accept(se) is { } order)
        {
            output.Add(order);
            _orders++;
            LogAttributed(order.TransactionId, order.ClientId, order.Touchpoints);
        }
        else if (m.Mark is { Kind: StreamMarkKind.Flush })
        {
            LogFlushed(partition, _orders);
        }
    }

    // The changes are taken once and kept until stored: a retried checkpoint writes the same touchpoints again.
    private IReadOnlyList<ClientTouchpoints>? _changes;

    public ResumePoint? Stored => ResumePoint.Parse(store.StoredResume);

    public async Task<bool> SaveAsync(ResumePoint? resumeAt)
    {
        _changes ??= core.TakeChanges();
        try
        {
            await output.RetryAsync("Storing the checkpoint in Redis", () => store.SaveAsync(_changes, resumeAt?.ToText()));
        }
        catch (PartitionLeaseLostException)
        {
            return false;
        }

        _changes = null;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Attributed {TransactionId} of {ClientId} over {Touchpoints} touchpoints")]
    private partial void LogAttributed(string transactionId, string clientId, int touchpoints);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: replay flushed, {Orders} orders attributed since it was assigned")]
    private partial void LogFlushed(int partition, long orders);
}
