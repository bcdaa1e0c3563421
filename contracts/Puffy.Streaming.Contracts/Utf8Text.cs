namespace Puffy.Streaming.Contracts;

/// <summary>
/// A text field of a message: its string, or the UTF-8 bytes it is decoded from when first asked for. Equal when the
/// texts are, so the message's record equality holds whichever way it was made.
/// </summary>
/// <remarks>
/// 24 bytes: a marker in place of the string, not a flag beside it, tells bytes still to decode (a message carries up
/// to three of these, and is read on another thread than the one that made it). Empty bytes are never replaced by
/// their text, and non-empty bytes stay after decoding, so whether the value came from bytes never changes.
/// </remarks>
internal struct Utf8Text : IEquatable<Utf8Text>
{
    // Stands for "decode the bytes": compared by reference, never returned.
    private static readonly string Undecoded = new('\0', 1);

    private readonly ReadOnlyMemory<byte> _utf8;
    private string? _text;

    public Utf8Text(string? text) => _text = text;

    public Utf8Text(ReadOnlyMemory<byte> utf8) => (_utf8, _text) = (utf8, Undecoded);

    /// <summary>From the bytes when there are some, else from the text (null: the value is absent).</summary>
    public Utf8Text(ReadOnlyMemory<byte>? utf8, string? text) => (_utf8, _text) = utf8 is { } bytes ? (bytes, Undecoded) : (default, text);

    public string? Text =>
        !ReferenceEquals(_text, Undecoded) ? _text
        : _utf8.IsEmpty ? string.Empty
        : _text = System.Text.Encoding.UTF8.GetString(_utf8.Span);

    private readonly bool FromUtf8 => !_utf8.IsEmpty || ReferenceEquals(_text, Undecoded);

    public readonly bool TryGetUtf8(out ReadOnlySpan<byte> utf8)
    {
        utf8 = _utf8.Span;
        return FromUtf8;
    }

    public readonly bool TryGetUtf8(out ReadOnlyMemory<byte> utf8)
    {
        utf8 = _utf8;
        return FromUtf8;
    }

    public bool Equals(Utf8Text other) => string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Utf8Text other && Equals(other);

    public override int GetHashCode() => Text?.GetHashCode(StringComparison.Ordinal) ?? 0;
}
