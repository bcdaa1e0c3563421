using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Monitoring;

/// <summary>One input partition's day metrics, as a checkpoint stores them.</summary>
public sealed record PartitionDayState(
    DateOnly Day, int Partition, long Sessions, long Converted, long Orders, IReadOnlyDictionary<string, long> ByChannel, bool Complete);

/// <summary>What <see cref="PartitionDayMetrics"/> holds, for a checkpoint.</summary>
public sealed record PartitionDayMetricsState(
    int Partitions, IReadOnlyList<PartitionDayState> Days, IReadOnlyDictionary<int, DateOnly> CompleteThrough, IReadOnlyList<DateOnly> Emitted);

/// <summary>
/// Sums the day metrics of a partition-parallel sessionizer into what one sessionizer over every partition sends.
/// A client's events all travel in one partition, so each session is closed and counted in exactly one partition and a
/// day's totals are the sums of its partitions' totals. A partition sends its day's metrics when its sessions of that day
/// are closed, then <see cref="MetricNames.DaysCompleteThrough"/> as it moves on (also past days it had no session of); a
/// day is complete once every partition is through it, and its sums go out then, in the order a single sessionizer uses,
/// days in order. A value sent again (a restarted partition) replaces the one before; a day already sent is not sent again.
/// </summary>
public sealed class PartitionDayMetrics : PartitionSums
{
    private readonly SortedDictionary<DateOnly, Dictionary<int, Part>> _days = [];
    private readonly Dictionary<int, DateOnly> _through = [];
    private readonly SortedSet<DateOnly> _emitted = [];

    protected override void StartOver()
    {
        _through.Clear();
        _days.Clear();
    }

    /// <summary>Returns the summed metrics of every day that became complete.</summary>
    protected override IReadOnlyList<Metric> Take(Metric metric, int partition)
    {
        if (metric.Day is not { } day)
            return [];
        if (metric.Name == MetricNames.DaysCompleteThrough)
        {
            _through[partition] = day;
            return Complete();
        }

        if (_emitted.Contains(day))
            return [];
        if (!_days.TryGetValue(day, out var parts))
            _days[day] = parts = [];
        if (!parts.TryGetValue(partition, out var part))
            parts[partition] = part = new Part();
        var value = (long)metric.Value;
        switch (metric.Name)
        {
            case MetricNames.DaySessions:
                part.Sessions = value;
                break;
            case MetricNames.DayChannelSessions:
                part.ByChannel[metric.Dimension] = value;
                break;
            case MetricNames.DayConvertedSessions:
                part.Converted = value;
                break;
            case MetricNames.DayOrders:
                part.Orders = value;
                break;
            case MetricNames.DayComplete:
                part.Complete = true;
                break;
        }

        return [];
    }

    private List<Metric> Complete()
    {
        var sums = new List<Metric>();
        if (_through.Count < Partitions)
            return sums;
        var through = _through.Values.Min();
        while (_days.Count > 0)
        {
            var (day, parts) = _days.First();
            if (day > through)
                break;
            _days.Remove(day);
            // A day only some partitions started counting and none finished sends nothing, as one sessionizer would.
            if (!parts.Values.Any(p => p.Complete))
                continue;
            _emitted.Add(day);
            var sessions = parts.Values.Sum(p => p.Sessions);
            sums.Add(new Metric(day, MetricNames.DaySessions, string.Empty, sessions, string.Empty));
            var channels = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var (channel, count) in parts.Values.SelectMany(p => p.ByChannel))
                channels[channel] = channels.GetValueOrDefault(channel) + count;
            foreach (var (channel, count) in channels)
                sums.Add(new Metric(day, MetricNames.DayChannelSessions, channel, count, string.Empty));
            sums.Add(new Metric(day, MetricNames.DayConvertedSessions, string.Empty, parts.Values.Sum(p => p.Converted), string.Empty));
            sums.Add(new Metric(day, MetricNames.DayOrders, string.Empty, parts.Values.Sum(p => p.Orders), string.Empty));
            sums.Add(new Metric(day, MetricNames.DayComplete, string.Empty, sessions, string.Empty));
        }

        // Days sent are remembered to ignore partitions that send them again after a restart; a year is plenty.
        while (_emitted.Count > 366)
            _emitted.Remove(_emitted.Min);
        return sums;
    }

    public PartitionDayMetricsState State() =>
        new(Partitions,
            [.. _days.SelectMany(d => d.Value.OrderBy(p => p.Key).Select(p => new PartitionDayState(
                d.Key, p.Key, p.Value.Sessions, p.Value.Converted, p.Value.Orders,
                new SortedDictionary<string, long>(p.Value.ByChannel, StringComparer.Ordinal), p.Value.Complete)))],
            new SortedDictionary<int, DateOnly>(_through),
            [.. _emitted]);

    public void Restore(PartitionDayMetricsState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Partitions = state.Partitions;
        _days.Clear();
        _through.Clear();
        _emitted.Clear();
        foreach (var d in state.Days)
        {
            if (!_days.TryGetValue(d.Day, out var parts))
                _days[d.Day] = parts = [];
            var part = new Part { Sessions = d.Sessions, Converted = d.Converted, Orders = d.Orders, Complete = d.Complete };
            foreach (var (channel, count) in d.ByChannel)
                part.ByChannel[channel] = count;
            parts[d.Partition] = part;
        }

        foreach (var (p, day) in state.CompleteThrough)
            _through[p] = day;
        foreach (var day in state.Emitted)
            _emitted.Add(day);
    }

    private sealed class Part
    {
        public long Sessions { get; set; }
        public long Converted { get; set; }
        public long Orders { get; set; }
        public bool Complete { get; set; }
        public Dictionary<string, long> ByChannel { get; } = new(StringComparer.Ordinal);
    }
}
