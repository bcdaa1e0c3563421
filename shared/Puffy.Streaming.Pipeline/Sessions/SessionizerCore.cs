using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Classification;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.Pipeline.Sessions;

public sealed class SessionizerOptions
{
    /// <summary>A gap of at least this much between a client's events starts a new session.</summary>
    public TimeSpan SessionGap { get; set; } = TimeSpan.FromMinutes(30);
}

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
    private readonly LinkedList<OpenSession> _byLastEvent = new();
    private readonly SortedDictionary<DateOnly, DayTally> _days = [];
    private DateTime _earliestDayEnd = DateTime.MaxValue;
    private DateTime _now = DateTime.MinValue;

    public Action<SessionizedEvent> OnEvent { get; init; } = static _ => { };

    public Action<Session> OnSessionClosed { get; init; } = static _ => { };

    public Action<Metric> OnMetric { get; init; } = static _ => { };

    public int OpenSessions => _open.Count;

    public SessionizedEvent Accept(ValidEvent ev)
    {
        AdvanceTo(ev.Timestamp);
        if (_open.TryGetValue(ev.ClientId, out var s))
        {
            if (ev.Timestamp - s.Last >= options.SessionGap)
            {
                Close(s);
                s = null;
            }
            else
            {
                _byLastEvent.Remove(s.Node);
            }
        }

        var isStart = s is null;
        if (s is null)
        {
            var channel = ev.LandingChannel ?? ChannelClassifier.Classify(ev.PageUrl, ev.Referrer);
            s = new OpenSession(EventId.Derive("s-", ev.ClientId, ev.EventId), ev, channel);
            s.Node = new LinkedListNode<OpenSession>(s);
            _open[ev.ClientId] = s;
            var day = DateOnly.FromDateTime(ev.Timestamp);
            if (!_days.TryGetValue(day, out var tally))
            {
                _days[day] = tally = new DayTally();
                var dayEnd = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
                if (dayEnd < _earliestDayEnd)
                    _earliestDayEnd = dayEnd;
            }
            tally.Open++;
        }

        s.Add(ev);
        _byLastEvent.AddLast(s.Node);
        var sessionized = new SessionizedEvent(ev, s.SessionId, s.Start, isStart, s.Channel);
        OnEvent(sessionized);
        return sessionized;
    }

    /// <summary>Closes every session that can no longer be extended at event time <paramref name="now"/>.</summary>
    public void AdvanceTo(DateTime now)
    {
        if (now <= _now)
            return;
        _now = now;
        while (_byLastEvent.First is { } first && now - first.Value.Last >= options.SessionGap)
            Close(first.Value);
        CompleteDays(now);
    }

    /// <summary>End of replay: closes every open session and completes every day.</summary>
    public void Flush()
    {
        while (_byLastEvent.First is { } first)
            Close(first.Value);
        CompleteDays(DateTime.MaxValue);
    }

    private void Close(OpenSession s)
    {
        _byLastEvent.Remove(s.Node);
        _open.Remove(s.ClientId);
        var session = s.ToSession();
        var tally = _days[DateOnly.FromDateTime(session.Start)];
        tally.Open--;
        tally.Sessions++;
        tally.ByChannel[session.Channel] = tally.ByChannel.GetValueOrDefault(session.Channel) + 1;
        if (session.IsConverted)
            tally.Converted++;
        tally.Orders += session.Orders;
        OnSessionClosed(session);
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

    private sealed class OpenSession(string sessionId, ValidEvent first, string channel)
    {
        private readonly int[] _counts = new int[5];
        private List<string>? _transactions;

        public string SessionId { get; } = sessionId;
        public string ClientId { get; } = first.ClientId;
        public DateTime Start { get; } = first.Timestamp;
        public DateTime Last { get; private set; } = first.Timestamp;
        public string Channel { get; } = channel;
        public LinkedListNode<OpenSession> Node { get; set; } = null!;
        private int _events;
        private decimal _revenue;

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

        public Session ToSession()
        {
            var orders = _transactions?.Count ?? 0;
            return new Session(SessionId, ClientId, Start, Last, _events, _counts[0], _counts[1], _counts[2], _counts[3], _counts[4],
                first.PageUrl, first.Referrer, Channel, first.Device, orders > 0, orders, _revenue, (IReadOnlyList<string>?)_transactions ?? []);
        }
    }
}
