using System.Buffers;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>Bot detection and device class from the user agent (semantics §6).</summary>
public static class UserAgents
{
    public static IReadOnlyList<string> BotMarkers { get; } =
        ["bot", "crawl", "spider", "slurp", "headlesschrome", "ahrefs", "semrush", "python-requests", "curl/", "wget"];

    // One pass over the user agent for all markers at once.
    private static readonly SearchValues<string> Markers = SearchValues.Create([.. BotMarkers], StringComparison.OrdinalIgnoreCase);

    /// <summary>The bot marker the user agent contains (case-insensitive; the earliest in the text), or null.</summary>
    public static string? BotMarker(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
            return null;
        var at = userAgent.AsSpan().IndexOfAny(Markers);
        if (at < 0)
            return null;
        var rest = userAgent.AsSpan(at);
        foreach (var marker in BotMarkers)
        {
            if (rest.StartsWith(marker, StringComparison.OrdinalIgnoreCase))
                return marker;
        }

        return null;
    }

    /// <summary>
    /// <see cref="BotMarker"/> and <see cref="Device"/> together. User agents repeat heavily (a few thousand distinct
    /// ones in fifty thousand rows), so the answers for recent ones are remembered per thread instead of searching
    /// every row's text again.
    /// </summary>
    internal static (string? Bot, string Device) Traits(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
            return (null, Devices.Desktop);
        if (userAgent.Length > CachedLengthLimit)
            return (BotMarker(userAgent), Device(userAgent));
        var cache = t_traits ??= new Dictionary<string, (string?, string)>(StringComparer.Ordinal);
        if (cache.TryGetValue(userAgent, out var known))
            return known;
        var traits = (BotMarker(userAgent), Device(userAgent));
        if (cache.Count >= CacheLimit)
            cache.Clear();
        cache[userAgent] = traits;
        return traits;
    }

    // Bounds what the cache holds: a few thousand entries of ordinary length (an oversized field is not kept).
    private const int CacheLimit = 4096;
    private const int CachedLengthLimit = 1024;

    [ThreadStatic]
    private static Dictionary<string, (string? Bot, string Device)>? t_traits;

    /// <summary>tablet for iPad/Tablet, else mobile for Mobi/iPhone/Android, else desktop (tokens as spelled).</summary>
    public static string Device(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
            return Devices.Desktop;
        if (userAgent.Contains("iPad", StringComparison.Ordinal) || userAgent.Contains("Tablet", StringComparison.Ordinal))
            return Devices.Tablet;
        if (userAgent.Contains("Mobi", StringComparison.Ordinal) || userAgent.Contains("iPhone", StringComparison.Ordinal)
            || userAgent.Contains("Android", StringComparison.Ordinal))
            return Devices.Mobile;
        return Devices.Desktop;
    }
}
