using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.Pipeline.Monitoring;

/// <summary>One input partition's metrics of one file, as a checkpoint stores them.</summary>
public sealed record PartitionFileState(
    string File, DateOnly? Day, int Partition, long Valid, IReadOnlyDictionary<string, long> DeadLettered, long Orders, decimal Revenue,
    long ZeroRevenueOrders, IReadOnlyDictionary<string, long> FieldObserved, IReadOnlyDictionary<string, long> FieldNull,
    long Timestamps, long TimestampsInDay, double? FirstTimestamp, double? LastTimestamp, long Rows, bool Complete);

/// <summary>What <see cref="PartitionFileMetrics"/> holds, for a checkpoint.</summary>
public sealed record PartitionFileMetricsState(int Partitions, IReadOnlyList<PartitionFileState> Files, IReadOnlyList<string> Emitted);

/// <summary>
/// Sums the file metrics of a partition-parallel validator into what one validator over every partition sends. Each
/// partition tallies its own rows of a file and, once it has decided them all (also when it got none), sends the file's
/// metrics as one validator does, keyed by its partition, ending with <see cref="MetricNames.FileComplete"/>. A file is
/// complete once every partition has completed it, and its sums go out then, in one validator's order: counts summed,
/// revenue summed as a decimal (as one validator sums it), the earliest and latest timestamp over the partitions that saw
/// one, and a dead-letter reason, a field or the timestamps only where one validator would send them. A partition that
/// sends a file again (after a restart) starts its part anew with the file's first metric, <see cref="MetricNames.FileValid"/>;
/// a file already sent is not sent again.
/// </summary>
public sealed class PartitionFileMetrics : PartitionSums
{
    // Files sent are remembered to ignore partitions that send them again after a restart; years of daily files.
    private const int RememberedFiles = 1024;

    private static readonly Dictionary<string, int> FieldOrder =
        FieldTally.Fields.Select((field, i) => (field, i)).ToDictionary(f => f.field, f => f.i, StringComparer.Ordinal);

    private readonly Dictionary<string, Dictionary<int, Part>> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _emitted = new(StringComparer.Ordinal);
    private readonly Queue<string> _emittedInOrder = new();

    protected override void StartOver() => _files.Clear();

    /// <summary>
    /// Takes a metric <see cref="MonitorCore.Check"/> passed as a part; returns the summed metrics of the file it completed.
    /// A metric that names no file is returned as it is.
    /// </summary>
    protected override IReadOnlyList<Metric> Take(Metric metric, int partition)
    {
        if (metric.Source.Length == 0)
            return [metric];
        if (_emitted.Contains(metric.Source))
            return [];
        if (!_files.TryGetValue(metric.Source, out var parts))
            _files[metric.Source] = parts = [];
        if (metric.Name == MetricNames.FileValid || !parts.TryGetValue(partition, out var part))
            parts[partition] = part = new Part { Day = metric.Day };
        var value = (long)metric.Value;
        switch (metric.Name)
        {
            case MetricNames.FileValid:
                part.Valid = value;
                break;
            case MetricNames.FileDeadLettered:
                part.DeadLettered[metric.Dimension] = value;
                break;
            case MetricNames.FileOrders:
                part.Orders = value;
                break;
            case MetricNames.FileRevenue:
                // One validator sums decimals: a part's double converts back to the decimal it was made of.
                part.Revenue = (decimal)metric.Value;
                break;
            case MetricNames.FileZeroRevenueOrders:
                part.ZeroRevenueOrders = value;
                break;
            case MetricNames.FieldObserved:
                part.FieldObserved[metric.Dimension] = value;
                break;
            case MetricNames.FieldNull:
                part.FieldNull[metric.Dimension] = value;
                break;
            case MetricNames.FileTimestamps:
                part.Timestamps = value;
                break;
            case MetricNames.FileTimestampsInDay:
                part.TimestampsInDay = value;
                break;
            case MetricNames.FileFirstTimestamp:
                part.FirstTimestamp = metric.Value;
                break;
            case MetricNames.FileLastTimestamp:
                part.LastTimestamp = metric.Value;
                break;
            case MetricNames.FileComplete:
                part.Rows = value;
                part.Complete = true;
                if (parts.Count == Partitions && parts.Values.All(p => p.Complete))
                    return Sum(metric.Source, parts);
                break;
        }

        return [];
    }

