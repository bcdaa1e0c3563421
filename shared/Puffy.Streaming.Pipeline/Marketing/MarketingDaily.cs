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
/// session started on that date in that channel. Each session and order counts once, however often it is
/// delivered (by id), so the table stays exact under at-least-once input.
/// </summary>
public sealed class MarketingDaily
{
    private readonly Dictionary<(DateOnly Day, string Channel), (long Sessions, long Converted)> _sessions = [];
    private readonly Dictionary<(DateOnly Day, string Model, string Channel), (long Orders, decimal Revenue)> _orders = [];
    private readonly HashSet<string> _sessionIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _orderIds = new(StringComparer.Ordinal);
    private readonly List<SessionContribution> _newSessions = [];
    private readonly List<OrderContribution> _newOrders = [];

    /// <summary>Keep the contributions counted since the last <see cref="TakeChanges"/> (for a checkpoint).</summary>
    public bool TrackChanges { get; init; }

    /// <summary>Counts a session; false when it was already counted.</summary>
    public bool Add(Session s) => Add(new SessionContribution(s.SessionId, DateOnly.FromDateTime(s.Start), s.Channel, s.IsConverted));

    /// <summary>Credits an order to each model's touchpoint session; false when it was already credited.</summary>
    public bool Add(AttributedOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        var credits = AttributionModels.All.Select(model =>
        {
            var touch = order.For(model);
            return new ModelCredit(model, DateOnly.FromDateTime(touch.SessionStart), touch.Channel);
        });
        return Add(new OrderContribution(order.TransactionId, order.Revenue, credits.ToList()));
    }

    /// <summary>The contributions counted since the last call (empty unless <see cref="TrackChanges"/>).</summary>
    public (IReadOnlyList<SessionContribution> Sessions, IReadOnlyList<OrderContribution> Orders) TakeChanges()
    {
        var taken = (_newSessions.ToList(), _newOrders.ToList());
        _newSessions.Clear();
        _newOrders.Clear();
        return taken;
    }

    /// <summary>Counts stored contributions again (after a restart); ones already counted are ignored.</summary>
    public void Restore(IEnumerable<SessionContribution> sessions, IEnumerable<OrderContribution> orders)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(orders);
        foreach (var s in sessions)
            Count(s);
        foreach (var o in orders)
            Count(o);
    }

    private bool Add(SessionContribution s)
    {
        if (!Count(s))
            return false;
        if (TrackChanges)
            _newSessions.Add(s);
        return true;
    }

    private bool Add(OrderContribution o)
    {
        if (!Count(o))
            return false;
        if (TrackChanges)
            _newOrders.Add(o);
        return true;
    }

    private bool Count(SessionContribution s)
    {
        if (!_sessionIds.Add(s.SessionId))
            return false;
        var key = (s.Day, s.Channel);
        var v = _sessions.GetValueOrDefault(key);
        _sessions[key] = (v.Sessions + 1, v.Converted + (s.Converted ? 1 : 0));
        return true;
    }

    private bool Count(OrderContribution o)
    {
        if (!_orderIds.Add(o.TransactionId))
            return false;
        foreach (var credit in o.Credits)
        {
            var key = (credit.Day, credit.Model, credit.Channel);
            var v = _orders.GetValueOrDefault(key);
            _orders[key] = (v.Orders + 1, v.Revenue + o.Revenue);
        }

        return true;
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

/// <summary>What one session adds to the table: a session (maybe converted) on its start day in its channel.</summary>
public sealed record SessionContribution(string SessionId, DateOnly Day, string Channel, bool Converted);

/// <summary>What one order adds: its revenue, credited per model to the start day and channel of a session.</summary>
public sealed record OrderContribution(string TransactionId, decimal Revenue, IReadOnlyList<ModelCredit> Credits);

public sealed record ModelCredit(string Model, DateOnly Day, string Channel);
