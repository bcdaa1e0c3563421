using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Attribution;

public sealed class AttributionOptions
{
    /// <summary>Sessions that started within this long before a purchase (inclusive) are its touchpoints.</summary>
    public TimeSpan Lookback { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// The attribution service's core (semantics §5). It sees sessionized events in event-time order per client,
/// remembers each client's session starts for the lookback, and attributes every purchase on arrival: all of its
/// touchpoints have started by then. Clients with no session start inside the lookback are forgotten.
/// </summary>
public sealed class AttributionCore(AttributionOptions options)
{
    private readonly Dictionary<string, ClientTouches> _clients = new(StringComparer.Ordinal);

    // Clients ordered by their latest session start (input is time-ordered, so appending keeps the order).
    private readonly LinkedList<ClientTouches> _byLastStart = new();

    public int TrackedClients => _clients.Count;

    public AttributedOrder? Accept(SessionizedEvent se)
    {
        var ev = se.Event;
        Expire(ev.Timestamp - options.Lookback);
        if (se.IsSessionStart)
        {
            if (!_clients.TryGetValue(ev.ClientId, out var c))
            {
                c = new ClientTouches(ev.ClientId);
                c.Node = new LinkedListNode<ClientTouches>(c);
                _clients[ev.ClientId] = c;
            }
            else
            {
                _byLastStart.Remove(c.Node);
            }

            var keepFrom = ev.Timestamp - options.Lookback;
            var stale = 0;
            while (stale < c.Touches.Count && c.Touches[stale].SessionStart < keepFrom)
                stale++;
            c.Touches.RemoveRange(0, stale);
            c.Touches.Add(new Touch(se.SessionChannel, se.SessionId, se.SessionStart));
            _byLastStart.AddLast(c.Node);
        }

        return ev.TransactionId is { } tx ? Attribute(se, tx) : null;
    }

    private AttributedOrder Attribute(SessionizedEvent se, string tx)
    {
        var ev = se.Event;
        var from = ev.Timestamp - options.Lookback;
        var touches = _clients.TryGetValue(ev.ClientId, out var client)
            ? client.Touches.Where(t => t.SessionStart >= from && t.SessionStart <= ev.Timestamp).ToList()
            : [];
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

    private void Expire(DateTime before)
    {
        while (_byLastStart.First is { } node && node.Value.Touches[^1].SessionStart < before)
        {
            _byLastStart.RemoveFirst();
            _clients.Remove(node.Value.ClientId);
        }
    }

    private sealed class ClientTouches(string clientId)
    {
        public string ClientId { get; } = clientId;
        public List<Touch> Touches { get; } = [];
        public LinkedListNode<ClientTouches> Node { get; set; } = null!;
    }
}
