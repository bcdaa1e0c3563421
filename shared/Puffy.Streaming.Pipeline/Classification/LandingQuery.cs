using System.Buffers;

namespace Puffy.Streaming.Pipeline.Classification;

/// <summary>Click-id parameters the channel rules look at.</summary>
[Flags]
public enum ClickIds
{
    None = 0,
    Gclid = 1 << 0,
    Gbraid = 1 << 1,
    Wbraid = 1 << 2,
    GadSource = 1 << 3,
    Msclkid = 1 << 4,
    Ttclid = 1 << 5,
    Fbclid = 1 << 6,
    Irclickid = 1 << 7,
    Irgwc = 1 << 8,
}

/// <summary>
/// What the channel rules need from a landing url's query string: which click ids are present and the raw
/// utm_medium / utm_source values. Keys match case-insensitively and are percent-decoded; the first occurrence
/// of a key wins. Parsing allocates only for the two UTM values.
/// </summary>
public readonly record struct LandingQuery(ClickIds ClickIds, string? Medium, string? Source)
{
    private static readonly (string Key, ClickIds Flag)[] Known =
    [
        ("gclid", ClickIds.Gclid), ("gbraid", ClickIds.Gbraid), ("wbraid", ClickIds.Wbraid), ("gad_source", ClickIds.GadSource),
        ("msclkid", ClickIds.Msclkid), ("ttclid", ClickIds.Ttclid), ("fbclid", ClickIds.Fbclid), ("irclickid", ClickIds.Irclickid),
        ("irgwc", ClickIds.Irgwc),
    ];

    private const string UtmMedium = "utm_medium";
    private const string UtmSource = "utm_source";

    // The first letters, in either case, of every key looked for: any other ASCII first letter rules a key out.
    private static readonly SearchValues<char> FirstLetters = SearchValues.Create(string.Concat(
        Known.Select(k => k.Key).Append(UtmMedium).Append(UtmSource).Select(k => $"{char.ToLowerInvariant(k[0])}{char.ToUpperInvariant(k[0])}")));

    public bool Has(ClickIds id) => (ClickIds & id) != 0;

    public static LandingQuery Parse(string? url) => Parse(url.AsSpan());

    /// <summary>
    /// As <see cref="Parse(string?)"/>, for a url given as ASCII bytes. The query string is split on the bytes, and only
    /// a pair whose key may be one looked for (by its first letter) is widened to chars and read as
    /// <see cref="Parse(string?)"/> reads it: most pairs of a landing url are ruled out without a copy.
    /// </summary>
    public static LandingQuery ParseAscii(ReadOnlySpan<byte> url)
    {
        var q = url.IndexOf((byte)'?');
        if (q < 0)
            return default;
        var hash = url[q..].IndexOf((byte)'#');
        var query = hash < 0 ? url[(q + 1)..] : url[(q + 1)..(q + hash)];
        var found = default(Found);
        Span<char> chars = stackalloc char[256];
        while (!query.IsEmpty)
        {
            var amp = query.IndexOf((byte)'&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? [] : query[(amp + 1)..];
            if (pair.IsEmpty || !MayBeKnown((char)pair[0]))
                continue;
            var wide = pair.Length <= chars.Length ? chars[..pair.Length] : new char[pair.Length];
            System.Text.Ascii.ToUtf16(pair, wide, out _);
            found.Read(wide);
        }

        return found.Result;
    }

    private static LandingQuery Parse(ReadOnlySpan<char> url)
    {
        var q = url.IndexOf('?');
        if (q < 0)
            return default;
        var hash = url[q..].IndexOf('#');
        var query = hash < 0 ? url[(q + 1)..] : url[(q + 1)..(q + hash)];
        var found = default(Found);
        while (!query.IsEmpty)
        {
            var amp = query.IndexOf('&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? [] : query[(amp + 1)..];
            found.Read(pair);
        }

        return found.Result;
    }

    /// <summary>What the pairs read so far hold: the first utm_medium and utm_source, and the click ids.</summary>
    private struct Found
    {
        private ClickIds _ids;
        private string? _medium;
        private string? _source;

        public readonly LandingQuery Result => new(_ids, _medium, _source);

        /// <summary>Reads one <c>key=value</c> pair of the query string.</summary>
        public void Read(ReadOnlySpan<char> pair)
        {
            if (pair.IsEmpty)
                return;
            var eq = pair.IndexOf('=');
            var rawKey = eq < 0 ? pair : pair[..eq];
            // Most keys of a landing url are none of these (size, oid, sub1, ...): their first letter rules them out before
            // any decoding, which can change the first letter only when the key starts with an escape.
            if (rawKey.IsEmpty || !MayBeKnown(rawKey[0]))
                return;
            var key = rawKey.ContainsAny('%', '+') ? Decode(rawKey).AsSpan() : rawKey;
            var value = eq < 0 ? [] : pair[(eq + 1)..];
            if (key.Equals(UtmMedium, StringComparison.OrdinalIgnoreCase))
            {
                _medium ??= Decode(value);
                return;
            }

            if (key.Equals(UtmSource, StringComparison.OrdinalIgnoreCase))
            {
                _source ??= Decode(value);
                return;
            }

            foreach (var (name, flag) in Known)
            {
                if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    _ids |= flag;
                    return;
                }
            }
        }
    }

    /// <summary>
    /// False when no key whose raw text starts with <paramref name="first"/> can equal a known key ignoring case: an escape
    /// (<c>%</c>) may decode to any letter, and beyond ASCII the full comparison decides.
    /// </summary>
    private static bool MayBeKnown(char first) => first == '%' || first > 0x7F || FirstLetters.Contains(first);

    private static string Decode(ReadOnlySpan<char> s)
    {
        var text = s.ToString();
        if (!s.Contains('%') && !s.Contains('+'))
            return text;
        try
        {
            return Uri.UnescapeDataString(text.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return text;
        }
    }
}
