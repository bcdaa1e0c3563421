using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace Puffy.Streaming.Pipeline.Classification;

/// <summary>
/// Resolves anonymised UTM values (semantics §4): each value is the first 6 hex digits of MD5(value). A value
/// resolves to a vocabulary term when it equals, case-insensitively, the hash of the term in lower case, upper
/// case, Capitalized or as written. A value that is itself a term (not anonymised) resolves to that term.
/// Anything else stays as given.
/// </summary>
public static class UtmResolver
{
    public static IReadOnlyList<string> Vocabulary { get; } =
    [
        "cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "paidsocial", "paid_social", "paid-social",
        "cpm", "display", "banner", "email", "e-mail", "newsletter", "social", "sms", "push", "organic", "referral",
        "affiliate", "affiliates", "video", "retargeting", "shopping", "google", "bing", "yahoo", "duckduckgo",
        "facebook", "instagram", "tiktok", "pinterest", "snapchat", "reddit", "twitter", "youtube", "meta",
        "klaviyo", "attentive", "impact",
    ];

    private static readonly FrozenDictionary<string, string> ByHash = BuildHashes();
    private static readonly FrozenSet<string> Terms = Vocabulary.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static FrozenDictionary<string, string> BuildHashes()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var term in Vocabulary)
        {
            var lower = term.ToLowerInvariant();
            string[] variants = [lower, term.ToUpperInvariant(), char.ToUpperInvariant(lower[0]) + lower[1..], term];
            foreach (var v in variants)
                map.TryAdd(Hash6(v), lower);
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>First 6 hex digits, upper case, of MD5 of the UTF-8 text.</summary>
    public static string Hash6(string value)
    {
        Span<byte> hash = stackalloc byte[16];
#pragma warning disable CA5351 // MD5 is how the export anonymised the values; it is a lookup key here, not security.
        MD5.HashData(Encoding.UTF8.GetBytes(value), hash);
#pragma warning restore CA5351
        return Convert.ToHexString(hash[..3]);
    }

    /// <summary>The lower-case vocabulary term the value stands for, or the value unchanged when it resolves to none.</summary>
    public static string Resolve(string value)
    {
        if (Terms.TryGetValue(value, out var term))
            return term.ToLowerInvariant();
        return ByHash.TryGetValue(value, out var resolved) ? resolved : value;
    }
}
