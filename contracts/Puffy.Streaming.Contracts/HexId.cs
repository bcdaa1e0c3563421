using System.Buffers.Binary;

namespace Puffy.Streaming.Contracts;

/// <summary>
/// The text of the pipeline's 128-bit ids (event ids, semantics §1, and the ids derived from them): a prefix, then the
/// number's 16 big-endian bytes as 32 lower-case hex digits.
/// </summary>
public static class HexId
{
    public const int Digits = 32;

    public static string ToText(string prefix, UInt128 id) =>
        string.Create(prefix.Length + Digits, (prefix, id), static (span, state) =>
        {
            state.prefix.CopyTo(span);
            Format(state.id, span[state.prefix.Length..]);
        });

    /// <summary>Writes the 32 digits to <paramref name="destination"/> (no integer formatting per digit).</summary>
    public static void Format(UInt128 id, Span<char> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, id);
        Convert.TryToHexStringLower(bytes, destination, out _);
    }

    /// <summary>Writes the 32 digits to <paramref name="destination"/> as UTF-8.</summary>
    public static void FormatUtf8(UInt128 id, Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, id);
        Convert.TryToHexStringLower(bytes, destination, out _);
    }

    /// <summary>The number written by <see cref="Format"/> (hex digits of either case), or false when the text is not 32 hex digits.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out UInt128 id)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (text.Length != Digits || Convert.FromHexString(text, bytes, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            id = default;
            return false;
        }

        id = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return true;
    }
}

/// <summary>
/// An id field of a message: either its text, or (as the pipeline makes them) a <see cref="HexId"/> number and prefix,
/// written as text only when first asked for. Most ids are only compared, hashed or written as UTF-8, which the
/// number serves without a string. Equal when the texts are, so a message's record equality holds whichever way it
/// was made.
/// </summary>
internal struct NumberedText : IEquatable<NumberedText>
{
    private readonly UInt128 _number;
    private readonly string? _prefix; // set when made from a number
    private string? _text;

    public NumberedText(string text) => _text = text;

    public NumberedText(string prefix, UInt128 number) => (_prefix, _number) = (prefix, number);

    public string Text => _text ?? (_prefix is null ? null! : _text = HexId.ToText(_prefix, _number));

    public readonly bool TryGetNumber(out UInt128 number)
    {
        number = _number;
        return _prefix is not null;
    }

    // Two numbers of one field share its prefix.
    public bool Equals(NumberedText other) =>
        _prefix is not null && other._prefix is not null
            ? _number == other._number
            : string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is NumberedText other && Equals(other);

    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);
}