    private List<Metric> Sum(string file, Dictionary<int, Part> parts)
    {
        _files.Remove(file);
        if (_emitted.Add(file))
            _emittedInOrder.Enqueue(file);
        while (_emittedInOrder.Count > RememberedFiles)
            _emitted.Remove(_emittedInOrder.Dequeue());

        var all = parts.Values;
        var day = parts[0].Day;
        var sums = new List<Metric>();
        void Add(string name, double value, string dimension = "") => sums.Add(new Metric(day, name, dimension, value, file));

        Add(MetricNames.FileValid, all.Sum(p => p.Valid));
        foreach (var (reason, count) in Totals(all.Select(p => p.DeadLettered)).OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (count > 0)
                Add(MetricNames.FileDeadLettered, count, reason);
        }

        Add(MetricNames.FileOrders, all.Sum(p => p.Orders));
        Add(MetricNames.FileRevenue, (double)all.Sum(p => p.Revenue));
        Add(MetricNames.FileZeroRevenueOrders, all.Sum(p => p.ZeroRevenueOrders));
        var nulls = Totals(all.Select(p => p.FieldNull));
        foreach (var (field, observed) in Totals(all.Select(p => p.FieldObserved))
                     .OrderBy(f => FieldOrder.GetValueOrDefault(f.Key, int.MaxValue)).ThenBy(f => f.Key, StringComparer.Ordinal))
        {
            if (observed <= 0)
                continue;
            Add(MetricNames.FieldObserved, observed, field);
            Add(MetricNames.FieldNull, nulls.GetValueOrDefault(field), field);
        }

        var timestamps = all.Sum(p => p.Timestamps);
        if (timestamps > 0)
        {
            Add(MetricNames.FileTimestamps, timestamps);
            Add(MetricNames.FileTimestampsInDay, all.Sum(p => p.TimestampsInDay));
            if (all.Min(p => p.FirstTimestamp) is { } first)
                Add(MetricNames.FileFirstTimestamp, first);
            if (all.Max(p => p.LastTimestamp) is { } last)
                Add(MetricNames.FileLastTimestamp, last);
        }

        Add(MetricNames.FileComplete, all.Sum(p => p.Rows));
        return sums;
    }

    private static Dictionary<string, long> Totals(IEnumerable<Dictionary<string, long>> counts)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, count) in counts.SelectMany(c => c))
            totals[key] = totals.GetValueOrDefault(key) + count;
        return totals;
    }

    public PartitionFileMetricsState State() =>
        new(Partitions,
            [.. _files.OrderBy(f => f.Key, StringComparer.Ordinal).SelectMany(f => f.Value.OrderBy(p => p.Key).Select(p => new PartitionFileState(
                f.Key, p.Value.Day, p.Key, p.Value.Valid, Sorted(p.Value.DeadLettered), p.Value.Orders, p.Value.Revenue, p.Value.ZeroRevenueOrders,
                Sorted(p.Value.FieldObserved), Sorted(p.Value.FieldNull), p.Value.Timestamps, p.Value.TimestampsInDay,
                p.Value.FirstTimestamp, p.Value.LastTimestamp, p.Value.Rows, p.Value.Complete)))],
            [.. _emittedInOrder]);

    private static SortedDictionary<string, long> Sorted(Dictionary<string, long> counts) => new(counts, StringComparer.Ordinal);

    public void Restore(PartitionFileMetricsState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Partitions = state.Partitions;
        _files.Clear();
        _emitted.Clear();
        _emittedInOrder.Clear();
        foreach (var f in state.Files)
        {
            if (!_files.TryGetValue(f.File, out var parts))
                _files[f.File] = parts = [];
            var part = new Part
            {
                Day = f.Day, Valid = f.Valid, Orders = f.Orders, Revenue = f.Revenue, ZeroRevenueOrders = f.ZeroRevenueOrders,
                Timestamps = f.Timestamps, TimestampsInDay = f.TimestampsInDay, FirstTimestamp = f.FirstTimestamp, LastTimestamp = f.LastTimestamp,
                Rows = f.Rows, Complete = f.Complete,
            };
            foreach (var (reason, count) in f.DeadLettered)
                part.DeadLettered[reason] = count;
            foreach (var (field, count) in f.FieldObserved)
                part.FieldObserved[field] = count;
            foreach (var (field, count) in f.FieldNull)
                part.FieldNull[field] = count;
            parts[f.Partition] = part;
        }

        foreach (var file in state.Emitted)
        {
            if (_emitted.Add(file))
                _emittedInOrder.Enqueue(file);
        }
    }

    private sealed class Part
    {
        public DateOnly? Day { get; init; }
        public long Valid { get; set; }
        public long Orders { get; set; }
        public decimal Revenue { get; set; }
        public long ZeroRevenueOrders { get; set; }
        public long Timestamps { get; set; }
        public long TimestampsInDay { get; set; }
        public double? FirstTimestamp { get; set; }
        public double? LastTimestamp { get; set; }
        public long Rows { get; set; }
        public bool Complete { get; set; }
        public Dictionary<string, long> DeadLettered { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> FieldObserved { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> FieldNull { get; } = new(StringComparer.Ordinal);
    }
}
