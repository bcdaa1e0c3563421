using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Monitoring;

/// <summary>
/// The monitor's sums over a partition-parallel stage: each input partition's metrics are keyed by partition and
/// partition count (<see cref="MetricProducers.OfPartition"/>), and the sums go to the rules as the metrics one instance
/// over every partition would have sent. A metric whose key names another partition count than the ones before starts
/// over with that count: the topic was repartitioned, and what is not yet complete is counted by the new partitions.
/// </summary>
public abstract class PartitionSums
{
    /// <summary>The partitions the stage's input has (from the keys); 0 before the first metric.</summary>
    public int Partitions { get; protected set; }

    /// <summary>Takes one partition's metric; returns the summed metrics it completed (often none).</summary>
    public IReadOnlyList<Metric> Accept(Metric metric, int partition, int partitions)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, partitions);
        if (partitions != Partitions)
        {
            Partitions = partitions;
            StartOver();
        }

        return Take(metric, partition);
    }

    /// <summary>Forgets every partition's values not yet summed (what was summed stays sent).</summary>
    protected abstract void StartOver();

    /// <summary>Takes a metric of <paramref name="partition"/> of <see cref="Partitions"/>.</summary>
    protected abstract IReadOnlyList<Metric> Take(Metric metric, int partition);
}
