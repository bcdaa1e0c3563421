using System.Text.Json;
using Puffy.Streaming.Pipeline.Attribution;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The attribution service's 7-day touchpoints in Redis: one hash field per client (its touchpoints as JSON); a client
/// with none left is deleted. A checkpoint is one pipelined batch, and writing it again changes nothing.
/// </summary>
public sealed class TouchpointStore(IDatabase db, string keyPrefix)
{
    private readonly RedisKey _clients = keyPrefix + ":touchpoints";

    public async Task SaveAsync(IReadOnlyCollection<ClientTouchpoints> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
            return;
        var batch = db.CreateBatch();
        var writes = changes.Select(c => c.Touches.Count == 0
            ? (Task)batch.HashDeleteAsync(_clients, c.ClientId)
            : batch.HashSetAsync(_clients, c.ClientId, JsonSerializer.Serialize(c))).ToList();
        batch.Execute();
        await Task.WhenAll(writes);
    }

    public async Task<IReadOnlyList<ClientTouchpoints>> LoadAllAsync()
    {
        var entries = await db.HashGetAllAsync(_clients);
        return entries.Select(e => JsonSerializer.Deserialize<ClientTouchpoints>((string)e.Value!)
                                   ?? throw new InvalidDataException($"touchpoints of {e.Name} are empty")).ToList();
    }
}
