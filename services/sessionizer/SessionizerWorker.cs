using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Redis;
using IDatabase = StackExchange.Redis.IDatabase;
using Core = Puffy.Streaming.Pipeline.Sessions.SessionizerOptions;

namespace Puffy.Streaming.Sessionizer;

/// <summary>
/// Valid events → sessionized events, closed sessions and day metrics; events and sessions are also written to
/// ClickHouse. Partition-parallel: a client's events all arrive on one partition of the valid-events topic, so each
/// partition is sessionized on its own (<see cref="SessionizerPartition"/>), by whichever instance of the consumer group
/// owns it, and what it derives goes to the same partition of the sessionized-events topic. The runtime
/// (<see cref="PartitionedStream{T, TWork}"/>) checkpoints: outputs flushed, each partition's changed client states and
/// day tallies stored in Redis (one transaction, under the partition's lease), then the input committed.
/// </summary>
public sealed partial class SessionizerWorker(
    ServiceClients clients, IOptions<SessionizerOptions> options, IHostApplicationLifetime lifetime, ILogger<SessionizerWorker> log)
    : StreamWorker(lifetime, log)
{
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var streams = clients.Streams;
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        var redis = await clients.RedisAsync(stoppingToken);
        var prefix = clients.Redis.KeyPrefix + ":sessionizer";
        using var clickHouse = await clients.ClickHouseAsync(stoppingToken);
        var writer = new ClickHouseWriter(clickHouse, batchSize: 20_000);
        using var producer = clients.Producer(codec, "sessionizer");
        var partitions = StagePartitions.Matching(producer, Topics.ValidEvents, Topics.SessionizedEvents);
        var output = new Output(producer, writer, partitions, log, stoppingToken);
        var gates = clients.Gates(producer, (ConsumerGroups.Attribution, Topics.SessionizedEvents), (ConsumerGroups.Monitor, Topics.Sessions));
        using var stream = new PartitionedStream<ValidEvent, SessionizerPartition>(
            clients.Consumer(options.Value.GroupId), Topics.ValidEvents, ev => new StreamPosition(ev.Timestamp, ev.EventId, 0), producer,
            p => output.OpenAsync(p, () => OpenAsync(redis, prefix, p, output)), output.FlushAsync, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = streams.StallWarning, InputInOrder = true };
        await clients.RunStageAsync(stream, producer, gates, () =>
        {
            // Downstream can go on with everything sent so far while this stage waits for it.
            foreach (var (_, work) in stream.Works)
                work.MarkProgress();
        }, output.WriteAsync, stoppingToken);
        foreach (var gate in gates)
            gate.Dispose();
    }

    private async Task<SessionizerPartition> OpenAsync(IDatabase redis, string prefix, int partition, Output output)
    {
        var lease = await PartitionLease.AcquireAsync(redis, $"{prefix}:p{partition}");
        var store = new SessionStore(redis, $"{prefix}:p{partition}", lease);
        var work = new SessionizerPartition(partition, options.Value.SessionGap, store, output, log);
        var days = await store.LoadDaysAsync();
        var states = await store.LoadAllAsync();
        work.Restore(days, states);
        LogRestored(partition, lease.Epoch, states.Count, work.OpenSessions, days.Count);
        return work;
    }

    /// <summary>Where every partition's results go: the producer (partition-addressed) and the ClickHouse rows to write.</summary>
    internal sealed class Output : StageOutput
    {
        private readonly PendingRows<SessionizedEvent> _events;
        private readonly PendingRows<Session> _sessions;

        public Output(StreamProducer producer, ClickHouseWriter writer, int partitions, ILogger log, CancellationToken stoppingToken)
            : base(producer, writer, log, stoppingToken)
        {
            Partitions = partitions;
            _events = new(e => writer.AddAsync(e, CancellationToken.None));
            _sessions = new(s => writer.AddAsync(s, CancellationToken.None));
        }

        public int Partitions { get; }

        public void Add(SessionizedEvent e) => _events.Add(e);

        public void Add(Session s) => _sessions.Add(s);

        protected override async Task WriteRowsAsync()
        {
            await _events.DrainAsync();
            await _sessions.DrainAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: lease epoch {Epoch}; restored {Clients} client states ({OpenSessions} open sessions) and {Days} day tallies")]
    private partial void LogRestored(int partition, long epoch, int clients, int openSessions, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}

/// <summary>
/// The sessionizer's work on one partition of the valid events: the core over that partition's clients, its watermarks
/// (the validator writes them to every partition), its day tallies. Sessionized events and marks go to the same partition
/// of the sessionized-events topic; day metrics are keyed <c>sessionizer#p/P</c>, with
/// <see cref="MetricNames.DaysCompleteThrough"/> as the partition's days complete, for the monitor to sum.
/// </summary>
internal sealed partial class SessionizerPartition : IPartitionWork<ValidEvent>
{
    private readonly int _partition;
    private readonly SessionStore _store;
    private readonly SessionizerWorker.Output _output;
    private readonly SessionizerCore _core;
    private readonly string _metricKey;
    private StreamPosition _progress = StreamPosition.Min;
    private StreamPosition _lastMark = StreamPosition.Min;
    private DateOnly? _completeThrough;
    private readonly System.Diagnostics.Stopwatch _marked = System.Diagnostics.Stopwatch.StartNew();
    private readonly ILogger _log;
    private long _events;
    private long _sessions;

    public SessionizerPartition(int partition, TimeSpan sessionGap, SessionStore store, SessionizerWorker.Output output, ILogger log)
    {
        _partition = partition;
        _log = log;
        _store = store;
        _output = output;
        _metricKey = MetricProducers.OfPartition(MetricProducers.Sessionizer, partition, output.Partitions);
        var producer = output.Producer;
        _core = new SessionizerCore(new Core { SessionGap = sessionGap })
        {
            TrackChanges = true,
            OnEvent = se =>
            {
                producer.SendTo(Topics.SessionizedEvents, partition, se.Event.ClientId, se);
                output.Add(se);
                _events++;
            },
            OnSessionClosed = s =>
            {
                producer.Send(Topics.Sessions, s.ClientId, s);
                output.Add(s);
                _sessions++;
            },
            OnMetric = m => producer.Send(Topics.Metrics, _metricKey, m),
        };
    }

    public int OpenSessions => _core.OpenSessions;

    public void Restore(IReadOnlyList<DayState> days, IReadOnlyList<ClientState> states)
    {
        _core.RestoreDays(days);
        _core.Restore(states);
    }

    public void Accept(Merged<ValidEvent> m)
    {
        if (m.Record is { } ev)
        {
            _core.Accept(ev);
        }
        else if (m.Mark is { Kind: StreamMarkKind.Watermark } watermark)
        {
            // Nothing earlier can come on this partition: its sessions a full gap behind are over.
            _core.AdvanceTo(watermark.Time);
        }
        else if (m.Mark is { Kind: StreamMarkKind.Flush })
        {
            _core.Flush();
            _output.Producer.MarkPartition(Topics.SessionizedEvents, _partition, StreamMarkKind.Flush, m.Position);
            _lastMark = m.Position;
            LogFlushed(_partition, _events, _sessions);
        }

        if (m.Position > _progress && m.Position != StreamPosition.Max)
            _progress = m.Position;
        if (_core.CompleteThrough is { } through && through != _completeThrough)
        {
            _completeThrough = through;
            _output.Producer.Send(Topics.Metrics, _metricKey, new Metric(through, MetricNames.DaysCompleteThrough, string.Empty, 0, string.Empty));
        }

        // Sessionized events leave in input order: later ones sort after what was consumed so far.
        if (_marked.Elapsed >= TimeSpan.FromMilliseconds(200))
            MarkProgress();
    }

    /// <summary>Tells the partition's downstream how far this partition has come.</summary>
    public void MarkProgress()
    {
        _marked.Restart();
        if (_progress <= _lastMark)
            return;
        _output.Producer.MarkPartition(Topics.SessionizedEvents, _partition, StreamMarkKind.Watermark, _progress);
        _lastMark = _progress;
    }

    // The changes are taken once and kept until stored: a retried checkpoint writes the same states again.
    private IReadOnlyList<ClientState>? _clients;
    private IReadOnlyList<DayState>? _days;

    public ResumePoint? Stored => ResumePoint.Parse(_store.StoredResume);

    public async Task<bool> SaveAsync(ResumePoint? resumeAt)
    {
        _clients ??= _core.TakeChanges();
        _days ??= _core.TakeDayChanges();
        try
        {
            await _output.RetryAsync("Storing the checkpoint in Redis", () => _store.SaveAsync(_clients, _days, resumeAt?.ToText()));
        }
        catch (PartitionLeaseLostException)
        {
            return false;
        }

        _clients = null;
        _days = null;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: replay flushed, {Events} events sessionized and {Sessions} sessions closed since it was assigned")]
    private partial void LogFlushed(int partition, long events, long sessions);
}
