using System.Globalization;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>
/// How fast a replay goes: <c>max</c> (as fast as possible), <c>realtime</c> (event-time gaps become wall-clock gaps)
/// or <c>Nx</c> (N times faster than real time, N may be fractional, e.g. <c>60x</c> or <c>0.5x</c>).
/// </summary>
public sealed record ReplaySpeed(double? Factor)
{
    public static ReplaySpeed Max { get; } = new((double?)null);

    public static ReplaySpeed Realtime { get; } = new(1.0);

    public bool IsMax => Factor is null;

    public static bool TryParse(string? text, out ReplaySpeed speed)
    {
        speed = Max;
        var t = text?.Trim().ToLowerInvariant();
        switch (t)
        {
            case "max" or "":
                return true;
            case "realtime":
                speed = Realtime;
                return true;
        }

        if (t is null || !t.EndsWith('x') || !double.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            || !double.IsFinite(n) || n <= 0)
            return false;
        speed = new ReplaySpeed(n);
        return true;
    }

    public static ReplaySpeed Parse(string? text) =>
        TryParse(text, out var speed) ? speed : throw new FormatException($"replay speed '{text}' is not max, realtime or a factor like 10x");

    /// <summary>
    /// How long to wait before sending a row whose stream time is <paramref name="streamTime"/>, when the replay
    /// started at stream time <paramref name="start"/> and <paramref name="elapsed"/> wall time has passed. Zero when
    /// the replay is behind or at maximum speed.
    /// </summary>
    public TimeSpan DelayFor(DateTime start, DateTime streamTime, TimeSpan elapsed)
    {
        if (Factor is not { } factor || streamTime <= start)
            return TimeSpan.Zero;
        var due = TimeSpan.FromTicks((long)((streamTime - start).Ticks / factor));
        return due > elapsed ? due - elapsed : TimeSpan.Zero;
    }

    public override string ToString() => Factor switch
    {
        null => "max",
        1.0 => "realtime",
        var f => f.Value.ToString("0.###", CultureInfo.InvariantCulture) + "x",
    };
}
