using System.Runtime.InteropServices;
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
/// <remarks>
/// The ids are remembered per day — a session's by its start day, an order's by the start day of its own (latest)
/// session — and a day's ids are forgotten once the newest day counted is more than <see cref="IdHorizon"/> past it,
/// so memory stays flat over a long stream. A host that writes the table as it goes (<see cref="TrackChanges"/>) also
/// drops a forgotten day's cells once <see cref="ChangedRows"/> has handed them out, and refuses a contribution that
/// touches a forgotten day (<see cref="TooLate"/>): that day's row is final, and counting it again from an empty cell
/// would overwrite it.
/// </remarks>
public sealed class MarketingDaily
{
    /// <summary>
    /// Redelivery reaches back a checkpoint or two; an order credits sessions up to 7 days before it (semantics §5).
    /// Thirty days covers both with room, and equals the validator's duplicate memory.
    /// </summary>
    public static readonly TimeSpan DefaultIdHorizon = TimeSpan.FromDays(30);

    private readonly Dictionary<(DateOnly Day, string Channel), (long Sessions, long Converted)> _sessions = [];
    private readonly Dictionary<(DateOnly Day, string Model, string Channel), (long Orders, decimal Revenue)> _orders = [];
    private readonly SortedDictionary<DateOnly, HashSet<SessionKey>> _sessionIds = [];
    private readonly SortedDictionary<DateOnly, HashSet<string>> _orderIds = [];
    private readonly List<SessionContribution> _newSessions = [];
    private readonly List<OrderContribution> _newOrders = [];
    private readonly HashSet<DateOnly> _changedDays = [];
    private DateOnly _newest = DateOnly.MinValue;

    /// <summary>Keep the contributions counted since the last <see cref="TakeChanges"/> (for a checkpoint).</summary>
    public bool TrackChanges { get; init; }

    /// <summary>
    /// Every session and order is handed over exactly once (one process runs every stage): count them without remembering
    /// their ids. In a profile of the embedded run at x100, the per-day id sets took 2 % of all CPU and 38 bytes per event.
    /// Never for a host that restarts from a checkpoint (<see cref="TrackChanges"/>): it is delivered input again.
    /// </summary>
    public bool DeliveredOnce { get; init; }

    /// <summary>How long (days of event time behind the newest day counted) the ids of counted sessions and orders are remembered.</summary>
    public TimeSpan IdHorizon { get; init; } = DefaultIdHorizon;

    /// <summary>Days before this one are forgotten: their ids are no longer remembered.</summary>
    public DateOnly ForgottenBefore { get; private set; } = DateOnly.MinValue;

    /// <summary>Session and order ids remembered.</summary>
    public int RememberedIds => _sessionIds.Values.Sum(ids => ids.Count) + _orderIds.Values.Sum(ids => ids.Count);

    /// <summary>With <see cref="TrackChanges"/>: contributions refused because they touch a forgotten day.</summary>
    public long TooLate { get; private set; }

    /// <summary>Counts a session; false when it was already counted (or, tracking changes, touches a forgotten day).</summary>
    public bool Add(Session s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return AddSession(s, DateOnly.FromDateTime(s.Start), s.Channel, s.IsConverted);
    }

    /// <summary>Credits an order to each model's touchpoint session; false when it was already credited (or is too late, as above).</summary>
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

