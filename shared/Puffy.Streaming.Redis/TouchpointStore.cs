using Puffy.Streaming.Pipeline.Attribution;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The attribution service's 7-day touchpoints in Redis: one hash field per client (its touchpoints as JSON); a client
/// with none left is deleted. A checkpoint is one pipelined batch, and writing it again changes nothing.
/// </summary>
/// <remarks>A partition-parallel attribution keeps one store per input partition (its own key prefix) under that partition's lease.</remarks>
public sealed class TouchpointStore(IDatabase db, string keyPrefix, PartitionLease? lease = null)
{
    /// <summary>Where in its input the stored state ends, as of taking the lease (null: none stored, or no lease).</summary>
    public string? StoredResume => lease?.StoredResume;

    private readonly JsonHash<ClientTouchpoints> _clients = new(db, keyPrefix + ":touchpoints");

    /// <summary>Stores the changed clients; under a lease, with <paramref name="resume"/>, where in their input they end.</summary>
    public Task SaveAsync(IReadOnlyCollection<ClientTouchpoints> changes, string? resume = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return _clients.WriteAsync(changes.Select(c => (c.ClientId, c.Touches.Count == 0 ? null : c)), lease: lease, resume: resume);
    }

    public Task<IReadOnlyList<ClientTouchpoints>> LoadAllAsync() => _clients.ReadAllAsync();
}
