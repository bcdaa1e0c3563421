using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Marketing;

/// <summary>One row of the daily marketing table (semantics §7).</summary>
/// <param name="Model">Attribution view: orders and revenue are credited to this model's touchpoint session.</param>
public sealed record MarketingDailyRow(
    DateOnly Day, string Model, string Channel, long Sessions, long ConvertedSessions, long Orders, decimal Revenue)
{
    /// <summary>orders / sessions (0 when the cell has no sessions).</summary>
    public double ConversionRate => Sessions == 0 ? 0 : (double)Orders / Sessions;
}

/// <summary>
/// Builds the daily marketing table: per UTC date of session start × channel, the sessions and converted sessions
/// of that date and channel, and — per attribution model — the orders and revenue whose credited touchpoint
/// session started on that date in that channel.
/// </summary>
public sealed class MarketingDaily
{
    private readonly Dictionary<(DateOnly Day, string Channel), (long Sessions, long Converted)> _sessions = [];
    private readonly Dictionary<(DateOnly Day, string Model, string Channel), (long Orders, decimal Revenue)> _orders = [];

    public void Add(Session s)
    {
        var key = (DateOnly.FromDateTime(s.Start), s.Channel);
        var v = _sessions.GetValueOrDefault(key);
        _sessions[key] = (v.Sessions + 1, v.Converted + (s.IsConverted ? 1 : 0));
    }

    public void Add(AttributedOrder order)
    {
        foreach (var model in AttributionModels.All)
        {
            var touch = order.For(model);
            var key = (DateOnly.FromDateTime(touch.SessionStart), model, touch.Channel);
            var v = _orders.GetValueOrDefault(key);
            _orders[key] = (v.Orders + 1, v.Revenue + order.Revenue);
        }
    }

    public IReadOnlyList<MarketingDailyRow> Rows()
    {
        var rows = new List<MarketingDailyRow>();
        foreach (var model in AttributionModels.All)
        {
            var cells = _sessions.Keys.Concat(_orders.Keys.Where(k => k.Model == model).Select(k => (k.Day, k.Channel))).Distinct();
            foreach (var (day, channel) in cells)
            {
                var s = _sessions.GetValueOrDefault((day, channel));
                var o = _orders.GetValueOrDefault((day, model, channel));
                rows.Add(new MarketingDailyRow(day, model, channel, s.Sessions, s.Converted, o.Orders, o.Revenue));
            }
        }

        return rows.OrderBy(r => r.Day).ThenBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Channel, StringComparer.Ordinal).ToList();
    }
}
