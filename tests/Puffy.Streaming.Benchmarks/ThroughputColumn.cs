using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// Items per second from the median time of one operation that handles <paramref name="itemsPerOperation"/> items
/// (which may depend on the case's parameters): the median, because on a shared machine other processes' bursts
/// inflate the mean.
/// </summary>
internal sealed class ThroughputColumn(string name, Func<BenchmarkCase, double> itemsPerOperation, string legend)
    : ValueColumn(name, legend, (summary, benchmarkCase) =>
        summary[benchmarkCase]?.ResultStatistics is { } stats
            ? (itemsPerOperation(benchmarkCase) / (stats.Median / 1e9)).ToString("N0", CultureInfo.InvariantCulture)
            : "NA")
{
    public ThroughputColumn(string name, double itemsPerOperation)
        : this(name, _ => itemsPerOperation, $"{itemsPerOperation:N0} per operation / Median")
    {
    }
}

/// <summary>A column of the summary table whose value is computed from the case and its results.</summary>
internal class ValueColumn(string name, string legend, Func<Summary, BenchmarkCase, string> value) : IColumn
{
    public string Id => GetType().Name + "." + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value(summary, benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => value(summary, benchmarkCase);
}
