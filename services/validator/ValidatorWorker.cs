using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Logging;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.Redis;
using Core = Puffy.Streaming.Pipeline.Validation.ValidatorOptions;

namespace Puffy.Streaming.Validator;

/// <summary>
/// Raw rows → valid events and dead letters. The raw topic's partitions are merged back into the ingestor's order, so
/// the core sees exactly the sequence an embedded run sees and decides exactly the same. Valid events leave in (event
/// time, event id) order, keyed by client, with watermarks on every partition for the sessionizer's merge.
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
        var store = new ValidatorStore(await clients.RedisAsync(stoppingToken), clients.Redis.KeyPrefix + ":validator");
        using var producer = clients.Producer(codec, "validator");
        var partitions = producer.PartitionsOf(Topics.RawEvents);
        using var consumer = new OrderedTopicConsumer<RawEvent>(clients.Consumer(options.Value.GroupId), Topics.RawEvents, partitions,
            raw => new StreamPosition(raw.StreamTime, raw.SourceFile, raw.Line), producer, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = clients.Streams.StallWarning };

        // What changed since the last checkpoint; stored with it, then cleared.
        var newIds = new List<(UInt128 Id, DateTime Time)>();
        var newTransactions = new List<AcceptedTransaction>();
        var newSeen = new List<(string File, long Line, DateTime StreamTime)>();
        var entered = new Dictionary<(string File, long Line), RawEvent>();
        var released = new HashSet<(string File, long Line)>();
        // Rows in the core's reorder buffer: stored when they enter it, deleted when decided.
        var inBuffer = new HashSet<(string File, long Line)>();
        (string File, long Line)? accepting = null;
        var acceptedDecided = false;
        void Decided(string file, long line)
        {
            if (accepting is { } a && a.Line == line && a.File == file)
                acceptedDecided = true;
            if (inBuffer.Remove((file, line)) && entered.Remove((file, line)) is false)
                released.Add((file, line));
        }

        var output = StreamPosition.Min;
        StreamPosition? writtenUpTo = null;
        long valid = 0, dead = 0;
        var gates = clients.Gates(producer, (ConsumerGroups.Sessionizer, Topics.ValidEvents), (ConsumerGroups.Monitor, Topics.DeadLetters));

        // Dense input leaves the reorder buffer in bursts (a lateness window's worth at once, 120,000 events in the dense
        // test): back-pressure is applied within a burst too, or one poll could outrun what the broker keeps per partition.
        var sentSinceCheck = 0;
        void Paced()
        {
            if (++sentSinceCheck < 500)
                return;
            sentSinceCheck = 0;
            clients.HoldBackAsync(gates, static () => { }, stoppingToken).GetAwaiter().GetResult();
        }

        var core = new ValidatorCore(new Core { AllowedLateness = options.Value.AllowedLateness, DedupWindow = options.Value.DedupWindow })
        {
            OnValid = ev =>
            {
                output = new StreamPosition(ev.Timestamp, ev.EventId, 0);
                // After a restart, the events decided again up to where the topic already holds them are not sent twice:
                // a late duplicate could reach the sessionizer after it forgot the client.
                if (writtenUpTo is not { } upTo || output > upTo)
                {
                    producer.Send(Topics.ValidEvents, ev.ClientId, ev);
                    Paced();
                }

                valid++;
                newIds.Add((UInt128.Parse(ev.EventId, NumberStyles.HexNumber, CultureInfo.InvariantCulture), ev.Timestamp));
                if (ev.TransactionId is { } tx)
                    newTransactions.Add(new AcceptedTransaction(tx, ev.Timestamp, ev.EventId));
                Decided(ev.SourceFile, ev.Line);
            },
            OnDeadLetter = dl =>
            {
                producer.Send(Topics.DeadLetters, dl.ClientId ?? dl.SourceFile, dl);
                Paced();
                dead++;
                Decided(dl.SourceFile, dl.Line);
            },
            OnMetric = m => producer.Send(Topics.Metrics, "validator", m),
        };

        // A restarted ingestor may send a file again; a row is identified by (file, line) and handled once.
        var seen = new SeenRows(options.Value.DedupWindow);
        // Which partitions delivered a file's end (or the flush): a redelivered mark counts once.
        var fileEnds = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        var flushes = new HashSet<int>();

        var restored = await Infrastructure.RetryAsync("Loading the checkpoint from Redis", store.LoadAsync, log, stoppingToken);
        if (restored.State is { } state)
        {
            core.Restore(state.StreamTime, restored.Ids, restored.Transactions, state.Files, restored.Buffered);
            foreach (var (file, from) in state.FileEndsFrom)
                fileEnds[file] = [.. from];
            flushes.UnionWith(state.FlushesFrom);
        }

        foreach (var (file, line, streamTime) in restored.SeenRows)
            seen.Add(file, line, streamTime);
        foreach (var raw in restored.Buffered)
            inBuffer.Add((raw.SourceFile, raw.Line));
        LogRestored(core.RememberedIds, core.Buffered, restored.State?.Files.Count ?? 0, seen.Rows);
        if (restored.State is not null)
        {
            writtenUpTo = TopicTail.WrittenUpTo<ValidEvent>(clients.Consumer(options.Value.GroupId + "-tail"), Topics.ValidEvents,
                producer.PartitionsOf(Topics.ValidEvents), codec, ev => new StreamPosition(ev.Timestamp, ev.EventId, 0), streams.StartupTimeout);
            if (writtenUpTo is { } upTo)
                LogWrittenUpTo(upTo.Time, upTo.Tie);
        }

        consumer.Start(streams.StartupTimeout);

        long skipped = 0;
        var checkpoint = Stopwatch.StartNew();
        var marked = Stopwatch.StartNew();
        var lastMark = StreamPosition.Min;
        LogStarted(partitions);
        while (!stoppingToken.IsCancellationRequested)
        {
            // The replay the input comes from names every line logged for it and travels on with the outputs.
            using var replay = PuffyLogging.Replay(consumer.ReplayId);
            producer.ReplayId = consumer.ReplayId;
            await clients.HoldBackAsync(gates, () =>
            {
                lastMark = Later(output, new StreamPosition(core.Watermark, string.Empty, long.MinValue));
                producer.Mark(Topics.ValidEvents, StreamMarkKind.Watermark, lastMark);
            }, stoppingToken);
            foreach (var m in consumer.Poll(TimeSpan.FromMilliseconds(100), streams.PollBatch, stoppingToken))
            {
                if (m.Record is { } raw)
                {
                    if (!seen.Add(raw.SourceFile, raw.Line, raw.StreamTime))
                    {
                        skipped++;
                        continue;
                    }

                    newSeen.Add((raw.SourceFile, raw.Line, raw.StreamTime));
                    accepting = (raw.SourceFile, raw.Line);
                    acceptedDecided = false;
                    core.Accept(raw);
                    accepting = null;
                    if (!acceptedDecided)
                    {
                        inBuffer.Add((raw.SourceFile, raw.Line));
                        entered[(raw.SourceFile, raw.Line)] = raw;
                    }
                }
                else if (m.Mark is { Kind: StreamMarkKind.FileEnd, File: { } file } fileEnd)
                {
                    if (!fileEnds.TryGetValue(file, out var from))
                        fileEnds[file] = from = [];
                    from.Add(m.Partition);
                    if (from.Count < fileEnd.Partitions)
                        continue;
                    fileEnds.Remove(file);
                    core.EndOfFile(file, fileEnd.FileDay);
                    LogFileRead(file, fileEnd.Rows);
                }
                else if (m.Mark is { Kind: StreamMarkKind.Flush } flush && flushes.Add(m.Partition) && flushes.Count >= flush.Partitions)
                {
                    flushes.Clear();
                    core.Flush();
                    producer.Mark(Topics.ValidEvents, StreamMarkKind.Flush, output);
                    lastMark = output;
                    LogFlushed(valid, dead, skipped);
                }
            }

            // Every later valid event is at or after the watermark, so each output partition may move up to it.
            var progress = Later(output, new StreamPosition(core.Watermark, string.Empty, long.MinValue));
            if (progress > lastMark && marked.Elapsed >= streams.WatermarkInterval)
            {
                producer.Mark(Topics.ValidEvents, StreamMarkKind.Watermark, progress);
                lastMark = progress;
                marked.Restart();
            }

            if (checkpoint.Elapsed >= streams.CheckpointInterval)
            {
                await Checkpoint();
                checkpoint.Restart();
            }
        }

        await Checkpoint();
        foreach (var gate in gates)
            gate.Dispose();

        // Outputs first, then the state that produced them, then the input offsets: a crash in between redelivers input
        // whose rows the stored state already holds (skipped as seen) or that no state reflects (decided again, alike).
        async Task Checkpoint()
        {
            producer.Flush(CancellationToken.None);
            var horizon = core.Watermark == DateTime.MinValue ? (DateOnly?)null
                : DateOnly.FromDateTime(core.Watermark - options.Value.DedupWindow).AddDays(-1);
            var changes = new ValidatorCheckpoint(
                new ValidatorState(core.StreamTime, core.OpenFiles(), fileEnds.ToDictionary(f => f.Key, f => f.Value.ToArray(), StringComparer.Ordinal), [.. flushes]),
                newIds, newTransactions, newSeen, entered.Values, released, horizon);
            await Infrastructure.RetryAsync("Storing the checkpoint in Redis", () => store.SaveAsync(changes), log, stoppingToken);
            newIds.Clear();
            newTransactions.Clear();
            newSeen.Clear();
            entered.Clear();
            released.Clear();
            consumer.Commit();
        }
    }

    private static StreamPosition Later(StreamPosition a, StreamPosition b) => a >= b ? a : b;

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Ids} remembered event ids, {Buffered} rows of the reorder buffer, {Files} open files and {Rows} handled rows")]
    private partial void LogRestored(int ids, int buffered, int files, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Valid events up to {Time:O} ({EventId}) are in the topic already: deciding them again sends them no second time")]
    private partial void LogWrittenUpTo(DateTime time, string eventId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Validating {Partitions} raw partitions")]
    private partial void LogStarted(int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Read {File} ({Rows} rows)")]
    private partial void LogFileRead(string file, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay flushed: {Valid} valid, {DeadLettered} dead-lettered, {Skipped} rows seen twice skipped so far")]
    private partial void LogFlushed(long valid, long deadLettered, long skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}
