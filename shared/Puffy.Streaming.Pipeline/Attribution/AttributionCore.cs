using System.Runtime.InteropServices;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Attribution;

/// <summary>A client's touchpoints inside the lookback, as stored outside the process (Redis).</summary>
public sealed record ClientTouchpoints(string ClientId, IReadOnlyList<Touch> Touches);

public sealed class AttributionOptions
{
    /// <summary>Sessions that started within this long before a purchase (inclusive) are its touchpoints.</summary>
    public TimeSpan Lookback { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// The attribution service's core (semantics §5). It sees sessionized events in event-time order per client,
/// remembers each client's session starts for the lookback, and attributes every purchase on arrival: all of its
/// touchpoints have started by then. Clients with no session start inside the lookback are forgotten.
/// Touchpoints are kept as plain values (time, channel, session id bits), so the week-long state costs the
/// garbage collector little.
/// </summary>
public sealed class AttributionCore(AttributionOptions options)
{
    private const string SessionPrefix = Session.IdPrefix;
    // Keyed by the client id with its hash taken once: forgetting a client (once per client and lookback, the most
    // frequent lookup here) then reads neither the id's text nor its touchpoints, only the client's own entry.
    private readonly Dictionary<ClientKey, ClientTouches> _clients = new(ClientKey.Comparer);

    // Session starts in arrival (time) order; an entry is stale when its client has started a later session since.
    private readonly Queue<(long StartTicks, ClientTouches Client)> _expiry = new();

    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);

    public int TrackedClients => _clients.Count;

    /// <summary>For hosts that checkpoint state: tracks the clients whose touchpoints changed since <see cref="TakeChanges"/>.</summary>
    public bool TrackChanges { get; init; }

    public AttributedOrder? Accept(SessionizedEvent se)
    {
        var ev = se.Event;
        var lookback = options.Lookback.Ticks;
        Expire(ev.Timestamp.Ticks - lookback);
        if (se.IsSessionStart)
        {
            var key = new ClientKey(ev.ClientId);
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_clients, key, out _);
            var c = slot ??= new ClientTouches(key);
            c.DropBefore(ev.Timestamp.Ticks - lookback);
            var touch = new TouchValue(se.SessionStart.Ticks, ChannelIndex(se.SessionChannel), se.TryGetSessionNumber(out var bits) ? bits : SessionBits(se.SessionId));
            // A redelivered session start names a session already recorded: recording it again would double a touchpoint.
            if (!c.Has(touch))
            {
                c.Add(touch);
                _expiry.Enqueue((touch.StartTicks, c));
                if (TrackChanges)
                    _changed.Add(ev.ClientId);
            }
        }

        return ev.TransactionId is { } tx ? Attribute(se, tx) : null;
    }

    /// <summary>The touchpoints of the clients changed since the last call (empty list: the client was forgotten).</summary>
    public IReadOnlyList<ClientTouchpoints> TakeChanges()
    {
        var changes = _changed.Order(StringComparer.Ordinal)
            .Select(id => new ClientTouchpoints(id, _clients.TryGetValue(new ClientKey(id), out var c) ? ToTouches(c.Touches) : []))
            .ToList();
        _changed.Clear();
        return changes;
    }

    private static List<Touch> ToTouches(ReadOnlySpan<TouchValue> values)
    {
        var touches = new List<Touch>(values.Length);
        foreach (var t in values)
            touches.Add(t.ToTouch());
        return touches;
    }

    /// <summary>Loads stored touchpoints (after a restart), before any event is accepted.</summary>
    public void Restore(IEnumerable<ClientTouchpoints> clients)
    {
        foreach (var client in clients.Where(c => c.Touches.Count > 0).OrderBy(c => c.Touches.Max(t => t.SessionStart)))
        {
            var key = new ClientKey(client.ClientId);
            var c = new ClientTouches(key);
            foreach (var t in client.Touches.OrderBy(t => t.SessionStart))
            {
                var touch = new TouchValue(t.SessionStart.Ticks, ChannelIndex(t.Channel), SessionBits(t.SessionId));
                c.Add(touch);
                _expiry.Enqueue((touch.StartTicks, c));
            }

            // A client stored twice: the later state replaces the earlier one, which must not forget the client when it expires.
            if (_clients.TryGetValue(key, out var replaced))
                replaced.Forgotten = true;
            _clients[key] = c;
        }
    }

