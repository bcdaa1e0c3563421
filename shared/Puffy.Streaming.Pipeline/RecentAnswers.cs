namespace Puffy.Streaming.Pipeline;

/// <summary>
/// Remembered answers for recent string keys, for columns whose values repeat in most rows (referrers, user agents):
/// a lookup per row instead of parsing or searching the text again. Bounded: it forgets everything once it holds
/// <paramref name="capacity"/> keys, and a key longer than <paramref name="maxKeyLength"/> is answered but not kept.
/// Not thread-safe: keep one per thread.
/// </summary>
internal sealed class RecentAnswers<TValue>(int capacity = 4096, int maxKeyLength = int.MaxValue)
{
    private readonly Dictionary<string, TValue> _answers = new(StringComparer.Ordinal);

    public TValue Get(string key, Func<string, TValue> answer)
    {
        if (key.Length > maxKeyLength)
            return answer(key);
        if (_answers.TryGetValue(key, out var known))
            return known;
        var value = answer(key);
        if (_answers.Count >= capacity)
            _answers.Clear();
        _answers[key] = value;
        return value;
    }
}
