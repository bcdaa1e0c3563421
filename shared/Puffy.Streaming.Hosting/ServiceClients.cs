using System.Runtime;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using StackExchange.Redis;

namespace Puffy.Streaming.Hosting;

/// <summary>Builds a service's connections from its options and waits (up to the startup timeout) for the servers.</summary>
public sealed partial class ServiceClients(
    IOptions<KafkaOptions> kafka,
    IOptions<RedisOptions> redis,
    IOptions<ClickHouseOptions> clickHouse,
    IOptions<StreamOptions> streams,
    IOptions<SchemaRegistryConfig> registry,
    ILogger<ServiceClients> log) : IDisposable
{
    private ConnectionMultiplexer? _redis;
    private CachedSchemaRegistryClient? _registry;

    // One setting per process: calls to Redis, ClickHouse and RabbitMQ that go unanswered that long are logged too.
    private readonly TimeSpan _slowCall = Infrastructure.SlowCallWarning = streams.Value.StallWarning;

    // librdkafka's own lines (a broker that stops answering, requests timed out, connections refused) into this
    // service's structured log, with the client and facility as properties, instead of raw text on stderr.
    private readonly Action<LogMessage> _librdkafka = RouteLibrdkafka(log);

    public StreamOptions Streams => streams.Value;

    public RedisOptions Redis => redis.Value;

    /// <summary>
    /// The message codec: schema ids from the Schema Registry of the <c>SchemaRegistry</c> section (Confluent's
    /// <c>SchemaRegistryConfig</c>: <c>Url</c>, <c>BasicAuthUserInfo</c>, …) when its <c>Url</c> is set, otherwise from
    /// the committed catalogue. Every subject is registered first (idempotent), retried while the registry is down.
    /// </summary>
    public async Task<MessageCodec> CodecAsync(CancellationToken cancellationToken)
    {
        var client = typeof(Confluent.Kafka.Library).Assembly.GetName().Version?.ToString(3) ?? "?";
        var librdkafka = KafkaNative.Describe();
        var runtime = Environment.Version.ToString();
        var collector = GCSettings.IsServerGC ? "server" : "workstation";
        var concurrent = GCSettings.LatencyMode == GCLatencyMode.Batch ? "" : " concurrent";
        var gen0 = Gen0BudgetMiB();
        LogRuntime(runtime, collector, concurrent, gen0);
        LogKafkaClient(client, librdkafka);
        if (string.IsNullOrWhiteSpace(registry.Value.Url))
            return MessageCodec.Catalogue;
        _registry = new CachedSchemaRegistryClient(registry.Value);
        var codec = await Infrastructure.RetryAsync("Registering the schemas", () => MessageCodec.CreateAsync(_registry), log, cancellationToken);
        var url = Infrastructure.Redact(registry.Value.Url);
        LogRegistry(url);
        return codec;
    }

    /// <summary>
    /// Creates the pipeline's topics that do not exist yet, waiting (up to the startup timeout) while the brokers do
    /// not answer, as they do not while they are still starting.
    /// </summary>
    public async Task EnsureTopicsAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + streams.Value.StartupTimeout;
        while (true)
        {
            try
            {
                await TopicAdmin.EnsureAsync(kafka.Value, Topics.All, streams.Value.Partitions, cancellationToken);
                return;
            }
            catch (KafkaException e) when (e is not Confluent.Kafka.Admin.CreateTopicsException && DateTime.UtcNow < deadline)
            {
                LogWaiting("Kafka", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public StreamProducer Producer(MessageCodec codec, string name) =>
        new(kafka.Value.ProducerConfig(), codec, name, line => LogKafka(line), streams.Value.StartupTimeout);

    public ConsumerConfig Consumer(string groupId) => kafka.Value.ConsumerConfig(groupId);

    /// <summary>Gates on the downstream groups of a service's outputs (none when back-pressure is off).</summary>
    public IReadOnlyList<LagGate> Gates(StreamProducer producer, params (string Group, string Topic)[] downstream) =>
        streams.Value.MaxLagPerPartition <= 0
            ? []
            : downstream.Select(d => new LagGate(kafka.Value, d.Group, d.Topic, producer.PartitionsOf(d.Topic), streams.Value.MaxLagPerPartition)
            {
                MaxLagBytes = streams.Value.MaxLagBytesPerPartition,
                MessageBytes = () => producer.AverageBytes(d.Topic),
                Sent = () => producer.Sent,
                Acknowledged = () => producer.Acknowledged,
            }).ToList();

    /// <summary>
    /// Waits while any downstream group is too far behind. <paramref name="beforeWaiting"/> runs once first (e.g. to
    /// send a watermark, so the consumer can release and commit everything already sent). A wait longer than
    /// <see cref="StreamOptions.StallWarning"/> is logged at Warning (and again each time as long) with the group, topic
    /// and lag it waits on: a stall is never silent.
    /// </summary>
    public Task HoldBackAsync(IReadOnlyList<LagGate> gates, Action beforeWaiting, CancellationToken cancellationToken) =>
        HoldBackAsync(gates, beforeWaiting, () => Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken), cancellationToken);

    /// <summary>As above; <paramref name="whileWaiting"/> is each short wait (e.g. polling a paused consumer to stay in its group).</summary>
    public async Task HoldBackAsync(IReadOnlyList<LagGate> gates, Action beforeWaiting, Func<Task> whileWaiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(gates);
        ArgumentNullException.ThrowIfNull(beforeWaiting);
        ArgumentNullException.ThrowIfNull(whileWaiting);
        var waited = false;
        var since = System.Diagnostics.Stopwatch.StartNew();
        var warned = TimeSpan.Zero;
        foreach (var gate in gates)
        {
            while (gate.MustWait())
            {
                if (!waited)
                {
                    beforeWaiting();
                    LogHoldingBack(gate.Group, gate.Topic, gate.LastLag);
                    waited = true;
                }

                if (since.Elapsed - warned >= streams.Value.StallWarning)
                {
                    warned = since.Elapsed;
                    LogStalled((long)since.Elapsed.TotalSeconds, gate.Group, gate.Topic, streams.Value.MaxLagPerPartition, gate.LastCheck);
                }

                cancellationToken.ThrowIfCancellationRequested();
                await whileWaiting();
            }
        }
    }

    public async Task<IDatabase> RedisAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + streams.Value.StartupTimeout;
        while (true)
        {
            try
            {
                _redis = await ConnectionMultiplexer.ConnectAsync(redis.Value.ClientOptions());
                return _redis.GetDatabase();
            }
            catch (RedisConnectionException e) when (DateTime.UtcNow < deadline)
            {
                LogWaiting("Redis", Infrastructure.Redact(e.Message));
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    /// <summary>A client whose database and tables exist (the DDL is applied; it is idempotent).</summary>
    public async Task<ClickHouseClient> ClickHouseAsync(CancellationToken cancellationToken)
    {
        var client = new ClickHouseClient(clickHouse.Value);
        var deadline = DateTime.UtcNow + streams.Value.StartupTimeout;
        var url = Infrastructure.Redact(clickHouse.Value.BaseUrl.ToString());
        while (!await client.PingAsync(cancellationToken))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"ClickHouse at {url} did not answer within {streams.Value.StartupTimeout}");
            LogWaiting("ClickHouse", url);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        await client.ApplySchemaAsync(Path.Combine(AppContext.BaseDirectory, "clickhouse"), cancellationToken);
        return client;
    }

    public void Dispose()
    {
        KafkaClientLog.Unroute(_librdkafka);
        _redis?.Dispose();
        _registry?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Holding back: {Group} is {Lag} messages behind on a partition of {Topic}")]
    private partial void LogHoldingBack(string group, string topic, long lag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stalled for {Seconds} s: waiting for consumer group {Group} to take messages off {Topic} (at most {MaxLag} behind per partition; {Lag})")]
    private partial void LogStalled(long seconds, string group, string topic, long maxLag, string lag);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schema ids come from the registry at {RegistryUrl}")]
    private partial void LogRegistry(string registryUrl);

    /// <summary>The largest gen-0 budget the collector runs with, in MiB (set by <c>DOTNET_GCgen0size</c>; the runtime picks one otherwise).</summary>
    private static long Gen0BudgetMiB() =>
        GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var budget) && budget is long or int or ulong
            ? Convert.ToInt64(budget, System.Globalization.CultureInfo.InvariantCulture) / (1024 * 1024)
            : -1;

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime: .NET {Version}, {Collector}{Concurrent} GC, gen-0 budget up to {Gen0BudgetMiB} MiB")]
    private partial void LogRuntime(string version, string collector, string concurrent, long gen0BudgetMiB);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka client: Confluent.Kafka {ClientVersion} on librdkafka {Librdkafka}")]
    private partial void LogKafkaClient(string clientVersion, string librdkafka);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    private static Action<LogMessage> RouteLibrdkafka(ILogger log)
    {
        Action<LogMessage> route = m =>
        {
            var level = LevelOf(m.Level);
            if (log.IsEnabled(level))
                LogLibrdkafka(log, level, m.Name, m.Facility, m.Message);
        };
        KafkaClientLog.Route(route);
        return route;
    }

    /// <summary>The level a librdkafka line is logged at: syslog's emergency to critical are critical, notice and info information.</summary>
    private static LogLevel LevelOf(SyslogLevel level) => level switch
    {
        SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
        SyslogLevel.Error => LogLevel.Error,
        SyslogLevel.Warning => LogLevel.Warning,
        SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };

    [LoggerMessage(Message = "librdkafka {KafkaClient} {Facility}: {KafkaMessage}")]
    private static partial void LogLibrdkafka(ILogger logger, LogLevel level, string kafkaClient, string facility, string kafkaMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for {Server}: {Detail}")]
    private partial void LogWaiting(string server, string detail);
}
