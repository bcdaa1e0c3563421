using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Logging;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Validation;
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
        using var producer = clients.Producer(codec, "validator");
        var partitions = producer.PartitionsOf(Topics.RawEvents);
        using var consumer = new OrderedTopicConsumer<RawEvent>(clients.Consumer(options.Value.GroupId), Topics.RawEvents, partitions,
            raw => new StreamPosition(raw.StreamTime, raw.SourceFile, raw.Line), producer, line => LogKafka(line), line => LogProgress(line));
        consumer.Start(streams.StartupTimeout);

        // Rows still in the core's reorder buffer: their offsets must not be committed before they are decided.
        var undecided = new Dictionary<(string File, long Line), (int Partition, long Offset)>();
        var lowestUndecided = new SortedSet<(long Offset, string File, long Line)>[partitions];
        for (var p = 0; p < partitions; p++)
            lowestUndecided[p] = [];
        void Decided(string file, long line)
        {
            if (undecided.Remove((file, line), out var at))
                lowestUndecided[at.Partition].Remove((at.Offset, file, line));
        }

        var output = StreamPosition.Min;
        long valid = 0, dead = 0;
        var core = new ValidatorCore(new Core { AllowedLateness = options.Value.AllowedLateness, DedupWindow = options.Value.DedupWindow })
        {
            OnValid = ev =>
            {
                producer.Send(Topics.ValidEvents, ev.ClientId, ev);
                output = new StreamPosition(ev.Timestamp, ev.EventId, 0);
                valid++;
                Decided(ev.SourceFile, ev.Line);
            },
            OnDeadLetter = dl =>
            {
                producer.Send(Topics.DeadLetters, dl.ClientId ?? dl.SourceFile, dl);
                dead++;
                Decided(dl.SourceFile, dl.Line);
            },
            OnMetric = m => producer.Send(Topics.Metrics, "validator", m),
        };

        // A restarted ingestor may send a file again; a row is identified by (file, line) and handled once.
        var seen = new SeenRows(options.Value.DedupWindow);
        var fileEnds = new Dictionary<string, int>(StringComparer.Ordinal);
        var flushes = 0;
        long skipped = 0;
        var checkpoint = Stopwatch.StartNew();
        var marked = Stopwatch.StartNew();
        var lastMark = StreamPosition.Min;
        var gates = clients.Gates(producer, (ConsumerGroups.Sessionizer, Topics.ValidEvents), (ConsumerGroups.Monitor, Topics.DeadLetters));
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

                    undecided[(raw.SourceFile, raw.Line)] = (m.Partition, m.Offset);
                    lowestUndecided[m.Partition].Add((m.Offset, raw.SourceFile, raw.Line));
                    core.Accept(raw);
                }
                else if (m.Mark is { Kind: StreamMarkKind.FileEnd, File: { } file } fileEnd)
                {
                    fileEnds[file] = fileEnds.GetValueOrDefault(file) + 1;
                    if (fileEnds[file] < fileEnd.Partitions)
                        continue;
                    fileEnds.Remove(file);
                    core.EndOfFile(file, fileEnd.FileDay);
                    LogFileRead(file, fileEnd.Rows);
                }
                else if (m.Mark is { Kind: StreamMarkKind.Flush } flush && ++flushes >= flush.Partitions)
                {
                    flushes = 0;
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
                producer.Flush(stoppingToken);
                consumer.Commit(p => lowestUndecided[p].Count > 0 ? lowestUndecided[p].Min.Offset : null);
                checkpoint.Restart();
            }
        }

        producer.Flush(CancellationToken.None);
        consumer.Commit(p => lowestUndecided[p].Count > 0 ? lowestUndecided[p].Min.Offset : null);
        foreach (var gate in gates)
            gate.Dispose();
    }

    private static StreamPosition Later(StreamPosition a, StreamPosition b) => a >= b ? a : b;

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
