using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>Bot detection and device class from the user agent (semantics §6).</summary>
public static class UserAgents
{
    public static IReadOnlyList<string> BotMarkers { get; } =
        ["bot", "crawl", "spider", "slurp", "headlesschrome", "ahrefs", "semrush", "python-requests", "curl/", "wget"];

    /// <summary>The first bot marker the user agent contains (case-insensitive), or null.</summary>
    public static string? BotMarker(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
            return null;
        foreach (var marker in BotMarkers)
        {
            if (userAgent.Contains(marker, StringComparison.OrdinalIgnoreCase))
                return marker;
        }

        return null;
    }

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
