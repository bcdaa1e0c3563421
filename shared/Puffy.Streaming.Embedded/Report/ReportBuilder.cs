using System.Globalization;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded.Report;

/// <summary>One row of the daily marketing table under the last-click view (channel = the session's landing channel).</summary>
public sealed record MarketingRow(DateOnly Day, string Channel, long Sessions, long ConvertedSessions, long Orders, decimal Revenue);

/// <summary>What a store loader reads; <see cref="ReportBuilder.Build"/> turns it into the report model.</summary>
public sealed record ReportInput(
    IReadOnlyList<FileQuality> Files,
    IReadOnlyList<MarketingRow> Marketing,
    long Sessions,
    long ConvertedSessions,
    long Orders,
    decimal Revenue,
    long ZeroRevenueOrders,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, decimal>> Attribution,
    IReadOnlyList<ReportAlert> Alerts);

/// <summary>Orders the store's rows into the report model and derives the notes on where the data breaks.</summary>
public static class ReportBuilder
{
    /// <summary>The channels whose sessions are recognised from the referrer (semantics §4 rules 8–10, 12).</summary>
    private static readonly string[] ReferrerChannels = [Channels.Referral, Channels.OrganicSearch, Channels.OrganicSocial];

    public static ReportModel Build(ReportInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Both stores give exact cents, but with different decimal scales (287744.4 vs 287744.40): fix the scale at 2.
        input = input with
        {
            Revenue = Money(input.Revenue),
            Marketing = input.Marketing.Select(r => r with { Revenue = Money(r.Revenue) }).ToList(),
            Attribution = input.Attribution.ToDictionary(m => m.Key, m => (IReadOnlyDictionary<string, decimal>)m.Value.ToDictionary(c => c.Key, c => Money(c.Value), StringComparer.Ordinal), StringComparer.Ordinal),
        };
        var files = input.Files.OrderBy(f => f.Day ?? DateOnly.MaxValue).ThenBy(f => f.File, StringComparer.Ordinal).ToList();
        var daily = input.Marketing.GroupBy(r => r.Day).OrderBy(g => g.Key).Select(g => new ReportDay(
                g.Key, g.Sum(r => r.Sessions), g.Sum(r => r.ConvertedSessions), g.Sum(r => r.Orders), g.Sum(r => r.Revenue),
                new SortedDictionary<string, long>(g.Where(r => r.Sessions > 0).ToDictionary(r => r.Channel, r => r.Sessions), StringComparer.Ordinal)))
            .ToList();

        var seen = input.Marketing.Select(r => r.Channel)
            .Concat(input.Attribution.Values.SelectMany(m => m.Keys))
            .ToHashSet(StringComparer.Ordinal);
        // The vocabulary's order (paid first, Direct last); unresolved channel names after it, alphabetically.
        var channels = Channels.All.Where(seen.Contains).Concat(seen.Except(Channels.All).Order(StringComparer.Ordinal)).ToList();

        decimal Credit(string model, string channel) =>
            input.Attribution.TryGetValue(model, out var m) ? m.GetValueOrDefault(channel) : 0m;
        var revenue = channels
            .Select(c => new ChannelRevenue(c, Credit(AttributionModels.FirstClick, c), Credit(AttributionModels.LastClick, c), Credit(AttributionModels.LastNonDirect, c)))
            .Where(r => r.FirstClick != 0 || r.LastClick != 0 || r.LastNonDirect != 0)
            .ToList();

        var reasons = DeadLetterReasons.All.Where(r => files.Any(f => f.ByReason.GetValueOrDefault(r) > 0))
            .Concat(files.SelectMany(f => f.ByReason.Where(kv => kv.Value > 0).Select(kv => kv.Key)).Except(DeadLetterReasons.All).Distinct().Order(StringComparer.Ordinal))
            .ToList();
        var quality = files.Select(f => f with
        {
            ByReason = new SortedDictionary<string, long>(f.ByReason.Where(kv => kv.Value > 0).ToDictionary(), StringComparer.Ordinal),
        }).ToList();

        var alerts = input.Alerts
            .OrderBy(a => a.Day ?? DateOnly.MinValue).ThenBy(a => SeverityRank(a.Severity)).ThenBy(a => a.Rule, StringComparer.Ordinal)
            .ToList();

        var days = files.Where(f => f.Day is not null).Select(f => f.Day!.Value).Concat(daily.Select(d => d.Day)).ToList();
        var kpis = new ReportKpis(
            days.Count == 0 ? null : days.Min(), days.Count == 0 ? null : days.Max(), files.Count,
            files.Sum(f => f.Rows), files.Sum(f => f.Valid), files.Sum(f => f.DeadLettered),
            input.Sessions, input.ConvertedSessions, input.Orders, input.Revenue, input.ZeroRevenueOrders,
            alerts.Count(a => a.Severity == "critical"), alerts.Count(a => a.Severity == "warning"));

        return new ReportModel(kpis, daily, channels, revenue, reasons, quality, alerts, Notes(files, daily, alerts));
    }

