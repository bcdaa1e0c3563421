namespace Puffy.Streaming.Contracts;

/// <summary>
/// A text field of a message: its string, or the UTF-8 bytes it is decoded from when first asked for. Equal when the
/// texts are, so the message's record equality holds whichever way it was made.
/// </summary>
internal struct Utf8Text : IEquatable<Utf8Text>
{
    private readonly ReadOnlyMemory<byte> _utf8;
    private readonly bool _fromUtf8;
    private string? _text;

    public Utf8Text(string? text) => _text = text;

    public Utf8Text(ReadOnlyMemory<byte> utf8) => (_utf8, _fromUtf8) = (utf8, true);

    public string? Text => _fromUtf8 ? _text ??= System.Text.Encoding.UTF8.GetString(_utf8.Span) : _text;

    public readonly bool TryGetUtf8(out ReadOnlySpan<byte> utf8)
    {
        utf8 = _utf8.Span;
        return _fromUtf8;
    }

    public bool Equals(Utf8Text other) => string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Utf8Text other && Equals(other);

    public override int GetHashCode() => Text?.GetHashCode(StringComparison.Ordinal) ?? 0;
}