    /// <summary>
    /// Counts stored contributions again (after a restart); ones already counted are ignored, and so are those touching
    /// a day forgotten by then (the stored ones of such a day are incomplete: its row was written before).
    /// </summary>
    public void Restore(IEnumerable<SessionContribution> sessions, IEnumerable<OrderContribution> orders)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(orders);
        var sessionList = sessions.ToList();
        var orderList = orders.ToList();
        foreach (var day in sessionList.Select(s => s.Day).Concat(orderList.Select(o => o.Day())))
            Advance(day);
        foreach (var s in sessionList.Where(s => !Forgotten(s)))
            CountSession(SessionKey.Of(s.SessionId), s.Day, s.Channel, s.Converted);
        foreach (var o in orderList.Where(o => !Forgotten(o)))
            Count(o);
    }

    // Takes the parts rather than a SessionContribution: the record is only made when it is kept for a checkpoint.
    private bool AddSession(Session session, DateOnly day, string channel, bool converted)
    {
        if (TrackChanges && day < ForgottenBefore)
        {
            TooLate++;
            return false;
        }

        if (!CountSession(SessionKey.Of(session), day, channel, converted))
            return false;
        if (TrackChanges)
        {
            _newSessions.Add(new SessionContribution(session.SessionId, day, channel, converted));
            _changedDays.Add(day);
        }

        Advance(day);
        return true;
    }

    private bool Add(OrderContribution o)
    {
        if (TrackChanges && Forgotten(o))
        {
            TooLate++;
            return false;
        }

        if (!Count(o))
            return false;
        if (TrackChanges)
        {
            _newOrders.Add(o);
            foreach (var credit in o.Credits)
                _changedDays.Add(credit.Day);
        }

        Advance(o.Day());
        return true;
    }

    private bool Forgotten(SessionContribution s) => s.Day < ForgottenBefore;

    private bool Forgotten(OrderContribution o) => o.Credits.Any(c => c.Day < ForgottenBefore);

    private bool CountSession(SessionKey sessionId, DateOnly day, string channel, bool converted)
    {
        if (!DeliveredOnce)
        {
            // Sessions close in about the order of their days: the last day's set serves most of them without a tree lookup.
            if (_lastSessionIds is not { } ids || _lastSessionDay != day)
            {
                ids = IdsOf(_sessionIds, day, capacity: _lastSessionIds?.Count ?? 0);
                (_lastSessionDay, _lastSessionIds) = (day, ids);
            }

            if (!ids.Add(sessionId))
                return false;
        }

        ref var v = ref CollectionsMarshal.GetValueRefOrAddDefault(_sessions, (day, channel), out _);
        v = (v.Sessions + 1, v.Converted + (converted ? 1 : 0));
        return true;
    }

    private bool Count(OrderContribution o)
    {
        if (!DeliveredOnce && !IdsOf(_orderIds, o.Day()).Add(o.TransactionId))
            return false;
        foreach (var credit in o.Credits)
        {
            var key = (credit.Day, credit.Model, credit.Channel);
            var v = _orders.GetValueOrDefault(key);
            _orders[key] = (v.Orders + 1, v.Revenue + o.Revenue);
        }

        return true;
    }

    // The session-id set of the day of the last session counted (a day still in _sessionIds), sized like the day before.
    private DateOnly _lastSessionDay;
    private HashSet<SessionKey>? _lastSessionIds;

    private static HashSet<T> IdsOf<T>(SortedDictionary<DateOnly, HashSet<T>> byDay, DateOnly day, int capacity = 0)
    {
        // The default comparer: ordinal for strings (SessionKey compares its text with it too).
        if (!byDay.TryGetValue(day, out var ids))
            byDay[day] = ids = new HashSet<T>(capacity);
        return ids;
    }

    /// <summary>
    /// A session id as a day's set remembers it: the pipeline's ids (<see cref="Session.IdPrefix"/> and 32 lower-case hex
    /// digits) by their number, so the sets hold no strings (a month of ids would keep every session id's text alive
    /// through every collection), any other id by its text. The number is two halves, not a UInt128, whose 16-byte
    /// alignment would make each set entry 40 bytes instead of 32.
    /// </summary>
    private readonly record struct SessionKey(ulong Upper, ulong Lower, string? Text)
    {
        public static SessionKey Of(Session s) => s.TryGetIdNumber(out var number) ? Of(number) : Of(s.SessionId);

        public static SessionKey Of(string id)
        {
            var digits = id.AsSpan(Math.Min(id.Length, Session.IdPrefix.Length));
            return id.StartsWith(Session.IdPrefix, StringComparison.Ordinal) && !digits.ContainsAnyInRange('A', 'F')
                && HexId.TryParse(digits, out var number)
                ? Of(number)
                : new(0, 0, id);
        }

        private static SessionKey Of(UInt128 number) => new((ulong)(number >> 64), (ulong)number, null);
    }

    /// <summary>Moves the newest day on; days past the horizon lose their ids (and, tracking changes, their written cells).</summary>
    private void Advance(DateOnly day)
    {
        if (day <= _newest)
            return;
        _newest = day;
        var cutoff = day.AddDays(-(int)Math.Ceiling(IdHorizon.TotalDays));
        if (cutoff > ForgottenBefore)
            Forget(cutoff);
    }

    // Apart from Advance, which runs for every session: its closures would be allocated on every call.
    private void Forget(DateOnly cutoff)
    {
        ForgottenBefore = cutoff;
        if (_lastSessionDay < cutoff)
            _lastSessionIds = null;
        ForgetIds(_sessionIds);
        ForgetIds(_orderIds);
        if (TrackChanges)
            ForgetCells(d => !_changedDays.Contains(d));

        void ForgetIds<T>(SortedDictionary<DateOnly, HashSet<T>> byDay)
        {
            while (byDay.Count > 0 && byDay.First() is var (oldest, _) && oldest < cutoff)
                byDay.Remove(oldest);
        }
    }

    private void ForgetCells(Func<DateOnly, bool> unwritten)
    {
        foreach (var key in _sessions.Keys.Where(k => k.Day < ForgottenBefore && unwritten(k.Day)).ToList())
            _sessions.Remove(key);
        foreach (var key in _orders.Keys.Where(k => k.Day < ForgottenBefore && unwritten(k.Day)).ToList())
            _orders.Remove(key);
    }

    /// <summary>The whole table.</summary>
    public IReadOnlyList<MarketingDailyRow> Rows() => RowsOf(_ => true);

    /// <summary>
    /// The rows of the days changed since the last call (every row of such a day), for a host that writes the table as
    /// it goes; then drops the cells of forgotten days.
    /// </summary>
    public IReadOnlyList<MarketingDailyRow> ChangedRows()
    {
        var changed = _changedDays.ToHashSet();
        _changedDays.Clear();
        var rows = RowsOf(changed.Contains);
        ForgetCells(_ => true);
        return rows;
    }

    private List<MarketingDailyRow> RowsOf(Func<DateOnly, bool> include)
    {
        var rows = new List<MarketingDailyRow>();
        foreach (var model in AttributionModels.All)
        {
            var cells = _sessions.Keys.Concat(_orders.Keys.Where(k => k.Model == model).Select(k => (k.Day, k.Channel))).Where(k => include(k.Day)).Distinct();
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
public sealed record OrderContribution(string TransactionId, decimal Revenue, IReadOnlyList<ModelCredit> Credits)
{
    /// <summary>The day its ids are remembered by: the latest credited day (the start day of the order's own session).</summary>
    public DateOnly Day() => Credits.Count == 0 ? DateOnly.MinValue : Credits.Max(c => c.Day);
}

public sealed record ModelCredit(string Model, DateOnly Day, string Channel);
