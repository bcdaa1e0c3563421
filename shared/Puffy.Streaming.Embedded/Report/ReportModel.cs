using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded.Report;

/// <summary>
/// Everything the executive report shows, as plain data. Built from either store (SQLite or ClickHouse) by
/// <see cref="ReportBuilder"/>; the same input gives the same model, whichever store it came from.
/// </summary>
public sealed record ReportModel(
    ReportKpis Kpis,
    IReadOnlyList<ReportDay> Daily,
    IReadOnlyList<string> Channels,
    IReadOnlyList<ChannelRevenue> Revenue,
    IReadOnlyList<string> Reasons,
    IReadOnlyList<FileQuality> Quality,
    IReadOnlyList<ReportAlert> Alerts,
    IReadOnlyList<DataNote> Notes);

public sealed record ReportKpis(
    DateOnly? FirstDay, DateOnly? LastDay, long Files, long RowsRead, long Valid, long DeadLettered,
    long Sessions, long ConvertedSessions, long Orders, decimal Revenue, long ZeroRevenueOrders, long CriticalAlerts, long WarningAlerts)
{
    /// <summary>Orders per session (semantics §7).</summary>
    public double ConversionRate => Sessions == 0 ? 0 : (double)Orders / Sessions;

    public decimal AverageOrderValue => Orders == 0 ? 0 : decimal.Round(Revenue / Orders, 2, MidpointRounding.AwayFromZero);
}

/// <summary>One UTC day of session start: sessions (also per landing channel), and the orders of those sessions.</summary>
public sealed record ReportDay(DateOnly Day, long Sessions, long ConvertedSessions, long Orders, decimal Revenue, IReadOnlyDictionary<string, long> SessionsByChannel)
{
    public double ConversionRate => Sessions == 0 ? 0 : (double)Orders / Sessions;
}

/// <summary>Revenue credited to one channel under each attribution model.</summary>
public sealed record ChannelRevenue(string Channel, decimal FirstClick, decimal LastClick, decimal LastNonDirect)
{
    public decimal Of(string model) => model switch
    {
        AttributionModels.FirstClick => FirstClick,
        AttributionModels.LastClick => LastClick,
        AttributionModels.LastNonDirect => LastNonDirect,
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
    };
}

/// <summary>The accounting of one input file: rows read = valid + dead-lettered, and the dead letters by reason.</summary>
public sealed record FileQuality(string File, DateOnly? Day, string Columns, long Rows, long Valid, long DeadLettered, IReadOnlyDictionary<string, long> ByReason);

public sealed record ReportAlert(DateOnly? Day, string Rule, string Severity, double Observed, double Threshold, string Message);

/// <summary>
/// A plain-language warning about where the data breaks, derived from the files' columns and the alerts.
/// <see cref="Schema"/>: the export's columns changed on <see cref="Day"/> (the charts mark that day).
/// </summary>
public sealed record DataNote(DateOnly? Day, string Title, string Text, bool Schema);
