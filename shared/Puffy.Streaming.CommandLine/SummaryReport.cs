using System.Globalization;
using System.Text;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Cli;

/// <summary>The short human summary printed at the end of a run.</summary>
internal static class SummaryReport
{
    public static string Render(RunSummary s)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine();
        b.AppendLine(inv, $"rows read      {s.RowsRead,12:N0}   in {s.RowsPerFile.Count} files");
        b.AppendLine(inv, $"valid          {s.Valid,12:N0}");
        b.AppendLine(inv, $"dead-lettered  {s.DeadLettered,12:N0}");
        foreach (var (reason, count) in s.DeadLetterReasons.OrderByDescending(kv => kv.Value))
            b.AppendLine(inv, $"  {reason,-26}{count,10:N0}");
        b.AppendLine(inv, $"sessions       {s.Sessions,12:N0}   converted {s.ConvertedSessions:N0}");
        b.AppendLine(inv, $"orders         {s.Orders,12:N0}   zero-revenue {s.ZeroRevenueOrders:N0}");
        b.AppendLine(inv, $"revenue        {s.Revenue,12:N2}");
        b.AppendLine();
        b.AppendLine(inv, $"{"revenue by channel",-18}{"first-click",14}{"last-click",14}{"last-non-direct",17}");
        var channels = Channels.All.Where(c => AttributionModels.All.Any(m => s.Attribution[m].ContainsKey(c)));
        foreach (var c in channels)
        {
            b.AppendLine(inv,
                $"{c,-18}{s.Attribution[AttributionModels.FirstClick].GetValueOrDefault(c),14:N2}{s.Attribution[AttributionModels.LastClick].GetValueOrDefault(c),14:N2}{s.Attribution[AttributionModels.LastNonDirect].GetValueOrDefault(c),17:N2}");
        }

        b.AppendLine();
        var bySeverity = s.Alerts.GroupBy(a => a.Severity).OrderByDescending(g => g.Key)
            .Select(g => $"{g.Count()} {RunSummary.SeverityText(g.Key)}");
        b.AppendLine(inv, $"alerts         {s.Alerts.Count,12}   ({string.Join(", ", bySeverity)})");
        foreach (var a in s.Alerts.OrderByDescending(a => a.Severity).ThenBy(a => a.Day))
            b.AppendLine(inv, $"  {RunSummary.SeverityText(a.Severity),-9}{RunSummary.Day(a.Day)}  {a.Rule,-26}{a.Message}");
        var broken = s.Files.Values.Where(f => f.Error is not null).ToList();
        if (broken.Count > 0)
        {
            b.AppendLine();
            foreach (var f in broken)
                b.AppendLine(inv, $"file problem: {f.File}: {f.Error}");
        }

        return b.ToString();
    }
}
