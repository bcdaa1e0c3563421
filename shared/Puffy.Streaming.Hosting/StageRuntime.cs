using System.Diagnostics;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.Hosting;

/// <summary>The loop every consuming stage runs: back-pressure, poll, write, checkpoint.</summary>
public static class StageRuntime
{
    /// <summary>
    /// Runs a stage until it is stopped: holds back while a downstream group is too far behind (<paramref name="beforeWaiting"/>
    /// first, e.g. to mark progress), hands each poll's messages to their partitions, runs <paramref name="afterBatch"/> (e.g.
    /// writes ClickHouse rows), and checkpoints at the configured interval, sooner when the input taken since the last commit
    /// nears what upstream's back-pressure allows, and once more when stopped.
    /// </summary>
    public static async Task RunStageAsync(
        this ServiceClients clients, IStageStream stream, StreamProducer producer, IReadOnlyList<LagGate> gates,
        Action beforeWaiting, Func<Task> afterBatch, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(afterBatch);
        var streams = clients.Streams;
        stream.Start();
        var checkpoint = Stopwatch.StartNew();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // The replay the input comes from names every line logged for it and travels on with the outputs.
                using var replay = PuffyLogging.Replay(stream.ReplayId);
                producer.ReplayId = stream.ReplayId;
                await clients.HoldBackAsync(gates, beforeWaiting, () =>
                {
                    stream.Idle(TimeSpan.FromMilliseconds(50));
                    return Task.CompletedTask;
                }, stoppingToken);
                stream.Resume();
                await stream.PollAsync(TimeSpan.FromMilliseconds(100), streams.PollBatch, stoppingToken);
                await afterBatch();
                if (checkpoint.Elapsed >= streams.CheckpointInterval || (checkpoint.Elapsed >= streams.CheckpointInterval / 10 && CommitSoon(streams, stream)))
                {
                    await stream.CheckpointAsync();
                    checkpoint.Restart();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last checkpoint below, then leaving the group hands the input over.
        }

        await stream.CheckpointAsync();
    }

    // Upstream holds back once this stage's committed lag on a partition passes Streams:MaxLagPerPartition messages or
    // Streams:MaxLagBytesPerPartition bytes. Committing at half of either, instead of only every CheckpointInterval, keeps
    // upstream sending as long as this stage keeps up; checkpoints stay at least a tenth of the interval apart.
    private static bool CommitSoon(StreamOptions streams, IStageStream stream) =>
        streams.MaxLagPerPartition > 0
        && stream.CheckpointDue(streams.MaxLagPerPartition / 2, streams.MaxLagBytesPerPartition > 0 ? streams.MaxLagBytesPerPartition / 2 : long.MaxValue);
}

/// <summary>Partition counts a partition-parallel stage depends on.</summary>
public static class StagePartitions
{
    /// <summary>
    /// The partition count of <paramref name="input"/>, which <paramref name="output"/> must share: a stage writes what it
    /// derives from input partition p to output partition p, so each output partition keeps its input's order.
    /// </summary>
    public static int Matching(StreamProducer producer, string input, string output)
    {
        ArgumentNullException.ThrowIfNull(producer);
        var partitions = producer.PartitionsOf(input);
        var outputs = producer.PartitionsOf(output);
        return partitions == outputs
            ? partitions
            : throw new InvalidOperationException(
                $"{input} has {partitions} partitions and {output} {outputs}: a partition-parallel stage writes partition p of its output from partition p of its input, so both need the same count");
    }
}
