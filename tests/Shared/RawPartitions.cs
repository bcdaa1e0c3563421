using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Testing;

/// <summary>Splits raw rows over partitions by their raw-topic key, deterministically, as tests of partition-parallel stages need.</summary>
internal static class RawPartitions
{
    /// <summary>
    /// The partition of a row's key: the client id, or the row's place when it has none (as the ingestor keys the raw
    /// topic); FNV-1a of the key, so every run splits alike.
    /// </summary>
    public static int Of(RawEvent raw, int partitions)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var key = string.IsNullOrEmpty(raw.ClientId) ? $"{raw.SourceFile}:{raw.Line}" : raw.ClientId;
        var hash = 2166136261u;
        foreach (var c in key)
            hash = (hash ^ c) * 16777619u;
        return (int)(hash % (uint)partitions);
    }
}