    private AttributedOrder Attribute(SessionizedEvent se, string tx)
    {
        var ev = se.Event;
        var from = ev.Timestamp.Ticks - options.Lookback.Ticks;
        var to = ev.Timestamp.Ticks;
        var touches = new List<Touch>();
        if (_clients.TryGetValue(new ClientKey(ev.ClientId), out var client))
        {
            foreach (var t in client.Touches)
            {
                if (t.StartTicks >= from && t.StartTicks <= to)
                    touches.Add(t.ToTouch());
            }
        }

        if (touches.Count == 0)
        {
            // Cannot happen for sessionized input (the purchase's own session is a touchpoint); kept total for safety.
            touches.Add(new Touch(se.SessionChannel, se.SessionId, se.SessionStart));
        }

        var first = touches[0];
        var last = touches[^1];
        var lastNonDirect = touches.LastOrDefault(t => !Channels.IsDirectLike(t.Channel)) ?? last;
        return new AttributedOrder(tx, ev.ClientId, ev.EventId, ev.Timestamp, ev.Revenue ?? 0m, se.SessionId, touches.Count,
            (ev.Timestamp - first.SessionStart).TotalDays, first, last, lastNonDirect);
    }

    private void Expire(long beforeTicks)
    {
        while (_expiry.TryPeek(out var e) && e.StartTicks < beforeTicks)
        {
            _expiry.Dequeue();
            // A client is forgotten once, by the entry of its last session start: no lookup for the stale entries before it.
            var client = e.Client;
            if (!client.Forgotten && client.LastStartTicks < beforeTicks)
            {
                client.Forgotten = true;
                _clients.Remove(client.Key);
                if (TrackChanges)
                    _changed.Add(client.Key.Id);
            }
        }
    }

    private static byte ChannelIndex(string channel)
    {
        var all = Channels.All;
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i] == channel)
                return (byte)i;
        }

        throw new ArgumentOutOfRangeException(nameof(channel), channel, "unknown channel");
    }

    private static UInt128 SessionBits(string sessionId) =>
        sessionId.StartsWith(SessionPrefix, StringComparison.Ordinal) && Validation.EventId.TryParse(sessionId.AsSpan(SessionPrefix.Length), out var bits)
            ? bits
            : throw new ArgumentException($"'{sessionId}' is not a session id", nameof(sessionId));

    private readonly record struct TouchValue(long StartTicks, byte Channel, UInt128 Session)
    {
        public Touch ToTouch() => new(Channels.All[Channel], Validation.EventId.ToText(SessionPrefix, Session),
            new DateTime(StartTicks, DateTimeKind.Utc));
    }

    private sealed class ClientTouches(ClientKey key)
    {
        // Most clients are forgotten after one or two session starts, so the array starts with room for one and
        // doubles; no list around it.
        private TouchValue[] _touches = [];
        private int _count;

        public ClientKey Key { get; } = key;

        /// <summary>The touchpoints in the order they were added; changed only through <see cref="Add"/> and <see cref="DropBefore"/>.</summary>
        public ReadOnlySpan<TouchValue> Touches => _touches.AsSpan(0, _count);

        /// <summary>The start of the last touchpoint (<see cref="long.MaxValue"/> with none), kept beside the touchpoints.</summary>
        public long LastStartTicks { get; private set; } = long.MaxValue;

        /// <summary>Removed from the tracked clients; a later session start of the client tracks it anew.</summary>
        public bool Forgotten { get; set; }

        public bool Has(TouchValue touch) => Touches.Contains(touch);

        public void Add(TouchValue touch)
        {
            if (_count == _touches.Length)
                Array.Resize(ref _touches, Math.Max(1, _count * 2));
            _touches[_count++] = touch;
            LastStartTicks = touch.StartTicks;
        }

        /// <summary>Drops the touchpoints at the front that started before <paramref name="ticks"/>.</summary>
        public void DropBefore(long ticks)
        {
            var stale = 0;
            while (stale < _count && _touches[stale].StartTicks < ticks)
                stale++;
            if (stale > 0)
            {
                _touches.AsSpan(stale, _count - stale).CopyTo(_touches);
                _count -= stale;
            }

            LastStartTicks = _count > 0 ? _touches[_count - 1].StartTicks : long.MaxValue;
        }
    }

    /// <summary>A client id with its (randomized, ordinal) hash, computed once per lookup key.</summary>
    private readonly struct ClientKey(string id)
    {
        public static readonly IEqualityComparer<ClientKey> Comparer = new KeyComparer();

        public string Id { get; } = id;
        public int Hash { get; } = StringComparer.Ordinal.GetHashCode(id);

        private sealed class KeyComparer : IEqualityComparer<ClientKey>
        {
            public bool Equals(ClientKey x, ClientKey y) => x.Hash == y.Hash && (ReferenceEquals(x.Id, y.Id) || string.Equals(x.Id, y.Id, StringComparison.Ordinal));

            public int GetHashCode(ClientKey obj) => obj.Hash;
        }
    }
}