    private static decimal Money(decimal value) => decimal.Round(value, 2, MidpointRounding.AwayFromZero) + 0.00m;

    private static int SeverityRank(string severity) => severity switch
    {
        "critical" => 0,
        "error" => 1,
        "warning" => 2,
        _ => 3,
    };

    private static List<DataNote> Notes(List<FileQuality> files, List<ReportDay> daily, List<ReportAlert> alerts)
    {
        var notes = new List<DataNote>();
        for (var i = 1; i < files.Count; i++)
        {
            var before = Columns(files[i - 1]);
            var now = Columns(files[i]);
            var missing = before.Except(now).ToList();
            var added = now.Except(before).ToList();
            if (missing.Count == 0 && added.Count == 0)
                continue;
            var day = files[i].Day;
            var alert = alerts.FirstOrDefault(a => a.Rule == "schema_change" && a.Day == day);
            if (missing.Contains("referrer", StringComparer.Ordinal))
            {
                notes.Add(ReferrerNote(files, i, daily, alert));
                missing.Remove("referrer");
                if (missing.Count == 0 && added.Count == 0)
                    continue;
            }

            var parts = new List<string>();
            if (missing.Count > 0)
                parts.Add("no longer has " + Names(missing));
            if (added.Count > 0)
                parts.Add("has new " + Names(added));
            var text = Inv($"From {Day(day)} the export ({files[i].File}) {string.Join(" and ", parts)} compared with {files[i - 1].File}.");
            if (missing.Count == 1 && added.Count == 1)
                text += Inv($" This looks like a rename of '{missing[0]}' to '{added[0]}'.");
            if (alert is not null)
                text += Inv($" The monitor raised a {alert.Severity} schema_change alert.");
            notes.Add(new DataNote(day, Inv($"Columns changed on {Day(day)}"), text, Schema: true));
        }

        foreach (var a in alerts.Where(a => a.Rule == "field_all_null"))
        {
            notes.Add(new DataNote(a.Day, Inv($"A field turned empty on {Day(a.Day)}"),
                Inv($"{a.Message}. Every figure that needs this field is missing from this day on; revenue totals use each purchase's own revenue value."), Schema: false));
        }

        foreach (var a in alerts.Where(a => a.Rule == "missing_client_id_rate" && a.Severity == "critical"))
        {
            notes.Add(new DataNote(a.Day, Inv($"Many visitors without a client id on {Day(a.Day)}"),
                Inv($"{a.Message}. Those rows cannot be joined into sessions and are dead-lettered, so sessions and orders of that day are undercounted."), Schema: false));
        }

        return notes.OrderBy(n => n.Day ?? DateOnly.MinValue).ToList();
    }

    private static DataNote ReferrerNote(List<FileQuality> files, int first, List<ReportDay> daily, ReportAlert? alert)
    {
        var last = first;
        while (last + 1 < files.Count && !Columns(files[last + 1]).Contains("referrer"))
            last++;
        var from = files[first].Day;
        var to = files[last].Day;
        var span = last == first ? Inv($"the export of {Day(from)} has") : Inv($"the exports from {Day(from)} to {Day(to)} ({last - first + 1} files) have");
        var text = Inv($"From {Day(from)} {span} no referrer column. Without the referrer, a visit that carries no campaign tag or click id can no longer be told apart as Direct, Referral or organic; the pipeline labels it Unattributed instead of guessing.");

        var dayBefore = daily.LastOrDefault(d => files[first - 1].Day is { } b && d.Day <= b);
        var dayOf = daily.FirstOrDefault(d => d.Day == from);
        if (dayBefore is not null && dayOf is not null)
        {
            text += Inv($" Direct went from {Share(dayBefore, Channels.Direct)} of sessions on {Day(dayBefore.Day)} to {Share(dayOf, Channels.Direct)} on {Day(dayOf.Day)}, Unattributed from {Share(dayBefore, Channels.Unattributed)} to {Share(dayOf, Channels.Unattributed)}, and Referral, Organic Search and Organic Social together from {Share(dayBefore, ReferrerChannels)} to {Share(dayOf, ReferrerChannels)}.");
        }

        text += " Read channel trends across this date as a change in measurement, not in customer behaviour. Last-non-direct attribution, which credits the latest campaign touch before an Unattributed visit, is the least affected view.";
        if (alert is not null)
            text += Inv($" The monitor raised a {alert.Severity} schema_change alert.");
        return new DataNote(from, Inv($"The referrer column is missing from {Day(from)}: Direct sessions become Unattributed"), text, Schema: true);
    }

    private static string Share(ReportDay day, params string[] channels) =>
        day.Sessions == 0 ? "n/a" : ((double)channels.Sum(c => day.SessionsByChannel.GetValueOrDefault(c)) / day.Sessions).ToString("0.0%", CultureInfo.InvariantCulture);

    private static HashSet<string> Columns(FileQuality f) =>
        f.Columns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    private static string Names(List<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    private static string Day(DateOnly? day) => RunSummary.Day(day);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
