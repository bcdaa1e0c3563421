using System.Globalization;
using System.Numerics;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>Parsing of event timestamps and the file-day plausibility window (semantics §1, §2).</summary>
public static class EventTime
{
    /// <summary>How far outside its file's day an event may lie before it is <c>invalid_timestamp</c>.</summary>
    public static readonly TimeSpan FileDaySlack = TimeSpan.FromHours(24);

    /// <summary>
    /// The first instant an event may have: the span the store's DateTime columns hold (seconds since 1970 in 32 bits),
    /// which also keeps every date calculation of the pipeline (days back, hours ahead) inside what DateTime can hold.
    /// </summary>
    public static readonly DateTime Earliest = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The first instant past the span events may have (see <see cref="Earliest"/>).</summary>
    public static readonly DateTime End = new(2106, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// Parses ISO-8601 UTC: <c>YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z</c> (or <c>+00:00</c> instead of <c>Z</c>), from
    /// <see cref="Earliest"/> up to <see cref="End"/>; a time outside that span does not parse.
    /// The fast path handles the export's own shape; anything else goes through the framework's exact parser.
    /// </summary>
    public static bool TryParse(string? text, out DateTime utc) => InSpan(TryParseAny(text, out utc), ref utc);

    /// <summary>As <see cref="TryParse(string?, out DateTime)"/>, from the text's UTF-8 bytes: the export's own shape without a string.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out DateTime utc)
    {
        // The export's shape is ASCII: its bytes are its chars. A text with a non-ASCII byte is never taken for it (no such
        // byte is a digit or a separator) and goes to the decoded path below.
        if (TryExportShape(utf8, out utc) is { } parsed)
            return InSpan(parsed, ref utc);

        return TryParse(System.Text.Encoding.UTF8.GetString(utf8), out utc);
    }

    private static bool InSpan(bool parsed, ref DateTime utc)
    {
        if (parsed && utc >= Earliest && utc < End)
            return true;
        utc = default;
        return false;
    }

    private static bool TryParseAny(string? text, out DateTime utc)
    {
        utc = default;
        if (string.IsNullOrEmpty(text))
            return false;
        if (TryExportShape(text.AsSpan(), out utc) is { } parsed)
            return parsed;

        return DateTime.TryParseExact(text, Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out utc);
    }

    private const int ExportShapeLength = 24;

    /// <summary>
    /// The export's own shape, <c>YYYY-MM-DDTHH:MM:SS.fffZ</c>: whether it holds a valid time, or null when the text has
    /// another shape (for the framework's exact parser).
    /// </summary>
    private static bool? TryExportShape<T>(ReadOnlySpan<T> s, out DateTime utc)
        where T : unmanaged, IBinaryInteger<T>
    {
        utc = default;
        if (!(s.Length == ExportShapeLength && Is(s[4], '-') && Is(s[7], '-') && Is(s[10], 'T') && Is(s[13], ':') && Is(s[16], ':')
            && Is(s[19], '.') && Is(s[23], 'Z')
            && TryDigits(s, 0, 4, out var year) && TryDigits(s, 5, 2, out var month) && TryDigits(s, 8, 2, out var day)
            && TryDigits(s, 11, 2, out var hour) && TryDigits(s, 14, 2, out var minute) && TryDigits(s, 17, 2, out var second)
            && TryDigits(s, 20, 3, out var ms)))
            return null;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), month) || year < 1
            || hour > 23 || minute > 59 || second > 59)
            return false;
        utc = new DateTime(year, month, day, hour, minute, second, ms, DateTimeKind.Utc);
        return true;
    }

    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:ss'+00:00'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'+00:00'",
    ];

    private static bool Is<T>(T c, char expected)
        where T : unmanaged, IBinaryInteger<T> => int.CreateTruncating(c) == expected;

    private static bool TryDigits<T>(ReadOnlySpan<T> s, int start, int count, out int value)
        where T : unmanaged, IBinaryInteger<T>
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = int.CreateTruncating(s[i]) - '0';
            if ((uint)d > 9)
                return false;
            value = value * 10 + d;
        }

        return true;
    }

    /// <summary>True when <paramref name="utc"/> lies within 24 h of the file's day (always true without a day).</summary>
    public static bool IsPlausibleFor(DateTime utc, DateOnly? fileDay)
    {
        if (fileDay is not { } day)
            return true;
        // In ticks: a file named for the first or last day a DateTime can hold must not overflow it.
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).Ticks;
        return utc.Ticks >= start - FileDaySlack.Ticks && utc.Ticks <= start + TimeSpan.TicksPerDay + FileDaySlack.Ticks;
    }

    /// <summary>The first and last day a file or metric can name: what ClickHouse's <c>Date</c> holds.</summary>
    public static readonly DateOnly FirstDay = new(1970, 1, 1);

    /// <inheritdoc cref="FirstDay"/>
    public static readonly DateOnly LastDay = new(2105, 12, 31);

    /// <summary>
    /// The <c>YYYYMMDD</c> day in a file name, if any (the first run of 8 digits that is a real date from
    /// <see cref="FirstDay"/> to <see cref="LastDay"/>).
    /// </summary>
    public static DateOnly? DayFromFileName(string fileName)
    {
        var name = Path.GetFileNameWithoutExtension(fileName);
        for (var i = 0; i + 8 <= name.Length; i++)
        {
            if (i > 0 && char.IsAsciiDigit(name[i - 1]))
                continue;
            var run = name.AsSpan(i, 8);
            if (!run.ContainsAnyExceptInRange('0', '9') && (i + 8 == name.Length || !char.IsAsciiDigit(name[i + 8]))
                && DateOnly.TryParseExact(run, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
                && d >= FirstDay && d <= LastDay)
                return d;
        }

        return null;
    }

    public static DateOnly DayOf(DateTime utc) => DateOnly.FromDateTime(utc);

    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
