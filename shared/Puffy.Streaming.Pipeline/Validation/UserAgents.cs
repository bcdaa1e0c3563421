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
        return (t_traits ??= new RecentAnswers<(string?, string)>(maxKeyLength: 1024)).Get(userAgent, static ua => (BotMarker(ua), Device(ua)));
    }

    // A few thousand entries of ordinary length (an oversized field is answered, not kept).
    [ThreadStatic]
    private static RecentAnswers<(string? Bot, string Device)>? t_traits;

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
