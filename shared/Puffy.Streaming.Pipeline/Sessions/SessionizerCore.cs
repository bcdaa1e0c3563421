using System.Runtime.InteropServices;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Classification;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.Pipeline.Sessions;

public sealed class SessionizerOptions
{
    /// <summary>A gap of at least this much between a client's events starts a new session.</summary>
    public TimeSpan SessionGap { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long (event time) a client's last applied event is remembered to recognise redelivered events.</summary>
    public TimeSpan RedeliveryHorizon { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>An open session as stored outside the process (Redis), so a restarted sessionizer resumes it.</summary>
public sealed record OpenSessionState(
    string SessionId, string ClientId, DateTime Start, DateTime Last, string FirstEventId, string Channel, string Device,
    string? LandingPage, string? LandingReferrer, int[] Counts, int EventCount, decimal Revenue, IReadOnlyList<string> TransactionIds);

/// <summary>
/// What a sessionizer knows of one client: the last event it applied (to recognise redelivery) and the open session,
/// if any. Null <see cref="Open"/> means the client has no open session.
/// </summary>
public sealed record ClientState(string ClientId, DateTime LastAppliedTime, string LastAppliedEventId, OpenSessionState? Open)
{
    /// <summary>
    /// A client the sessionizer no longer remembers (no open session, last event past the redelivery horizon): a
    /// checkpoint must delete its stored state, or a restart would bring back whatever was stored before.
    /// </summary>
    public static ClientState Forgotten(string clientId) => new(clientId, DateTime.MinValue, string.Empty, null);

    public bool IsForgotten => Open is null && LastAppliedTime == DateTime.MinValue;
}

/// <summary>
/// The closed sessions counted so far into a day of session start, for a checkpoint. <see cref="Completed"/>: the day's
/// metrics were published and its tally dropped. Open sessions are not counted here; they come back with the clients.
/// </summary>
public sealed record DayState(DateOnly Day, long Sessions, long Converted, long Orders, IReadOnlyDictionary<string, long> ByChannel, bool Completed = false);

/// <summary>
/// The sessionizer's core (semantics §3). Input must arrive in (event time, event id) order per client, as the
/// validator releases it. A session closes as soon as no event can extend it any more (its last event is a full
/// gap behind the newest event), so state holds open sessions only and does not grow with finished ones.
/// Per day of session start it publishes session metrics once every session that started that day is closed.
/// </summary>
public sealed class SessionizerCore(SessionizerOptions options)
{
    private readonly Dictionary<string, OpenSession> _open = new(StringComparer.Ordinal);

    // Open sessions ordered by last event time: input is time-ordered, so "moved to the end on every event" keeps it sorted.
    // The sessions are the list's links (Older/Newer), so a session costs no node object.
    private OpenSession? _oldest;
    private OpenSession? _newest;
    private readonly SortedDictionary<DateOnly, DayTally> _days = [];
    private DateTime _earliestDayEnd = DateTime.MaxValue;
    private DateTime _now = DateTime.MinValue;
    private readonly Dictionary<string, (DateTime Time, string EventId)> _lastApplied = new(StringComparer.Ordinal);
    private readonly Queue<(DateTime Time, string ClientId)> _lastAppliedExpiry = new();
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly HashSet<DateOnly> _changedDays = [];

    /// <summary>
    /// For hosts that checkpoint state and may be handed events again after a restart: remembers each client's last
    /// applied event, passes redelivered ones on without applying them twice, and tracks the client states touched
    /// since the last <see cref="TakeChanges"/>. Off in the embedded run, where nothing is delivered twice.
    /// </summary>
    public bool TrackChanges { get; init; }

    public Action<SessionizedEvent> OnEvent { get; init; } = static _ => { };

    public Action<Session> OnSessionClosed { get; init; } = static _ => { };

    public Action<Metric> OnMetric { get; init; } = static _ => { };

    public int OpenSessions => _open.Count;

    private bool _flushed;

    /// <summary>
    /// The last day whose sessions are all closed and counted (its metrics published, or it had no session here): every
    /// day that ends at or before the newest event time and starts no open session, nor follows a day that does. Null
    /// before any event; <see cref="Ingest.EventTime.LastDay"/> after <see cref="Flush"/>. A partition-parallel host publishes it so
    /// the monitor knows when a day's partial metrics from every partition are in.
    /// </summary>
    public DateOnly? CompleteThrough
    {
        get
        {
            if (_flushed)
                return Ingest.EventTime.LastDay;
            if (_now == DateTime.MinValue)
                return null;
            var ended = DateOnly.FromDateTime(_now).AddDays(-1);
            if (_earliestDayEnd == DateTime.MaxValue)
                return ended;
            // _earliestDayEnd is the end of the first day still tallied (asked after every message: no enumeration).
            var firstOpen = DateOnly.FromDateTime(_earliestDayEnd).AddDays(-1);
            return firstOpen <= ended ? firstOpen.AddDays(-1) : ended;
        }
    }

    public SessionizedEvent? Accept(ValidEvent ev)
    {
        if (TrackChanges && _lastApplied.TryGetValue(ev.ClientId, out var applied)
            && (ev.Timestamp < applied.Time || (ev.Timestamp == applied.Time && string.CompareOrdinal(ev.EventId, applied.EventId) <= 0)))
            return Redelivered(ev);
        _flushed = false;
        AdvanceTo(ev.Timestamp);
        // One lookup: the slot is the client's open session, replaced when a new one starts (nothing below adds to or
        // removes from _open while the slot is held).
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_open, ev.ClientId, out _);
        var s = slot;
        if (s is not null)
        {
            if (ev.Timestamp - s.Last >= options.SessionGap)
            {
                Close(s, forget: false);
                s = null;
            }
            else
            {
                Unlink(s);
            }
        }

        var isStart = s is null;
        if (s is null)
        {
            var channel = ev.LandingChannel ?? ChannelClassifier.Classify(ev.PageUrl, ev.Referrer);
            s = new OpenSession(ev, channel);
            slot = s;
            SessionOpened(ev.Timestamp);
        }

        s.Add(ev);
        Append(s);
        Applied(ev);
        var sessionized = s.Sessionized(ev, isStart);
        OnEvent(sessionized);
        return sessionized;
    }

    /// <summary>
    /// An event at or before the client's last applied one was applied already (redelivery after a restart): state is
    /// not touched. If it belongs to the still-open session it is passed on again (sinks are idempotent); an event of an
    /// already closed session was fully handled before the state that closed it was stored, so it is dropped.
    /// </summary>
    private SessionizedEvent? Redelivered(ValidEvent ev)
    {
        if (!_open.TryGetValue(ev.ClientId, out var s) || ev.Timestamp < s.Start)
            return null;
        var sessionized = s.Sessionized(ev, ev.EventId == s.FirstEventId);
        OnEvent(sessionized);
        return sessionized;
    }

    private void Applied(ValidEvent ev)
    {
        if (!TrackChanges)
            return;
        _lastApplied[ev.ClientId] = (ev.Timestamp, ev.EventId);
        _lastAppliedExpiry.Enqueue((ev.Timestamp, ev.ClientId));
        if (TrackChanges)
            _changed.Add(ev.ClientId);
        var horizon = ev.Timestamp - options.RedeliveryHorizon;
        while (_lastAppliedExpiry.TryPeek(out var old) && old.Time < horizon)
        {
            _lastAppliedExpiry.Dequeue();
            if (_lastApplied.TryGetValue(old.ClientId, out var current) && current.Time == old.Time && !_open.ContainsKey(old.ClientId))
            {
                // Its stored state goes at the next checkpoint too, or the store would keep every client ever seen.
                _lastApplied.Remove(old.ClientId);
                _changed.Add(old.ClientId);
            }
        }
    }

    /// <summary>
    /// The states of the clients touched since the last call (for a checkpoint), in client-id order. A client forgotten
    /// in the meantime (its session closed and its last event passed the redelivery horizon before this checkpoint, as
    /// happens when checkpoints lag on a busy machine) comes as <see cref="ClientState.Forgotten"/>: its stored state
    /// must go, not stay as it was at an earlier checkpoint.
    /// </summary>
    public IReadOnlyList<ClientState> TakeChanges()
    {
        var changes = _changed.Order(StringComparer.Ordinal).Select(c => StateOf(c) ?? ClientState.Forgotten(c)).ToList();
        _changed.Clear();
        return changes;
    }

    private ClientState? StateOf(string clientId) =>
        _lastApplied.TryGetValue(clientId, out var applied)
            ? new ClientState(clientId, applied.Time, applied.EventId, _open.TryGetValue(clientId, out var s) ? s.ToState() : null)
            : null;

    /// <summary>The day tallies changed since the last call (for the same checkpoint as <see cref="TakeChanges"/>).</summary>
    public IReadOnlyList<DayState> TakeDayChanges()
    {
        var changes = _changedDays.Order().Select(day => _days.TryGetValue(day, out var t)
            ? new DayState(day, t.Sessions, t.Converted, t.Orders, new SortedDictionary<string, long>(t.ByChannel, StringComparer.Ordinal))
            : new DayState(day, 0, 0, 0, new Dictionary<string, long>(), Completed: true)).ToList();
        _changedDays.Clear();
        return changes;
    }

    /// <summary>Loads stored day tallies (after a restart), before <see cref="Restore"/> and before any event.</summary>
    public void RestoreDays(IEnumerable<DayState> days)
    {
        ArgumentNullException.ThrowIfNull(days);
        foreach (var state in days.Where(d => !d.Completed))
        {
            var tally = Tally(state.Day);
            tally.Sessions = state.Sessions;
            tally.Converted = state.Converted;
            tally.Orders = state.Orders;
            foreach (var (channel, count) in state.ByChannel)
                tally.ByChannel[channel] = count;
        }
    }

    /// <summary>Loads stored client states (after a restart), before any event is accepted.</summary>
    public void Restore(IEnumerable<ClientState> states)
    {
        foreach (var state in states.Where(x => !x.IsForgotten).OrderBy(x => x.Open?.Last ?? x.LastAppliedTime))
        {
            _lastApplied[state.ClientId] = (state.LastAppliedTime, state.LastAppliedEventId);
            _lastAppliedExpiry.Enqueue((state.LastAppliedTime, state.ClientId));
            if (state.Open is not { } open)
                continue;
            var s = OpenSession.FromState(open);
            _open[open.ClientId] = s;
            Append(s);
            SessionOpened(open.Start);
        }
    }

    /// <summary>Closes every session that can no longer be extended at event time <paramref name="now"/>.</summary>
    public void AdvanceTo(DateTime now)
    {
        if (now <= _now)
            return;
        _now = now;
        while (_oldest is { } first && now - first.Last >= options.SessionGap)
            Close(first);
        CompleteDays(now);
    }

    /// <summary>End of replay: closes every open session and completes every day.</summary>
    public void Flush()
    {
        while (_oldest is { } first)
            Close(first);
        CompleteDays(DateTime.MaxValue);
        _flushed = true;
    }

    /// <summary>Counts a session opened on the day of <paramref name="start"/> (its day completes once it closes).</summary>
    private void SessionOpened(DateTime start)
    {
        Tally(DateOnly.FromDateTime(start)).Open++;
    }

    private DayTally Tally(DateOnly day)
    {
        if (!_days.TryGetValue(day, out var tally))
        {
            _days[day] = tally = new DayTally();
            var dayEnd = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            if (dayEnd < _earliestDayEnd)
                _earliestDayEnd = dayEnd;
        }

        return tally;
    }

    private void Close(OpenSession s, bool forget = true)
    {
        Unlink(s);
        if (forget)
            _open.Remove(s.ClientId);
        if (TrackChanges)
            _changed.Add(s.ClientId);
        var session = s.ToSession();
        var day = DateOnly.FromDateTime(session.Start);
        var tally = _days[day];
        if (TrackChanges)
            _changedDays.Add(day);
        tally.Open--;
        tally.Sessions++;
        tally.ByChannel[session.Channel] = tally.ByChannel.GetValueOrDefault(session.Channel) + 1;
        if (session.IsConverted)
            tally.Converted++;
        tally.Orders += session.Orders;
        OnSessionClosed(session);
    }

    private void Append(OpenSession s)
    {
        s.Older = _newest;
        s.Newer = null;
        if (_newest is null)
            _oldest = s;
        else
            _newest.Newer = s;
        _newest = s;
    }

    private void Unlink(OpenSession s)
    {
        if (s.Older is null)
            _oldest = s.Newer;
        else
            s.Older.Newer = s.Newer;
        if (s.Newer is null)
            _newest = s.Older;
        else
            s.Newer.Older = s.Older;
        s.Older = s.Newer = null;
    }

    private void CompleteDays(DateTime now)
    {
        if (now < _earliestDayEnd)
            return;
        while (_days.Count > 0)
        {
            var (day, tally) = _days.First();
            var dayEnd = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            _earliestDayEnd = dayEnd;
            if (tally.Open > 0 || now < dayEnd)
                return;
            _days.Remove(day);
            if (TrackChanges)
                _changedDays.Add(day);
            _earliestDayEnd = DateTime.MaxValue;
            OnMetric(new Metric(day, MetricNames.DaySessions, string.Empty, tally.Sessions, string.Empty));
            foreach (var (channel, count) in tally.ByChannel.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                OnMetric(new Metric(day, MetricNames.DayChannelSessions, channel, count, string.Empty));
            OnMetric(new Metric(day, MetricNames.DayConvertedSessions, string.Empty, tally.Converted, string.Empty));
            OnMetric(new Metric(day, MetricNames.DayOrders, string.Empty, tally.Orders, string.Empty));
            OnMetric(new Metric(day, MetricNames.DayComplete, string.Empty, tally.Sessions, string.Empty));
        }
    }

    private sealed class DayTally
    {
        public int Open { get; set; }
        public long Sessions { get; set; }
        public long Converted { get; set; }
        public long Orders { get; set; }
        public Dictionary<string, long> ByChannel { get; } = new(StringComparer.Ordinal);
    }

    // Events per event name, inside the session object: one array less per session.
    [System.Runtime.CompilerServices.InlineArray(5)]
    private struct EventCounts
    {
        private int _first;
    }

    private sealed class OpenSession
    {
        private EventCounts _counts;
        private List<string>? _transactions;
        private int _events;
        private decimal _revenue;

        // The session's id and its first event's, as numbers when the first event's id is one (semantics §3's session id is
        // derived from it): their text is made only when asked for (a stored state, a message that wants it).
        private readonly bool _numbered;
        private readonly UInt128 _number;
        private readonly UInt128 _firstEventNumber;
        private string? _sessionId;
        private string? _firstEventId;

        // The landing page as the first event's UTF-8 when it has that: its text is only needed for a stored state.
        private readonly ReadOnlyMemory<byte>? _landingUtf8;
        private string? _landingPage;

        public OpenSession(ValidEvent first, string channel)
            : this(null, first.ClientId, first.Timestamp, first.Timestamp, null, channel, first.Device,
                first.TryGetPageUrlUtf8(out _) ? null : first.PageUrl, first.Referrer, [], 0, 0m, null)
        {
            if (first.TryGetPageUrlUtf8(out var landingUtf8))
                _landingUtf8 = landingUtf8;
            if (first.TryGetIdNumber(out _firstEventNumber))
            {
                _numbered = true;
                _number = EventId.DeriveNumber(first.ClientId, _firstEventNumber);
            }
            else
            {
                _firstEventId = first.EventId;
                _sessionId = EventId.Derive(Session.IdPrefix, first.ClientId, _firstEventId);
            }
        }

        private OpenSession(string? sessionId, string clientId, DateTime start, DateTime last, string? firstEventId, string channel, string device,
            string? landingPage, string? landingReferrer, ReadOnlySpan<int> counts, int events, decimal revenue, List<string>? transactions)
        {
            _sessionId = sessionId;
            ClientId = clientId;
            Start = start;
            Last = last;
            _firstEventId = firstEventId;
            Channel = channel;
            Device = device;
            _landingPage = landingPage;
            LandingReferrer = landingReferrer;
            counts[..Math.Min(counts.Length, 5)].CopyTo(_counts);
            _events = events;
            _revenue = revenue;
            _transactions = transactions;
        }

        public string SessionId => _sessionId ??= EventId.ToText(Session.IdPrefix, _number);
        public string ClientId { get; }
        public DateTime Start { get; }
        public DateTime Last { get; private set; }
        public string FirstEventId => _firstEventId ??= EventId.ToText(_firstEventNumber);
        public string Channel { get; }
        public string Device { get; }
        public string? LandingPage => _landingUtf8 is { } utf8 ? _landingPage ??= System.Text.Encoding.UTF8.GetString(utf8.Span) : _landingPage;
        public string? LandingReferrer { get; }
        public OpenSession? Older { get; set; }
        public OpenSession? Newer { get; set; }

        public static OpenSession FromState(OpenSessionState s) =>
            new(s.SessionId, s.ClientId, s.Start, s.Last, s.FirstEventId, s.Channel, s.Device, s.LandingPage, s.LandingReferrer,
                s.Counts, s.EventCount, s.Revenue, s.TransactionIds.Count == 0 ? null : [.. s.TransactionIds]);

        public OpenSessionState ToState() =>
            new(SessionId, ClientId, Start, Last, FirstEventId, Channel, Device, LandingPage, LandingReferrer, ((ReadOnlySpan<int>)_counts).ToArray(), _events, _revenue,
                (IReadOnlyList<string>?)_transactions?.ToList() ?? []);

        public void Add(ValidEvent ev)
        {
            Last = ev.Timestamp;
            _events++;
            _counts[ev.EventName switch
            {
                EventNames.PageViewed => 0,
                EventNames.EmailFilledOnPopup => 1,
                EventNames.ProductAddedToCart => 2,
                EventNames.CheckoutStarted => 3,
                _ => 4,
            }]++;
            if (ev.TransactionId is { } tx)
            {
                (_transactions ??= []).Add(tx);
                _revenue += ev.Revenue ?? 0m;
            }
        }

        public SessionizedEvent Sessionized(ValidEvent ev, bool isStart) =>
            _numbered
                ? SessionizedEvent.WithSessionNumber(ev, _number, Start, isStart, Channel)
                : new SessionizedEvent(ev, SessionId, Start, isStart, Channel);

        public Session ToSession()
        {
            var orders = _transactions?.Count ?? 0;
            var transactions = (IReadOnlyList<string>?)_transactions ?? [];
            var session = Session.WithIdNumber(_number, ClientId, Start, Last, _events, _counts[0], _counts[1], _counts[2], _counts[3],
                _counts[4], _landingUtf8 is null ? _landingPage : null, LandingReferrer, Channel, Device, orders > 0, orders, _revenue, transactions,
                _landingUtf8);
            // A session restored from a stored state has its id as text only.
            return _numbered ? session : session with { SessionId = SessionId };
        }
    }
}
