using System.Runtime.CompilerServices;

namespace Puffy.Streaming.Pipeline;

/// <summary>
/// Remembered answers for recent string keys, for columns whose values repeat in most rows (referrers, user agents):
/// a lookup per row instead of parsing or searching the text again. Bounded: it forgets everything once it holds
/// <paramref name="capacity"/> keys, and a key longer than <paramref name="maxKeyLength"/> is answered but not kept.
/// Not thread-safe: keep one per thread.
/// </summary>
/// <remarks>
/// The embedded reader hands over one string instance per distinct recent value (<see cref="Ingest.StringPool"/>), so
/// a small table keyed by instance answers most rows before the dictionary has to hash the text (130 chars for a
/// typical user agent). A key that is a fresh instance each time, as a deserialized message's is, misses it and
/// costs one slot write more than the dictionary alone.
/// </remarks>
internal sealed class RecentAnswers<TValue>(int capacity = 4096, int maxKeyLength = int.MaxValue)
{
    private const int InstanceSlots = 1024;
    private readonly Dictionary<string, TValue> _answers = new(StringComparer.Ordinal);
    private readonly (string? Key, TValue Value)[] _byInstance = new (string?, TValue)[InstanceSlots];

    public TValue Get(string key, Func<string, TValue> answer)
    {
        if (key.Length > maxKeyLength)
            return answer(key);
        ref var slot = ref _byInstance[RuntimeHelpers.GetHashCode(key) & (InstanceSlots - 1)];
        if (ReferenceEquals(slot.Key, key))
            return slot.Value;
        if (!_answers.TryGetValue(key, out var value))
        {
            value = answer(key);
            if (_answers.Count >= capacity)
                _answers.Clear();
            _answers[key] = value;
        }

        slot = (key, value);
        return value;
    }
}
