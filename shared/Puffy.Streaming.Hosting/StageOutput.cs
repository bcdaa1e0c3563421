using Microsoft.Extensions.Logging;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Kafka.Streams;

namespace Puffy.Streaming.Hosting;

/// <summary>
/// Where a partition-parallel stage's results go: its producer, and the ClickHouse rows its partitions' cores collect
/// (the writer is not re-entrant, so callbacks collect and the loop writes after each batch). Infrastructure failures
/// are retried with backoff until they succeed or the service stops.
/// </summary>
public abstract class StageOutput(StreamProducer producer, ClickHouseWriter? writer, ILogger log, CancellationToken stoppingToken)
{
    public StreamProducer Producer => producer;

    /// <summary>Hands the rows collected since the last call to the writer (a stage without one has none).</summary>
    protected virtual Task WriteRowsAsync() => Task.CompletedTask;

    public Task WriteAsync() => Infrastructure.RetryAsync("Writing ClickHouse", WriteRowsAsync, log, stoppingToken);

    /// <summary>Makes everything sent and written so far durable: what a checkpoint does before it stores state.</summary>
    public async Task FlushAsync()
    {
        await WriteAsync();
        producer.Flush(CancellationToken.None);
        if (writer is not null)
            await Infrastructure.RetryAsync("Flushing ClickHouse", () => writer.FlushAsync(CancellationToken.None), log, stoppingToken);
    }

    public Task RetryAsync(string what, Func<Task> step) => Infrastructure.RetryAsync(what, step, log, stoppingToken);

    /// <summary>
    /// Opens a newly assigned partition (takes its lease, loads its state), retried like any other call to Redis: a Redis
    /// that froze or restarted while the group moved partitions delays the partition, it does not stop the service.
    /// </summary>
    public Task<TWork> OpenAsync<TWork>(int partition, Func<Task<TWork>> open) =>
        Infrastructure.RetryAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Opening partition {partition} (its lease and state in Redis)"), open, log, stoppingToken);
}

/// <summary>
/// Rows waiting for the ClickHouse writer. A row is in the writer once added, even when the batch flush it triggered
/// failed: a retried drain goes on after it.
/// </summary>
public sealed class PendingRows<T>(Func<T, ValueTask> add)
{
    private readonly List<T> _rows = [];
    private int _written;

    public void Add(T row) => _rows.Add(row);

    public async Task DrainAsync()
    {
        while (_written < _rows.Count)
            await add(_rows[_written++]);
        _rows.Clear();
        _written = 0;
    }
}
