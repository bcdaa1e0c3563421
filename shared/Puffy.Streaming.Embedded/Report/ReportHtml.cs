using System.Globalization;
using System.Net;
using System.Text;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded.Report;

/// <summary>
/// Renders the executive report as one self-contained HTML file: inline CSS and inline SVG charts, no script,
/// no external font, image or style sheet, so it opens offline and prints as it shows.
/// </summary>
public static class ReportHtml
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly Dictionary<string, string> ChannelColors = new(StringComparer.Ordinal)
    {
        [Channels.PaidSearch] = "#4e79a7",
        [Channels.PaidSocial] = "#b07aa1",
        [Channels.Affiliates] = "#76b7b2",
        [Channels.Sms] = "#edc948",
        [Channels.Email] = "#ff9da7",
        [Channels.Display] = "#9c755f",
        [Channels.PaidOther] = "#a0cbe8",
        [Channels.OrganicSocial] = "#f28e2b",
        [Channels.OrganicSearch] = "#59a14f",
        [Channels.OtherCampaign] = "#d37295",
        [Channels.Referral] = "#8cd17d",
        [Channels.Unattributed] = "#c9c3bf",
        [Channels.Direct] = "#555555",
    };

    private static readonly Dictionary<string, string> ReasonColors = new(StringComparer.Ordinal)
    {
        [DeadLetterReasons.MissingClientId] = "#e15759",
        [DeadLetterReasons.BotUserAgent] = "#b07aa1",
        [DeadLetterReasons.LateEvent] = "#f28e2b",
        [DeadLetterReasons.DuplicateEvent] = "#76b7b2",
        [DeadLetterReasons.DuplicateTransactionId] = "#9c755f",
        [DeadLetterReasons.InvalidTimestamp] = "#edc948",
        [DeadLetterReasons.UnparseableRow] = "#ff9da7",
        [DeadLetterReasons.UnknownEventName] = "#4e79a7",
        [DeadLetterReasons.MalformedEventData] = "#d37295",
        [DeadLetterReasons.InvalidPurchase] = "#86bcb6",
        [DeadLetterReasons.PoisonMessage] = "#3b3b3b",
    };

    private static readonly string[] Fallback = ["#bab0ac", "#499894", "#e49444", "#6a9f58", "#967662"];

    private static readonly (string Model, string Name, string Color)[] Models =
    [
        (AttributionModels.FirstClick, "First-click", "#4e79a7"),
        (AttributionModels.LastClick, "Last-click", "#f28e2b"),
        (AttributionModels.LastNonDirect, "Last-non-direct", "#59a14f"),
    ];

    public static string Render(ReportModel model, string source, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(model);
        var k = model.Kpis;
        var period = k.FirstDay is null ? "no data" : $"{Day(k.FirstDay)} to {Day(k.LastDay)}";
        var b = new StringBuilder();
        b.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        b.Append(Inv, $"<title>Puffy executive report, {E(period)}</title>\n<style>{Css}</style>\n</head>\n<body>\n<main>\n");
        b.Append(Inv, $"<header><h1>Puffy executive report</h1><p class=\"sub\">{E(period)} · {k.Files:N0} daily files · from {E(source)} · generated {generatedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC</p></header>\n");

        Kpis(b, k);
        Notes(b, model.Notes);

        var days = model.Daily.Select(d => d.Day).ToList();
        var labels = DayLabels(days);
        var markers = model.Notes.Where(n => n.Schema && n.Day is not null && days.IndexOf(n.Day.Value) > 0)
            .GroupBy(n => days.IndexOf(n.Day!.Value)).Select(g => new ChartMarker(g.Key, "note " + (model.Notes.ToList().IndexOf(g.First()) + 1).ToString(Inv)))
            .ToList();

        b.Append("<section><h2>Daily trend</h2><p class=\"hint\">By UTC day of session start; orders and revenue belong to the day their session started. Dashed lines mark the days the export's columns changed (see the notes above).</p><div class=\"grid2\">\n");
        Figure(b, "Sessions", SvgCharts.Bars("chart-sessions", "Sessions per day", labels, [new ChartSeries("Sessions", "#4e79a7", model.Daily.Select(d => (double)d.Sessions).ToList())], Count, markers: markers));
        Figure(b, "Orders", SvgCharts.Bars("chart-orders", "Orders per day", labels, [new ChartSeries("Orders", "#f28e2b", model.Daily.Select(d => (double)d.Orders).ToList())], Count, markers: markers));
        Figure(b, "Revenue", SvgCharts.Bars("chart-revenue", "Revenue per day", labels, [new ChartSeries("Revenue", "#59a14f", model.Daily.Select(d => (double)d.Revenue).ToList())], Money, markers: markers, valueFormat: Compact));
        Figure(b, "Conversion rate (orders / sessions)", SvgCharts.Line("chart-conversion", "Conversion rate per day", labels, new ChartSeries("Conversion rate", "#b07aa1", model.Daily.Select(d => d.ConversionRate).ToList()), Percent, markers: markers));
        b.Append("</div></section>\n");

        var channelSeries = model.Channels.Select((c, i) => new ChartSeries(c, Color(ChannelColors, c, i), model.Daily.Select(d => (double)d.SessionsByChannel.GetValueOrDefault(c)).ToList()))
            .Where(s => s.Values.Any(v => v > 0)).ToList();
        b.Append("<section><h2>Sessions by landing channel</h2><p class=\"hint\">Channel of each session's first event (semantics §4). Direct is dark grey, Unattributed light grey.</p>\n");
        Figure(b, null, SvgCharts.Bars("chart-channels", "Sessions per day by landing channel", labels, channelSeries, Count, 1100, 360, markers, legend: true));
        b.Append("</section>\n");

        Revenue(b, model);
        Quality(b, model);
        Alerts(b, model);

        b.Append("<footer><p>Definitions: a session is a client's events with gaps under 30 minutes; an order is a valid purchase (one per transaction id, the earliest wins); ");
        b.Append("conversion rate = orders / sessions; attribution looks back 7 days over the client's sessions and gives each order's whole revenue to one channel per model. ");
        b.Append("Every input row is either valid or dead-lettered with one reason, so rows = valid + dead-lettered for every file.</p></footer>\n");
        b.Append("</main>\n</body>\n</html>\n");
        return b.ToString();
    }

    private static void Kpis(StringBuilder b, ReportKpis k)
    {
        b.Append("<section class=\"kpis\">\n");
        Kpi(b, "Revenue", Money((double)k.Revenue), $"average order {Money((double)k.AverageOrderValue)}", "wide");
        Kpi(b, "Orders", k.Orders.ToString("N0", Inv), $"{k.ZeroRevenueOrders:N0} zero-revenue");
        Kpi(b, "Sessions", k.Sessions.ToString("N0", Inv), $"{k.ConvertedSessions:N0} converted");
        Kpi(b, "Conversion rate", Percent(k.ConversionRate), "orders per session");
        Kpi(b, "Rows read", k.RowsRead.ToString("N0", Inv), $"{k.Valid:N0} valid");
        Kpi(b, "Dead-lettered", k.DeadLettered.ToString("N0", Inv), k.RowsRead == 0 ? "-" : Percent((double)k.DeadLettered / k.RowsRead) + " of rows");
        Kpi(b, "Alerts", (k.CriticalAlerts + k.WarningAlerts).ToString("N0", Inv), $"{k.CriticalAlerts:N0} critical · {k.WarningAlerts:N0} warning", k.CriticalAlerts > 0 ? "bad" : null);
        b.Append("</section>\n");
    }

    private static void Kpi(StringBuilder b, string name, string value, string detail, string? tone = null) =>
        b.Append(Inv, $"<div class=\"kpi {tone}\"><div class=\"kpi-name\">{E(name)}</div><div class=\"kpi-value\">{E(value)}</div><div class=\"kpi-detail\">{E(detail)}</div></div>\n");

    private static void Notes(StringBuilder b, IReadOnlyList<DataNote> notes)
    {
        if (notes.Count == 0)
            return;
        b.Append("<section><h2>Where the data breaks</h2>\n<ol class=\"notes\">\n");
        foreach (var n in notes)
            b.Append(Inv, $"<li class=\"note\"><h3>{E(n.Title)}</h3><p>{E(n.Text)}</p></li>\n");
        b.Append("</ol></section>\n");
    }

    private static void Revenue(StringBuilder b, ReportModel model)
    {
        b.Append("<section><h2>Revenue by channel under three attribution models</h2><p class=\"hint\">First-click credits the earliest session in the 7 days before the purchase, last-click the latest, last-non-direct the latest that is not Direct or Unattributed. The shift columns show how much revenue moves when the model changes.</p>\n");
        var categories = model.Revenue.Select(r => r.Channel).ToList();
        var series = Models.Select(m => new ChartSeries(m.Name, m.Color, model.Revenue.Select(r => (double)r.Of(m.Model)).ToList())).ToList();
        Figure(b, null, SvgCharts.GroupedBars("chart-attribution", "Revenue by channel and attribution model", categories, series, Money));
        b.Append("<table><thead><tr><th>Channel</th><th>First-click</th><th>Last-click</th><th>Last-non-direct</th><th>Shift first vs last</th><th>Shift last-non-direct vs last</th></tr></thead><tbody>\n");
        foreach (var r in model.Revenue)
        {
            b.Append(Inv, $"<tr><td>{E(r.Channel)}</td><td>{Money((double)r.FirstClick)}</td><td>{Money((double)r.LastClick)}</td><td>{Money((double)r.LastNonDirect)}</td>{Shift(r.FirstClick - r.LastClick)}{Shift(r.LastNonDirect - r.LastClick)}</tr>\n");
        }

        var total = (Func<ChannelRevenue, decimal> f) => model.Revenue.Sum(f);
        b.Append(Inv, $"<tr class=\"total\"><td>Total</td><td>{Money((double)total(r => r.FirstClick))}</td><td>{Money((double)total(r => r.LastClick))}</td><td>{Money((double)total(r => r.LastNonDirect))}</td><td></td><td></td></tr>\n");
        b.Append("</tbody></table></section>\n");
    }

    private static string Shift(decimal delta)
    {
        var tone = delta > 0 ? "up" : delta < 0 ? "down" : "flat";
        var text = delta == 0 ? "0.00" : (delta > 0 ? "+" : "−") + Math.Abs(delta).ToString("N2", Inv);
        return $"<td class=\"{tone}\">{text}</td>";
    }

    private static void Quality(StringBuilder b, ReportModel model)
    {
        b.Append("<section><h2>Data quality per day</h2><p class=\"hint\">Every row read is either valid or dead-lettered with one reason code. The chart shows the dead-lettered rows of each daily file by reason.</p>\n");
        var files = model.Quality;
        var labels = DayLabels(files.Select(f => f.Day ?? DateOnly.MinValue).ToList(), files.Select(f => f.Day is null ? f.File : null).ToList());
        var series = model.Reasons.Select((r, i) => new ChartSeries(r, Color(ReasonColors, r, i), files.Select(f => (double)f.ByReason.GetValueOrDefault(r)).ToList())).ToList();
        Figure(b, null, SvgCharts.Bars("chart-quality", "Dead-lettered rows per day by reason", labels, series, Count, 1100, 340, legend: true));
        b.Append("<table><thead><tr><th>Day</th><th>File</th><th>Rows</th><th>Valid</th><th>Dead-lettered</th><th>Share</th>");
        foreach (var r in model.Reasons)
            b.Append(Inv, $"<th class=\"reason\">{E(r.Replace('_', ' '))}</th>");
        b.Append("</tr></thead><tbody>\n");
        foreach (var f in files)
        {
            var share = f.Rows == 0 ? "-" : Percent((double)f.DeadLettered / f.Rows);
            b.Append(Inv, $"<tr><td>{Day(f.Day)}</td><td>{E(f.File)}</td><td>{f.Rows:N0}</td><td>{f.Valid:N0}</td><td>{f.DeadLettered:N0}</td><td>{share}</td>");
            foreach (var r in model.Reasons)
                b.Append(Inv, $"<td>{f.ByReason.GetValueOrDefault(r):N0}</td>");
            b.Append("</tr>\n");
        }

        var k = model.Kpis;
        b.Append(Inv, $"<tr class=\"total\"><td>Total</td><td></td><td>{k.RowsRead:N0}</td><td>{k.Valid:N0}</td><td>{k.DeadLettered:N0}</td><td>{(k.RowsRead == 0 ? "-" : Percent((double)k.DeadLettered / k.RowsRead))}</td>");
        foreach (var r in model.Reasons)
            b.Append(Inv, $"<td>{files.Sum(f => f.ByReason.GetValueOrDefault(r)):N0}</td>");
        b.Append("</tr></tbody></table></section>\n");
    }

    private static void Alerts(StringBuilder b, ReportModel model)
    {
        b.Append("<section><h2>Alert timeline</h2><p class=\"hint\">Raised by the monitor once per rule and day. Hover a dot for its message.</p>\n");
        if (model.Alerts.Count == 0)
        {
            b.Append("<p>No alerts.</p></section>\n");
            return;
        }

        var days = model.Quality.Where(f => f.Day is not null).Select(f => f.Day!.Value)
            .Concat(model.Daily.Select(d => d.Day)).Concat(model.Alerts.Where(a => a.Day is not null).Select(a => a.Day!.Value))
            .Distinct().Order().ToList();
        var hasUndated = model.Alerts.Any(a => a.Day is null);
        var labels = DayLabels(days).ToList();
        if (hasUndated)
            labels.Add("no day");
        var rules = model.Alerts.Select(a => a.Rule).Distinct().Order(StringComparer.Ordinal).ToList();
        var dots = model.Alerts.Select(a => (
                Day: a.Day is { } d ? days.IndexOf(d) : labels.Count - 1,
                Rule: rules.IndexOf(a.Rule),
                Color: SeverityColor(a.Severity),
                Title: $"{Day(a.Day)} {a.Severity} {a.Rule}: {a.Message}"))
            .ToList();
        var legend = model.Alerts.Select(a => a.Severity).Distinct().OrderBy(SeverityRank).Select(s => (s, SeverityColor(s))).ToList();
        Figure(b, null, SvgCharts.Timeline("chart-alerts", "Alerts per day and rule", labels, rules, dots, legend));
        b.Append("<table class=\"alerts\"><thead><tr><th>Day</th><th>Severity</th><th>Rule</th><th>Observed</th><th>Threshold</th><th>Message</th></tr></thead><tbody>\n");
        foreach (var a in model.Alerts)
        {
            b.Append(Inv, $"<tr><td>{Day(a.Day)}</td><td><span class=\"sev\" style=\"background:{SeverityColor(a.Severity)}\">{E(a.Severity)}</span></td><td>{E(a.Rule)}</td><td>{a.Observed:0.####}</td><td>{a.Threshold:0.####}</td><td class=\"msg\">{E(a.Message)}</td></tr>\n");
        }

        b.Append("</tbody></table></section>\n");
    }

    private static int SeverityRank(string s) => s switch { "critical" => 0, "error" => 1, "warning" => 2, _ => 3 };

    private static string SeverityColor(string s) => s switch
    {
        "critical" => "#c0392b",
        "error" => "#e67e22",
        "warning" => "#e0b000",
        _ => "#7f8c8d",
    };

    private static void Figure(StringBuilder b, string? caption, string svg)
    {
        b.Append("<figure>");
        if (caption is not null)
            b.Append(Inv, $"<figcaption>{E(caption)}</figcaption>");
        b.Append(svg).Append("</figure>\n");
    }

    /// <summary>"Feb 23", "24", … "Mar 1", "2": the month only where it changes.</summary>
    private static List<string> DayLabels(List<DateOnly> days, List<string?>? overrides = null)
    {
        var labels = new List<string>(days.Count);
        for (var i = 0; i < days.Count; i++)
        {
            if (overrides?[i] is { } o)
            {
                labels.Add(o);
                continue;
            }

            var newMonth = i == 0 || days[i].Month != days[i - 1].Month || days[i].Year != days[i - 1].Year;
            labels.Add(days[i].ToString(newMonth ? "MMM d" : "%d", Inv));
        }

        return labels;
    }

    private static string Color(Dictionary<string, string> palette, string key, int i) => palette.TryGetValue(key, out var c) ? c : Fallback[i % Fallback.Length];

    private static string Count(double v) => v.ToString("N0", Inv);

    private static string Money(double v) => v == 0 ? "0" : v >= 10_000 && v % 1000 == 0 ? (v / 1000).ToString("N0", Inv) + "k" : v.ToString("N2", Inv);

    private static string Compact(double v) => v >= 10_000 ? (v / 1000).ToString("0.0", Inv) + "k" : v.ToString("N0", Inv);

    private static string Percent(double v) => v.ToString("0.0%", Inv);

    private static string Day(DateOnly? d) => RunSummary.Day(d);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Css = """
        :root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee3; --bg: #f5f7fa; --card: #ffffff; --accent: #4e79a7; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
        header h1 { margin: 0; font-size: 28px; letter-spacing: -0.01em; }
        .sub { margin: 4px 0 0; color: var(--muted); }
        h2 { font-size: 19px; margin: 0 0 4px; }
        h3 { font-size: 15px; margin: 0 0 4px; }
        section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-top: 18px; }
        .hint { color: var(--muted); margin: 0 0 12px; }
        .kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
        .kpi { background: var(--card); border: 1px solid var(--line); border-top: 4px solid var(--accent); border-radius: 10px; padding: 12px 14px; }
        .kpi.bad { border-top-color: #c0392b; }
        .kpi.wide { grid-column: span 2; }
        .kpi-name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
        .kpi-value { font-size: 24px; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums; }
        .kpi-detail { color: var(--muted); font-size: 12px; }
        .notes { margin: 8px 0 0; padding-left: 22px; }
        .note { background: #fff8e6; border-left: 4px solid #e0b000; border-radius: 6px; padding: 10px 14px; margin-bottom: 10px; }
        .note p { margin: 0; }
        .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 24px; }
        figure { margin: 0; }
        figcaption { font-weight: 600; margin: 6px 0 2px; }
        svg.chart { display: block; width: 100%; height: auto; max-width: 100%; font-family: inherit; }
        svg .grid { stroke: #e6e9ed; stroke-width: 1; }
        svg .grid.light { stroke: #f0f2f4; }
        svg .axis { stroke: #9aa5b1; stroke-width: 1; }
        svg .tick, svg .legend { fill: #52606d; font-size: 11px; }
        svg .cat { fill: var(--ink); font-size: 12px; }
        svg .value { fill: #3e4c59; font-size: 10px; }
        svg .marker { stroke: #c0392b; stroke-width: 1.5; stroke-dasharray: 5 4; }
        svg .marker-label { fill: #c0392b; font-size: 11px; font-weight: 600; }
        table { border-collapse: collapse; width: 100%; margin-top: 12px; font-variant-numeric: tabular-nums; font-size: 13px; }
        th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
        th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
        th { color: var(--muted); font-weight: 600; font-size: 12px; }
        th.reason { white-space: normal; min-width: 64px; }
        td.msg, table.alerts th:last-child { text-align: left; white-space: normal; }
        table.alerts td:nth-child(3), table.alerts th:nth-child(3) { text-align: left; }
        tr.total td { font-weight: 650; border-top: 2px solid var(--line); }
        td.up { color: #2e7d32; } td.down { color: #c0392b; } td.flat { color: var(--muted); }
        .sev { color: #fff; border-radius: 4px; padding: 1px 6px; font-size: 12px; }
        footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
        @media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
        @media print { body { background: #fff; } section { break-inside: avoid; } }
        """;
}
