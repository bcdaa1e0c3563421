using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// Items per second from the median time of one operation that handles <paramref name="itemsPerOperation"/> items:
/// the median, because on a shared machine other processes' bursts inflate the mean.
/// </summary>
internal sealed class ThroughputColumn(string name, double itemsPerOperation) : IColumn
{
    public string Id => nameof(ThroughputColumn) + "." + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"{itemsPerOperation:N0} per operation / Median";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? "NA" : (itemsPerOperation / (stats.Median / 1e9)).ToString("N0", CultureInfo.InvariantCulture);
    }
}
