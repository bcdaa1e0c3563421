using System.Text.Json;
using System.Text.Json.Serialization;
using Puffy.Streaming.Pipeline.Marketing;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The monitor's checkpoint in Redis: its state (rules, file totals and the input positions they reflect) as one JSON
/// value, and the sessions and orders the marketing table has counted, one hash field per id. A checkpoint writes
/// the state and the new contributions in one MULTI/EXEC transaction, so a restart sees one checkpoint whole.
/// Writing the same contributions again changes nothing.
/// </summary>
public sealed class MonitorStore<TState>(IDatabase db, string keyPrefix)
    where TState : class
{
    private readonly RedisKey _state = keyPrefix + ":state";
    private readonly JsonHash<SessionContribution> _sessions = new(db, keyPrefix + ":marketing-sessions");
    private readonly JsonHash<OrderContribution> _orders = new(db, keyPrefix + ":marketing-orders");

    public Task SaveAsync(TState state, IReadOnlyCollection<SessionContribution> sessions, IReadOnlyCollection<OrderContribution> orders)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(orders);
        return _sessions.WriteAsync(
            sessions.Select(s => (s.SessionId, (SessionContribution?)s)),
            batch => _orders.Queue(batch, orders.Select(o => (o.TransactionId, (OrderContribution?)o)))
                .Append(batch.StringSetAsync(_state, StateJson.Serialize(state)))
                .ToList());
    }

    /// <summary>The state of the last checkpoint, or null when none was saved.</summary>
    public async Task<TState?> LoadStateAsync()
    {
        var json = await db.StringGetAsync(_state);
        if (!json.HasValue)
            return null;
        return StateJson.Deserialize<TState>((string)json!) ?? throw new InvalidDataException($"{_state}: the stored state is empty");
    }

    public Task<IReadOnlyList<SessionContribution>> LoadSessionsAsync() => _sessions.ReadAllAsync();

    public Task<IReadOnlyList<OrderContribution>> LoadOrdersAsync() => _orders.ReadAllAsync();
}

/// <summary>The stored form of a checkpoint state: JSON, with non-finite numbers allowed.</summary>
public static class StateJson
{
    private static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Serialize<T>(T state) => JsonSerializer.Serialize(state, Options);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);
}
