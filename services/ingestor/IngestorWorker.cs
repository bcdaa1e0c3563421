using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Ingest;
using StackExchange.Redis;
using StreamPosition = Puffy.Streaming.Kafka.Streams.StreamPosition;

namespace Puffy.Streaming.Ingestor;

/// <summary>
/// Replays the CSV files onto the raw topic at the configured speed, then exits. Rows are keyed by client id; every
/// raw partition gets watermarks, a file-end mark per file and a flush mark at the end, so the validator can merge the
/// partitions back into this exact order. A file is known by its content (SHA-256 and size), not its name, and is
/// checkpointed in Redis once all its rows are acknowledged: a later or restarted replay skips content it has sent
/// (under any name), and the validator ignores rows of a half-sent file it has seen already. New content under a name
/// already sent is sent as a file of its own (<see cref="FileContent.ChangedName"/>) after a <c>file.changed</c>
/// metric. A file that cannot be read is reported (<c>file.unreadable</c>) and never checkpointed, so the next replay
/// tries it again.
/// </summary>
public sealed partial class IngestorWorker(
    ServiceClients clients, IOptions<IngestorOptions> options, IHostApplicationLifetime lifetime, ILogger<IngestorWorker> log)
    : StreamWorker(lifetime, log)
{
    private readonly IHostApplicationLifetime _lifetime = lifetime;

    /// <summary>A content sent completely: the name it was listed under, the name its rows carried, its rows.</summary>
    private sealed record FileCheckpoint(string Name, string Source, long Rows, DateTime StreamTime);

    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var speed = ReplaySpeed.Parse(o.Speed);
        if (!Directory.Exists(o.Data))
            throw new DirectoryNotFoundException($"the data folder {Path.GetFullPath(o.Data)} does not exist");
        var files = Directory.GetFiles(o.Data, "*.csv").OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        var codec = await clients.CodecAsync(stoppingToken);
        await clients.EnsureTopicsAsync(stoppingToken);
        var redis = await clients.RedisAsync(stoppingToken);
        RedisKey done = clients.Redis.KeyPrefix + ":ingestor:contents";
        using var producer = clients.Producer(codec, "ingestor");

        var gates = clients.Gates(producer, (ConsumerGroups.Validator, Topics.RawEvents));
        var core = new IngestorCore { OnMetric = m => producer.Send(Topics.Metrics, "ingestor", m), MaxRowBytes = options.Value.MaxRowBytes };
        var checkpoints = (await redis.HashGetAllAsync(done)).ToDictionary(
            e => (string)e.Name!, e => JsonSerializer.Deserialize<FileCheckpoint>((string)e.Value!)!, StringComparer.Ordinal);
        // The last content sent under each name, to recognise new content under it.
        var byName = new Dictionary<string, FileCheckpoint>(StringComparer.Ordinal);
        foreach (var c in checkpoints.Values.OrderBy(c => c.StreamTime))
            byName[c.Name] = c;
        if (checkpoints.Count > 0)
            core.ResumeAt(checkpoints.Values.Max(c => c.StreamTime));
        var speedText = speed.ToString();
        var replayId = o.ReplayId ?? string.Empty;
        producer.ReplayId = replayId;
        LogStarting(replayId, files.Count, o.Data, speedText, checkpoints.Count);

        var clock = Stopwatch.StartNew();
        var sinceMark = Stopwatch.StartNew();
        var sinceHeartbeat = Stopwatch.StartNew();
        DateTime? replayStart = null;
        var last = StreamPosition.Min;
        long sent = 0;
        int filesSent = 0, filesSkipped = 0, filesFailed = 0;
        foreach (var path in files)
        {
            var name = Path.GetFileName(path);
            byte[] content;
            try
            {
                content = await File.ReadAllBytesAsync(path, stoppingToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not checkpointed: the next replay tries again, and reads it once it can.
                var reason = FileContent.UnreadableReason(path, e);
                LogUnreadable(replayId, name, reason);
                core.ReportUnreadable(name, reason);
                filesFailed++;
                continue;
            }

            var contentId = FileContent.Id(content);
            if (checkpoints.TryGetValue(contentId, out var before))
            {
                LogSkipped(replayId, name, before.Source);
                filesSkipped++;
                continue;
            }

            var source = name;
            if (byName.TryGetValue(name, out var earlier))
            {
                source = FileContent.ChangedName(name, contentId);
                LogChanged(replayId, name, source);
                core.ReportChanged(source, earlier.Source, earlier.Rows);
            }

            long rows = 0;
            var sinceRows = 0;
            foreach (var raw in core.ReadFile(source, content))
            {
                replayStart ??= raw.StreamTime;
                var wait = speed.DelayFor(replayStart.Value, raw.StreamTime, clock.Elapsed);
                if (wait > TimeSpan.Zero)
                {
                    // Send what is ready before pausing, so consumers see the rows on time.
                    producer.Mark(Topics.RawEvents, StreamMarkKind.Watermark, last);
                    await Task.Delay(wait, stoppingToken);
                }

                if (gates.Count > 0)
                    await clients.HoldBackAsync(gates, () => producer.Mark(Topics.RawEvents, StreamMarkKind.Watermark, last), stoppingToken);
                producer.Send(Topics.RawEvents, string.IsNullOrEmpty(raw.ClientId) ? $"{source}:{raw.Line}" : raw.ClientId, raw);
                last = new StreamPosition(raw.StreamTime, raw.SourceFile, raw.Line);
                rows++;
                if (++sinceRows >= o.WatermarkEvery || sinceMark.ElapsedMilliseconds >= 200)
                {
                    producer.Mark(Topics.RawEvents, StreamMarkKind.Watermark, last);
                    sinceRows = 0;
                    sinceMark.Restart();
                }

                if (!speed.IsMax && sinceHeartbeat.Elapsed >= o.HeartbeatInterval)
                {
                    producer.Send(Topics.Metrics, "ingestor", new Metric(null, MetricNames.Heartbeat, string.Empty, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), string.Empty));
                    sinceHeartbeat.Restart();
                }
            }

            producer.Mark(Topics.RawEvents, StreamMarkKind.FileEnd, last, source, EventTime.DayFromFileName(source), rows);
            var checkpoint = new FileCheckpoint(name, source, rows, core.StreamTime);
            await Checkpoint(contentId, checkpoint);
            checkpoints[contentId] = byName[name] = checkpoint;
            sent += rows;
            filesSent++;
            LogFileSent(replayId, source, rows);
        }

        producer.Mark(Topics.RawEvents, StreamMarkKind.Flush, last);
        producer.Flush(stoppingToken);
        var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        LogDone(replayId, filesSent, filesSkipped, filesFailed, sent, clock.Elapsed.TotalSeconds, sent / seconds);
        if (!string.IsNullOrEmpty(o.ReportFile))
        {
            // Written whole, then renamed: a reader never sees half a report.
            var report = JsonSerializer.Serialize(new ReplayReport(replayId, filesSent, filesSkipped, filesFailed, sent));
            await File.WriteAllTextAsync(o.ReportFile + ".tmp", report, stoppingToken);
            File.Move(o.ReportFile + ".tmp", o.ReportFile, overwrite: true);
        }
        foreach (var gate in gates)
            gate.Dispose();
        _lifetime.StopApplication();

        async Task Checkpoint(string contentId, FileCheckpoint checkpoint)
        {
            // Only acknowledged rows count as sent.
            producer.Flush(stoppingToken);
            var json = JsonSerializer.Serialize(checkpoint);
            await Infrastructure.RetryAsync("Storing the file checkpoint in Redis", () => redis.HashSetAsync(done, contentId, json), log, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: replaying {Files} files from {Data} at {Speed} speed ({Done} already sent)")]
    private partial void LogStarting(string replayId, int files, string data, string speed, int done);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: skipping {File}, its content was sent completely before (as {SentAs})")]
    private partial void LogSkipped(string replayId, string file, string sentAs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replay {ReplayId}: {File} holds new content under a name already sent; sending it as {Source}")]
    private partial void LogChanged(string replayId, string file, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replay {ReplayId}: cannot read {File}: {Error}")]
    private partial void LogUnreadable(string replayId, string file, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: sent {File} ({Rows} rows)")]
    private partial void LogFileSent(string replayId, string file, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: {FilesSent} files sent, {FilesSkipped} skipped, {FilesFailed} failed; {Rows} rows in {Seconds:0.0} s ({RowsPerSecond:0} rows/s)")]
    private partial void LogDone(string replayId, int filesSent, int filesSkipped, int filesFailed, long rows, double seconds, double rowsPerSecond);
}
