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

    /// <summary>The id of a row's content fields, each given as its text or as its UTF-8 bytes (<see cref="IdField"/>).</summary>
    public static UInt128 Compute(IdField clientId, IdField timestamp, IdField eventName, IdField pageUrl, IdField referrer,
        IdField eventData, IdField userAgent)
    {
        var max = (7 * 5) + clientId.MaxBytes + timestamp.MaxBytes + eventName.MaxBytes + pageUrl.MaxBytes + referrer.MaxBytes
                  + eventData.MaxBytes + userAgent.MaxBytes;
        var buf = Buffer(max).AsSpan();
        var n = 0;
        n = clientId.AppendTo(buf, n);
        n = timestamp.AppendTo(buf, n);
        n = eventName.AppendTo(buf, n);
        n = pageUrl.AppendTo(buf, n);
        n = referrer.AppendTo(buf, n);
        n = eventData.AppendTo(buf, n);
        n = userAgent.AppendTo(buf, n);
        return Hash128(buf[..n]);
    }

    /// <summary>A field of <see cref="Compute"/>: a text (null when absent), or the UTF-8 bytes of a present one.</summary>
    public readonly ref struct IdField
    {
        private readonly string? _text;
        private readonly ReadOnlySpan<byte> _utf8;
        private readonly bool _fromUtf8;

        private IdField(string? text, ReadOnlySpan<byte> utf8, bool fromUtf8)
        {
            _text = text;
            _utf8 = utf8;
            _fromUtf8 = fromUtf8;
        }

        public static implicit operator IdField(string? text) => new(text, default, false);

        public static IdField Utf8(ReadOnlySpan<byte> utf8) => new(null, utf8, true);

        internal int MaxBytes => _fromUtf8 ? _utf8.Length : Utf8Max(_text);

        internal int AppendTo(Span<byte> buf, int n) => _fromUtf8 ? Append(buf, n, _utf8) : Append(buf, n, _text);
    }

    private static UInt128 Hash128(ReadOnlySpan<byte> data) => new(XxHash64.HashToUInt64(data, 0), XxHash64.HashToUInt64(data, 1));

    /// <summary>The id's text: 32 lower-case hex digits (<see cref="HexId"/>).</summary>
    public static string ToText(UInt128 id) => HexId.ToText(string.Empty, id);

    /// <summary>The id written by <see cref="ToText(UInt128)"/> (hex digits of either case), or false when the text is not 32 hex digits.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out UInt128 id) => HexId.TryParse(text, out id);

    /// <summary>A further deterministic id derived from parts (session ids): prefix + 32 hex digits.</summary>
    public static string Derive(string prefix, string first, string second) => ToText(prefix, DeriveNumber(first, second));

    /// <summary>The number of <see cref="Derive"/>'s id.</summary>
    public static UInt128 DeriveNumber(string first, string second) => DeriveNumber(first, (IdField)second);

    /// <summary>As <see cref="DeriveNumber(string, string)"/> with an event id's text as the second part, from its number.</summary>
    public static UInt128 DeriveNumber(string first, UInt128 eventId)
    {
        Span<byte> text = stackalloc byte[HexId.Digits];
        HexId.FormatUtf8(eventId, text);
        return DeriveNumber(first, IdField.Utf8(text));
    }

    private static UInt128 DeriveNumber(IdField first, IdField second)
    {
        var buf = Buffer((2 * 5) + first.MaxBytes + second.MaxBytes).AsSpan();
        var n = first.AppendTo(buf, 0);
        n = second.AppendTo(buf, n);
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
