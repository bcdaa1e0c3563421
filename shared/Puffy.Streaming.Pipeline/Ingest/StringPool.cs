namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>
/// One string per distinct recent value: a column whose values repeat in most rows (user agents, referrers, event
/// names) then costs a lookup per row instead of a new string. Bounded: it forgets everything once it holds
/// <paramref name="capacity"/> values, and never keeps a value longer than <paramref name="maxLength"/> chars.
/// Not thread-safe: one reader uses it at a time.
/// </summary>
public sealed class StringPool(int capacity = 4096, int maxLength = 512)
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public int Count => _strings.Count;

    public string Get(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
            return string.Empty;
        if (value.Length > maxLength)
            return value.ToString();
        var lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(value, out var known))
            return known;
        if (_strings.Count >= capacity)
            _strings.Clear();
        var text = value.ToString();
        _strings.Add(text, text);
        return text;
    }
}
