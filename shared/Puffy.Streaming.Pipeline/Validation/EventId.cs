using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>
/// Deterministic event identity (semantics §1): a 128-bit hash of the row's content fields (client id, timestamp,
/// event name, page url, referrer, event data, user agent) — never of file name or line — so an exact duplicate
/// row and a replayed file get the same id. The fields are serialised as UTF-8, each prefixed with a presence
/// flag and its length so that null, empty and shifted values never collide; the id is XXH64 of that with seed 0
/// followed by XXH64 with seed 1, as 32 lower-case hex digits.
/// </summary>
public static class EventId
{
    [ThreadStatic]
    private static byte[]? t_buffer;

    private static byte[] Buffer(int size)
    {
        var b = t_buffer;
        if (b is null || b.Length < size)
            t_buffer = b = new byte[Math.Max(size, 4096)];
        return b;
    }

    public static UInt128 Compute(string? clientId, string? timestamp, string? eventName, string? pageUrl,
        string? referrer, string? eventData, string? userAgent) =>
        Compute(clientId, timestamp, default, fromUtf8: false, eventName, pageUrl, referrer, eventData, userAgent);

    /// <summary>As the other overload, with the timestamp given as its UTF-8 bytes (present, possibly empty).</summary>
    public static UInt128 Compute(string? clientId, ReadOnlySpan<byte> timestampUtf8, string? eventName, string? pageUrl,
        string? referrer, string? eventData, string? userAgent) =>
        Compute(clientId, null, timestampUtf8, fromUtf8: true, eventName, pageUrl, referrer, eventData, userAgent);

    private static UInt128 Compute(string? clientId, string? timestamp, ReadOnlySpan<byte> timestampUtf8, bool fromUtf8,
        string? eventName, string? pageUrl, string? referrer, string? eventData, string? userAgent)
    {
        var max = (7 * 5) + Utf8Max(clientId) + (fromUtf8 ? timestampUtf8.Length : Utf8Max(timestamp)) + Utf8Max(eventName)
                  + Utf8Max(pageUrl) + Utf8Max(referrer) + Utf8Max(eventData) + Utf8Max(userAgent);
        var buf = Buffer(max).AsSpan();
        var n = 0;
        n = Append(buf, n, clientId);
        n = fromUtf8 ? Append(buf, n, timestampUtf8) : Append(buf, n, timestamp);
        n = Append(buf, n, eventName);
        n = Append(buf, n, pageUrl);
        n = Append(buf, n, referrer);
        n = Append(buf, n, eventData);
        n = Append(buf, n, userAgent);
        return Hash128(buf[..n]);
    }

    private static UInt128 Hash128(ReadOnlySpan<byte> data) => new(XxHash64.HashToUInt64(data, 0), XxHash64.HashToUInt64(data, 1));

    /// <summary>The id's text: 32 lower-case hex digits (<see cref="HexId"/>).</summary>
    public static string ToText(UInt128 id) => HexId.ToText(string.Empty, id);

    /// <summary>The id written by <see cref="ToText(UInt128)"/> (hex digits of either case), or false when the text is not 32 hex digits.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out UInt128 id) => HexId.TryParse(text, out id);

    /// <summary>A further deterministic id derived from parts (session ids): prefix + 32 hex digits.</summary>
    public static string Derive(string prefix, string first, string second) => ToText(prefix, DeriveNumber(first, second));

    /// <summary>The number of <see cref="Derive"/>'s id.</summary>
    public static UInt128 DeriveNumber(string first, string second)
    {
        var max = 5 + Utf8Max(first) + Utf8Max(second);
        var buf = Buffer(max).AsSpan();
        var n = Append(buf, 0, first);
        n = Append(buf, n, second);
        return Hash128(buf[..n]);
    }

    /// <summary>As <see cref="DeriveNumber(string, string)"/> with an event id's text as the second part, from its number.</summary>
    public static UInt128 DeriveNumber(string first, UInt128 eventId)
    {
        Span<byte> text = stackalloc byte[HexId.Digits];
        HexId.FormatUtf8(eventId, text);
        var buf = Buffer(5 + Utf8Max(first) + 5 + text.Length).AsSpan();
        var n = Append(buf, 0, first);
        n = Append(buf, n, text);
        return Hash128(buf[..n]);
    }

    /// <summary>prefix + the id's 32 hex digits, as <see cref="Derive"/> writes them.</summary>
    public static string ToText(string prefix, UInt128 id) => HexId.ToText(prefix, id);

    private static int Utf8Max(string? s) => s is null ? 0 : Encoding.UTF8.GetMaxByteCount(s.Length);

    private static int Append(Span<byte> buf, int n, ReadOnlySpan<byte> utf8)
    {
        buf[n] = 1;
        BinaryPrimitives.WriteInt32LittleEndian(buf[(n + 1)..], utf8.Length);
        utf8.CopyTo(buf[(n + 5)..]);
        return n + 5 + utf8.Length;
    }

    private static int Append(Span<byte> buf, int n, string? value)
    {
        if (value is null)
        {
            buf[n] = 0;
            return n + 1;
        }

        buf[n] = 1;
        var len = Encoding.UTF8.GetBytes(value, buf[(n + 5)..]);
        BinaryPrimitives.WriteInt32LittleEndian(buf[(n + 1)..], len);
        return n + 5 + len;
    }
}
