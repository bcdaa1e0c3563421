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

    /// <summary>As <see cref="Parse(string?)"/>, for a url given as ASCII bytes: only a query string is widened to chars.</summary>
    public static LandingQuery ParseAscii(ReadOnlySpan<byte> url)
    {
        var q = url.IndexOf((byte)'?');
        if (q < 0)
            return default;
        var query = url[q..];
        char[]? rented = null;
        var chars = query.Length <= 512 ? stackalloc char[query.Length] : (rented = ArrayPool<char>.Shared.Rent(query.Length)).AsSpan(0, query.Length);
        try
        {
            System.Text.Ascii.ToUtf16(query, chars, out _);
            return Parse(chars);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static LandingQuery Parse(ReadOnlySpan<char> url)
    {
        var q = url.IndexOf('?');
        if (q < 0)
            return default;
        var hash = url[q..].IndexOf('#');
        var query = hash < 0 ? url[(q + 1)..] : url[(q + 1)..(q + hash)];
        var ids = ClickIds.None;
        string? medium = null, source = null;
        while (!query.IsEmpty)
        {
            var amp = query.IndexOf('&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? [] : query[(amp + 1)..];
            if (pair.IsEmpty)
                continue;
            var eq = pair.IndexOf('=');
            var rawKey = eq < 0 ? pair : pair[..eq];
            // Most keys of a landing url are none of these (size, oid, sub1, ...): their first letter rules them out before
            // any decoding, which can change the first letter only when the key starts with an escape.
            if (rawKey.IsEmpty || (rawKey[0] != '%' && !MayBeKnown(rawKey[0])))
                continue;
            var key = rawKey.ContainsAny('%', '+') ? Decode(rawKey).AsSpan() : rawKey;
            var value = eq < 0 ? [] : pair[(eq + 1)..];
            if (key.Equals(UtmMedium, StringComparison.OrdinalIgnoreCase))
            {
                medium ??= Decode(value);
                continue;
            }

            if (key.Equals(UtmSource, StringComparison.OrdinalIgnoreCase))
            {
                source ??= Decode(value);
                continue;
            }

            foreach (var (name, flag) in Known)
            {
                if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    ids |= flag;
                    break;
                }
            }
        }

        return new LandingQuery(ids, medium, source);
    }

    /// <summary>False when no key starting with <paramref name="first"/> can equal a known key ignoring case (beyond ASCII the full comparison decides).</summary>
    private static bool MayBeKnown(char first) => first > 0x7F || FirstLetters.Contains(first);

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
