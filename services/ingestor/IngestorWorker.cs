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
/// partitions back into this exact order. A file is checkpointed in Redis once all its rows are acknowledged: a
/// restarted replay skips finished files, and the validator ignores rows of a half-sent file it has seen already.
/// </summary>
public sealed partial class IngestorWorker(
    ServiceClients clients, IOptions<IngestorOptions> options, IHostApplicationLifetime lifetime, ILogger<IngestorWorker> log)
    : StreamWorker(lifetime, log)
{
    private readonly IHostApplicationLifetime _lifetime = lifetime;

    private sealed record FileCheckpoint(long Rows, DateTime StreamTime);

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
        RedisKey done = clients.Redis.KeyPrefix + ":ingestor:files";
        using var producer = clients.Producer(codec, "ingestor");

        var gates = clients.Gates(producer, (ConsumerGroups.Validator, Topics.RawEvents));
        var core = new IngestorCore { OnMetric = m => producer.Send(Topics.Metrics, "ingestor", m), MaxRowBytes = options.Value.MaxRowBytes };
        var checkpoints = (await redis.HashGetAllAsync(done)).ToDictionary(
            e => (string)e.Name!, e => JsonSerializer.Deserialize<FileCheckpoint>((string)e.Value!)!, StringComparer.Ordinal);
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
            if (checkpoints.ContainsKey(name))
            {
                LogSkipped(replayId, name);
                filesSkipped++;
                continue;
            }

            byte[] content;
            try
            {
                content = await File.ReadAllBytesAsync(path, stoppingToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogUnreadable(replayId, name, e.Message);
                core.ReportUnreadable(name, e.Message);
                await Checkpoint(name, 0);
                filesFailed++;
                continue;
            }

            long rows = 0;
            var sinceRows = 0;
            foreach (var raw in core.ReadFile(name, content))
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
                producer.Send(Topics.RawEvents, string.IsNullOrEmpty(raw.ClientId) ? $"{name}:{raw.Line}" : raw.ClientId, raw);
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

            producer.Mark(Topics.RawEvents, StreamMarkKind.FileEnd, last, name, EventTime.DayFromFileName(name), rows);
            await Checkpoint(name, rows);
            sent += rows;
            filesSent++;
            LogFileSent(replayId, name, rows);
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

        async Task Checkpoint(string file, long rows)
        {
            // Only acknowledged rows count as sent.
            producer.Flush(stoppingToken);
            var checkpoint = JsonSerializer.Serialize(new FileCheckpoint(rows, core.StreamTime));
            await Infrastructure.RetryAsync("Storing the file checkpoint in Redis", () => redis.HashSetAsync(done, file, checkpoint), log, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: replaying {Files} files from {Data} at {Speed} speed ({Done} already sent)")]
    private partial void LogStarting(string replayId, int files, string data, string speed, int done);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: skipping {File}, sent completely by an earlier run")]
    private partial void LogSkipped(string replayId, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replay {ReplayId}: cannot read {File}: {Error}")]
    private partial void LogUnreadable(string replayId, string file, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: sent {File} ({Rows} rows)")]
    private partial void LogFileSent(string replayId, string file, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay {ReplayId}: {FilesSent} files sent, {FilesSkipped} skipped, {FilesFailed} failed; {Rows} rows in {Seconds:0.0} s ({RowsPerSecond:0} rows/s)")]
    private partial void LogDone(string replayId, int filesSent, int filesSkipped, int filesFailed, long rows, double seconds, double rowsPerSecond);
}
