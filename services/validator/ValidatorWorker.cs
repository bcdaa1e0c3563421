using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;
using IDatabase = StackExchange.Redis.IDatabase;
using Core = Puffy.Streaming.Pipeline.Validation.ValidatorOptions;

namespace Puffy.Streaming.Validator;

/// <summary>
/// Raw rows → valid events, dead letters and per-file metrics. Partition-parallel: a client's rows all arrive on one
/// partition of the raw topic, so each partition is validated on its own (<see cref="ValidatorPartition"/>) by whichever
/// instance of the consumer group owns it, and its valid events go to the same partition of the valid-events topic, in
/// (event time, event id) order with watermarks. The one decision that crosses clients, <c>duplicate_transaction_id</c>,
/// goes through the transaction ledger in Redis (<see cref="RedisTransactionLedger"/>): after each poll every partition
/// publishes its new purchases and watermark, the instance reads the lowest watermark over all partitions, and purchases
/// before it are decided. File metrics are sent per partition (<c>validator#p/P</c>) for the monitor to sum.
/// </summary>
public sealed partial class ValidatorWorker(
    ServiceClients clients, IOptions<ValidatorOptions> options, IHostApplicationLifetime lifetime, ILogger<ValidatorWorker> log)
    : StreamWorker(lifetime, log)
{
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var streams = clients.Streams;
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        var redis = await clients.RedisAsync(stoppingToken);
        var prefix = clients.Redis.KeyPrefix + ":validator";
        using var producer = clients.Producer(codec, "validator");
        var partitions = StagePartitions.Matching(producer, Topics.RawEvents, Topics.ValidEvents);
        var ledger = new RedisTransactionLedger(redis, prefix, partitions, options.Value.DedupWindow);
        var gates = clients.Gates(producer, (ConsumerGroups.Sessionizer, Topics.ValidEvents), (ConsumerGroups.Monitor, Topics.DeadLetters));
        // Dense input leaves a reorder buffer in bursts (a lateness window's worth at once, 120,000 events in the dense test):
        // back-pressure is applied within a burst too, or one poll could outrun what the broker keeps per partition.
        var output = new Output(producer, partitions, () => clients.HoldBackAsync(gates, static () => { }, stoppingToken).GetAwaiter().GetResult(), log, stoppingToken);
        using var stream = new PartitionedStream<RawEvent, ValidatorPartition>(
            clients.Consumer(options.Value.GroupId), Topics.RawEvents, raw => new StreamPosition(raw.StreamTime, raw.SourceFile, raw.Line), producer,
            p => output.OpenAsync(p, () => OpenAsync(redis, prefix, p, ledger, codec, output)), output.FlushAsync, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = streams.StallWarning };
        var forget = Stopwatch.StartNew();
        await clients.RunStageAsync(stream, producer, gates, () =>
        {
            foreach (var (_, work) in stream.Works)
                work.MarkProgress();
        }, async () =>
        {
            // Publish what each partition registered, read how far every partition is, decide what that allows.
            var works = stream.Works.Select(w => w.Work).ToList();
            foreach (var work in works)
                await work.PublishAsync();
            await output.RetryAsync("Reading the transaction ledger in Redis", () => ledger.RefreshAsync(works.Select(w => w.Ledger)));
            foreach (var work in works)
            {
                work.Advance();
                // Never a silent stall: a partition whose purchases wait for another partition that does not move says so.
                if (work.WaitingForLedger(streams.StallWarning) is { } waited)
                    LogWaitingForLedger(work.Partition, waited.TotalSeconds, string.Join(", ", ledger.Slowest), ledger.RegisteredThrough);
            }

            if (forget.Elapsed >= TimeSpan.FromMinutes(1))
            {
                forget.Restart();
                await output.RetryAsync("Forgetting old transaction ids in Redis", ledger.ForgetAsync);
            }
        }, stoppingToken);
        foreach (var gate in gates)
            gate.Dispose();
    }

    private async Task<ValidatorPartition> OpenAsync(IDatabase redis, string prefix, int partition, RedisTransactionLedger ledger, MessageCodec codec, Output output)
    {
        var lease = await PartitionLease.AcquireAsync(redis, $"{prefix}:p{partition}");
        var store = new ValidatorStore(redis, $"{prefix}:p{partition}", lease);
        var restored = await store.LoadAsync();
        // After a restart, the events decided again up to where the partition already holds them are not sent twice: a late
        // duplicate could reach the sessionizer after it forgot the client.
        var writtenUpTo = restored.State is null ? null
            : TopicTail.WrittenUpTo<ValidEvent>(clients.Consumer(options.Value.GroupId + "-tail"), Topics.ValidEvents, [partition], codec,
                ev => new StreamPosition(ev.Timestamp, ev.EventId, 0), clients.Streams.StartupTimeout);
        var work = new ValidatorPartition(partition, new Core { AllowedLateness = options.Value.AllowedLateness, DedupWindow = options.Value.DedupWindow },
            store, ledger.For(partition, lease), output, writtenUpTo, log);
        work.Restore(restored);
        LogRestored(partition, lease.Epoch, work.RememberedIds, work.Buffered, restored.State?.Files.Count ?? 0, restored.SeenRows.Count);
        if (writtenUpTo is { } upTo)
            LogWrittenUpTo(partition, upTo.Time, upTo.Tie);
        return work;
    }

    /// <summary>Where every partition's results go: the producer (partition-addressed), with back-pressure inside bursts.</summary>
    internal sealed class Output(StreamProducer producer, int partitions, Action holdBack, ILogger log, CancellationToken stoppingToken)
        : StageOutput(producer, null, log, stoppingToken)
    {
        private int _sentSinceCheck;

        public int Partitions => partitions;

        /// <summary>Counts a message sent; every 500 it waits while downstream is too far behind.</summary>
        public void Paced()
        {
            if (++_sentSinceCheck < 500)
                return;
            _sentSinceCheck = 0;
            holdBack();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: lease epoch {Epoch}; restored {Ids} remembered event ids, {Buffered} rows of the reorder buffer, {Files} open files and {Rows} handled rows")]
    private partial void LogRestored(int partition, long epoch, int ids, int buffered, int files, int rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: valid events up to {Time:O} ({EventId}) are in the topic already: deciding them again sends them no second time")]
    private partial void LogWrittenUpTo(int partition, DateTime time, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stalled for {Seconds:0} s: partition {Partition} waits for the transaction ledger; partition(s) {Slowest} of the raw topic have registered their purchases only through {Through:O} (no owner, or their owner does not move)")]
    private partial void LogWaitingForLedger(int partition, double seconds, string slowest, DateTime through);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}

/// <summary>
/// The validator's work on one partition of the raw topic: the core over that partition's rows (its reorder buffer, its
/// remembered event ids, its share of each file's tallies), the rows already handled (a restarted ingestor sends rows
/// again), and its side of the transaction ledger. A checkpoint stores what changed since the last one; until a replay's
/// flush is finished (it may wait for the other partitions' purchases), the runtime does not commit past it.
/// </summary>
internal sealed partial class ValidatorPartition : IPartitionWork<RawEvent>
{
    private readonly int _partition;
    private readonly ValidatorStore _store;
    private readonly RedisTransactionLedger.Partition _ledger;
    private readonly ValidatorWorker.Output _output;
    private readonly ValidatorCore _core;
    private readonly SeenRows _seen;
    private readonly TimeSpan _dedupWindow;
    private readonly StreamPosition? _writtenUpTo;
    private readonly ILogger _log;
    private readonly Stopwatch _marked = Stopwatch.StartNew();

    // What changed since the last checkpoint; stored with it, then cleared.
    private readonly List<(UInt128 Id, DateTime Time)> _newIds = [];
    private readonly List<(string File, long Line, DateTime StreamTime)> _newSeen = [];
    private readonly Dictionary<(string File, long Line), RawEvent> _entered = [];
    private readonly HashSet<(string File, long Line)> _released = [];
    // Rows in the core's reorder buffer: stored when they enter it, deleted when decided.
    private readonly HashSet<(string File, long Line)> _inBuffer = [];
    private (string File, long Line)? _accepting;
    private bool _acceptedDecided;

    private StreamPosition _progress = StreamPosition.Min;
    private StreamPosition _lastMark = StreamPosition.Min;
    private DateTime? _flushEnd;
    // Files whose metrics this partition sent, newest last: an end mark delivered again after a restart sends nothing.
    private readonly List<string> _completed = [];
    private long _valid;
    private long _dead;
    private long _skipped;

    public ValidatorPartition(
        int partition, Core options, ValidatorStore store, RedisTransactionLedger.Partition ledger, ValidatorWorker.Output output,
        StreamPosition? writtenUpTo, ILogger log)
    {
        _partition = partition;
        _store = store;
        _ledger = ledger;
        _output = output;
        _writtenUpTo = writtenUpTo;
        _log = log;
        _dedupWindow = options.DedupWindow;
        _seen = new SeenRows(options.DedupWindow);
        var producer = output.Producer;
        var metricKey = MetricProducers.OfPartition(MetricProducers.Validator, partition, output.Partitions);
        _core = new ValidatorCore(options, ledger)
        {
            OnValid = ev =>
            {
                _progress = new StreamPosition(ev.Timestamp, ev.EventId, 0);
                if (_writtenUpTo is not { } upTo || _progress > upTo)
                {
                    producer.SendTo(Topics.ValidEvents, partition, ev.ClientId, ev);
                    output.Paced();
                }

                _valid++;
                _newIds.Add((ev.TryGetIdNumber(out var id) ? id : UInt128.Parse(ev.EventId, NumberStyles.HexNumber, CultureInfo.InvariantCulture), ev.Timestamp));
                Decided(ev.SourceFile, ev.Line);
            },
            OnDeadLetter = dl =>
            {
                producer.Send(Topics.DeadLetters, dl.ClientId ?? dl.SourceFile, dl);
                output.Paced();
                _dead++;
                Decided(dl.SourceFile, dl.Line);
            },
            OnMetric = m =>
            {
                producer.Send(Topics.Metrics, metricKey, m);
                if (m.Name == MetricNames.FileComplete)
                {
                    _completed.Add(m.Source);
                    if (_completed.Count > 1000)
                        _completed.RemoveAt(0);
                }
            },
        };
    }

    public RedisTransactionLedger.Partition Ledger => _ledger;

    public int Partition => _partition;

    private readonly Stopwatch _waiting = new();
    private TimeSpan _warnedAt;

    /// <summary>
    /// How long decisions of this partition have been waiting for the ledger (events before its watermark held back behind a
    /// purchase, or a flush not done), when that passed <paramref name="after"/> and again each time as long; otherwise null.
    /// </summary>
    public TimeSpan? WaitingForLedger(TimeSpan after)
    {
        var waiting = _core.Flushing || _core.DecidedThrough < _core.Watermark;
        if (!waiting)
        {
            _waiting.Reset();
            _warnedAt = TimeSpan.Zero;
            return null;
        }

        _waiting.Start();
        if (_waiting.Elapsed - _warnedAt < after)
            return null;
        _warnedAt = _waiting.Elapsed;
        return _waiting.Elapsed;
    }

    public int RememberedIds => _core.RememberedIds;

    public int Buffered => _core.Buffered;

    /// <summary>A replay's flush waiting for the ledger: the flush mark is processed, but its outputs are not all sent yet.</summary>
    public bool MayCommit => _flushEnd is null;

    public void Restore(ValidatorRestore restored)
    {
        if (restored.State is { } state)
            _core.Restore(state.StreamTime, restored.Ids, [], state.Files, restored.Buffered);
        foreach (var (file, line, streamTime) in restored.SeenRows)
            _seen.Add(file, line, streamTime);
        foreach (var raw in restored.Buffered)
            _inBuffer.Add((raw.SourceFile, raw.Line));
        _completed.AddRange(restored.State?.Completed ?? []);
        if (restored.State?.FlushEnd is { } end)
            Flush(end);
    }

    private void Decided(string file, long line)
    {
        if (_accepting is { } a && a.Line == line && a.File == file)
            _acceptedDecided = true;
        if (_inBuffer.Remove((file, line)) && !_entered.Remove((file, line)))
            _released.Add((file, line));
    }

    public void Accept(Merged<RawEvent> m)
    {
        if (m.Record is { } raw)
        {
            // A restarted ingestor may send a file again; a row is identified by (file, line) and handled once.
            if (!_seen.Add(raw.SourceFile, raw.Line, raw.StreamTime))
            {
                _skipped++;
                return;
            }

            _newSeen.Add((raw.SourceFile, raw.Line, raw.StreamTime));
            _accepting = (raw.SourceFile, raw.Line);
            _acceptedDecided = false;
            _core.Accept(raw);
            _accepting = null;
            if (!_acceptedDecided)
            {
                _inBuffer.Add((raw.SourceFile, raw.Line));
                _entered[(raw.SourceFile, raw.Line)] = raw;
            }
        }
        else if (m.Mark is { Kind: StreamMarkKind.Watermark } watermark)
        {
            // The ingestor marks every partition as it goes: an idle partition's watermark moves on too.
            _core.AdvanceTo(watermark.Time);
        }
        else if (m.Mark is { Kind: StreamMarkKind.FileEnd, File: { } file } fileEnd && !_completed.Contains(file, StringComparer.Ordinal))
        {
            _core.EndOfFile(file, fileEnd.FileDay);
            LogFileRead(_partition, file);
        }
        else if (m.Mark is { Kind: StreamMarkKind.Flush } flush)
        {
            _core.AdvanceTo(flush.Time);
            Flush(flush.Time);
        }

        if (_marked.Elapsed >= TimeSpan.FromMilliseconds(200))
            MarkProgress();
    }

    private void Flush(DateTime end)
    {
        _flushEnd = end;
        if (_core.Flush(end))
            Flushed();
    }

    private void Flushed()
    {
        _flushEnd = null;
        _output.Producer.MarkPartition(Topics.ValidEvents, _partition, StreamMarkKind.Flush, _progress);
        _lastMark = _progress;
        LogFlushed(_partition, _valid, _dead, _skipped);
    }

    /// <summary>Decides what the ledger allows now (after a refresh); finishes a flush that waited for it.</summary>
    public void Advance()
    {
        _core.Advance();
        if (_flushEnd is not null && !_core.Flushing)
            Flushed();
    }

    public Task PublishAsync() => _output.RetryAsync("Publishing to the transaction ledger in Redis", async () =>
    {
        try
        {
            await _ledger.PublishAsync();
        }
        catch (PartitionLeaseLostException)
        {
            // Another instance owns the partition now and publishes the same candidates; the next checkpoint here is refused.
        }
    });

    /// <summary>Tells the partition's downstream how far this partition has come: later valid events sort after it.</summary>
    public void MarkProgress()
    {
        _marked.Restart();
        var decided = _core.DecidedThrough;
        var progress = decided == DateTime.MaxValue || decided <= _progress.Time ? _progress : new StreamPosition(decided, string.Empty, long.MinValue);
        if (progress <= _lastMark)
            return;
        _output.Producer.MarkPartition(Topics.ValidEvents, _partition, StreamMarkKind.Watermark, progress);
        _lastMark = progress;
    }

    // The changes are taken once and kept until stored: a retried checkpoint writes the same again.
    private ValidatorCheckpoint? _changes;

    public ResumePoint? Stored => ResumePoint.Parse(_store.StoredResume);

    public async Task<bool> SaveAsync(ResumePoint? resumeAt)
    {
        // Mid-flush nothing is stored (nor committed): a restart flushes again from the checkpoint before it.
        if (_flushEnd is not null)
            return true;
        if (_changes is null)
        {
            var horizon = _core.Watermark == DateTime.MinValue ? (DateOnly?)null : DateOnly.FromDateTime(_core.Watermark - _dedupWindow).AddDays(-1);
            _changes = new ValidatorCheckpoint(new ValidatorState(_core.StreamTime, _core.OpenFiles(), _flushEnd, [.. _completed]),
                [.. _newIds], [.. _newSeen], [.. _entered.Values], [.. _released], horizon);
            _newIds.Clear();
            _newSeen.Clear();
            _entered.Clear();
            _released.Clear();
        }

        try
        {
            await _output.RetryAsync("Storing the checkpoint in Redis", () => _store.SaveAsync(_changes, resumeAt?.ToText()));
        }
        catch (PartitionLeaseLostException)
        {
            return false;
        }

        _changes = null;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Partition {Partition}: read its rows of {File}")]
    private partial void LogFileRead(int partition, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: replay flushed, {Valid} valid, {DeadLettered} dead-lettered, {Skipped} rows seen twice skipped since it was assigned")]
    private partial void LogFlushed(int partition, long valid, long deadLettered, long skipped);
}
