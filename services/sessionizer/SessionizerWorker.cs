using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Logging;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Redis;
using Core = Puffy.Streaming.Pipeline.Sessions.SessionizerOptions;

namespace Puffy.Streaming.Sessionizer;

/// <summary>
/// Valid events → sessionized events, closed sessions and day metrics; events and sessions are also written to
/// ClickHouse. Per-client state lives in the core between checkpoints; a checkpoint flushes Kafka and ClickHouse,
/// stores the changed client states and day tallies in Redis (one transaction), then commits the input. After a crash
/// the state of the last checkpoint is loaded and the input after it is delivered again; events the stored state
/// already contains are recognised and not applied twice.
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
        var store = new SessionStore(await clients.RedisAsync(stoppingToken), clients.Redis.KeyPrefix + ":sessionizer");
        using var clickHouse = await clients.ClickHouseAsync(stoppingToken);
        var writer = new ClickHouseWriter(clickHouse, batchSize: 20_000);
        using var producer = clients.Producer(codec, "sessionizer");
        var partitions = producer.PartitionsOf(Topics.ValidEvents);
        using var consumer = new OrderedTopicConsumer<ValidEvent>(clients.Consumer(options.Value.GroupId), Topics.ValidEvents, partitions,
            ev => new StreamPosition(ev.Timestamp, ev.EventId, 0), producer, line => LogKafka(line), line => LogProgress(line))
            { StallWarningAfter = clients.Streams.StallWarning };

        // The writer is not re-entrant: the core's callbacks collect, the loop writes after each batch.
        var newEvents = new List<SessionizedEvent>();
        var newSessions = new List<Session>();

        // A row is in the writer once added, even when the batch flush it triggered failed: a retry goes on after it.
        var eventsWritten = 0;
        var sessionsWritten = 0;
        long events = 0, sessions = 0;
        var core = new SessionizerCore(new Core { SessionGap = options.Value.SessionGap })
        {
            TrackChanges = true,
            OnEvent = se =>
            {
                producer.Send(Topics.SessionizedEvents, se.Event.ClientId, se);
                newEvents.Add(se);
                events++;
            },
            OnSessionClosed = s =>
            {
                producer.Send(Topics.Sessions, s.ClientId, s);
                newSessions.Add(s);
                sessions++;
            },
            OnMetric = m => producer.Send(Topics.Metrics, "sessionizer", m),
        };
        var days = await store.LoadDaysAsync();
        var states = await store.LoadAllAsync();
        core.RestoreDays(days);
        core.Restore(states);
        LogRestored(states.Count, core.OpenSessions, days.Count);
        consumer.Start(streams.StartupTimeout);

        var flushes = 0;
        var progress = StreamPosition.Min;
        var lastMark = StreamPosition.Min;
        var checkpoint = Stopwatch.StartNew();
        var marked = Stopwatch.StartNew();
        var gates = clients.Gates(producer, (ConsumerGroups.Attribution, Topics.SessionizedEvents), (ConsumerGroups.Monitor, Topics.Sessions));
        while (!stoppingToken.IsCancellationRequested)
        {
            // The replay the input comes from names every line logged for it and travels on with the outputs.
            using var replay = PuffyLogging.Replay(consumer.ReplayId);
            producer.ReplayId = consumer.ReplayId;
            await clients.HoldBackAsync(gates, () =>
            {
                producer.Mark(Topics.SessionizedEvents, StreamMarkKind.Watermark, progress);
                lastMark = progress;
            }, stoppingToken);
            foreach (var m in consumer.Poll(TimeSpan.FromMilliseconds(100), streams.PollBatch, stoppingToken))
            {
                if (m.Record is { } ev)
                {
                    core.Accept(ev);
                }
                else if (m.Mark is { Kind: StreamMarkKind.Watermark } watermark)
                {
                    // Nothing earlier can come on any partition: sessions a full gap behind it are over.
                    core.AdvanceTo(watermark.Time);
                }
                else if (m.Mark is { Kind: StreamMarkKind.Flush } flush && ++flushes >= flush.Partitions)
                {
                    flushes = 0;
                    core.Flush();
                    producer.Mark(Topics.SessionizedEvents, StreamMarkKind.Flush, m.Position);
                    lastMark = m.Position;
                    LogFlushed(events, sessions);
                }

                if (m.Position > progress && m.Position != StreamPosition.Max)
                    progress = m.Position;
            }

            await Infrastructure.RetryAsync("Writing ClickHouse", Write, log, stoppingToken);

            // Sessionized events leave in input order: later ones sort after what was consumed so far.
            if (progress > lastMark && marked.Elapsed >= streams.WatermarkInterval)
            {
                producer.Mark(Topics.SessionizedEvents, StreamMarkKind.Watermark, progress);
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

        async Task Write()
        {
            while (eventsWritten < newEvents.Count)
            {
                var adding = writer.AddAsync(newEvents[eventsWritten++], CancellationToken.None);
                await adding;
            }

            while (sessionsWritten < newSessions.Count)
            {
                var adding = writer.AddAsync(newSessions[sessionsWritten++], CancellationToken.None);
                await adding;
            }

            newEvents.Clear();
            newSessions.Clear();
            eventsWritten = sessionsWritten = 0;
        }

        // The changes are taken once and kept until stored: a retried checkpoint writes the same states again.
        async Task Checkpoint()
        {
            await Infrastructure.RetryAsync("Writing ClickHouse", Write, log, stoppingToken);
            producer.Flush(CancellationToken.None);
            await Infrastructure.RetryAsync("Flushing ClickHouse", () => writer.FlushAsync(CancellationToken.None), log, stoppingToken);
            var clients = core.TakeChanges();
            var days = core.TakeDayChanges();
            await Infrastructure.RetryAsync("Storing the checkpoint in Redis", () => store.SaveAsync(clients, days), log, stoppingToken);
            consumer.Commit();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Clients} client states ({OpenSessions} open sessions) and {Days} day tallies")]
    private partial void LogRestored(int clients, int openSessions, int days);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replay flushed: {Events} events sessionized, {Sessions} sessions closed since start")]
    private partial void LogFlushed(long events, long sessions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Detail}")]
    private partial void LogKafka(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Detail}")]
    private partial void LogProgress(string detail);
}
