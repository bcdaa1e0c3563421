using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>One CSV record: its text as read and its fields, or why it could not be split.</summary>
/// <remarks>The field list and the kept columns' places (<see cref="KeptBytes"/>) are reused by the next read: copy what must outlive it.</remarks>
public readonly record struct CsvRecord(long Line, string Text, IReadOnlyList<string>? Fields, string? Error)
{
    /// <summary>A record split straight from its bytes (ASCII): its text is only made when asked for.</summary>
    internal CsvRecord(long line, ReadOnlyMemory<byte> ascii, IReadOnlyList<string> fields, Range?[] kept)
        : this(line, null!, fields, (string?)null) => (Ascii, _kept) = (ascii, kept);

    private readonly string? _text = Text;
    private readonly Range?[]? _kept;

    /// <summary>The record's text exactly as read (without its line end).</summary>
    public string Text
    {
        get => _text ?? Encoding.ASCII.GetString(Ascii.Span);
        init => _text = value;
    }

    /// <summary>The record's bytes when it is all ASCII and was split from them (its text not made yet); empty otherwise.</summary>
    public ReadOnlyMemory<byte> Ascii { get; }

    /// <summary>
    /// The value of a column the reader keeps as bytes (<see cref="CsvRecordReader.KeepBytes"/>), a slice of the
    /// record's bytes, when it was taken as one; its entry in <see cref="Fields"/> is then empty. Null otherwise (the
    /// field is in <see cref="Fields"/>).
    /// </summary>
    public ReadOnlyMemory<byte>? KeptBytes(int column) =>
        _kept is { } kept && (uint)column < (uint)kept.Length && kept[column] is { } range ? Ascii[range] : (ReadOnlyMemory<byte>?)null;

    /// <summary>The length of <see cref="Text"/>, without making it.</summary>
    public int TextLength => _text?.Length ?? Ascii.Length;
}

/// <summary>
/// RFC 4180 reader over a file's bytes. A record normally is one line; a quoted field may span lines.
/// A record that cannot be split (broken quoting, invalid UTF-8) is returned with an error, and when a stray
/// quote made it swallow further lines, only its first line is taken as the broken record and reading resumes
/// on the next line, so one bad quote costs one row, not the rest of the file.
/// </summary>
public sealed class CsvRecordReader
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly List<string> _fields = new(16);
    private int _pos;
    private long _line = 1;
    private StringPool? _pool;
    private ulong _pooled;
    private char[] _chars = new char[256];
    private ulong _keep;
    private readonly Range?[] _kept = new Range?[64];

    public CsvRecordReader(ReadOnlyMemory<byte> data)
    {
        _data = data;
        var span = data.Span;
        if (span.Length >= 3 && span[0] == 0xEF && span[1] == 0xBB && span[2] == 0xBF)
            _pos = 3;
    }

    /// <summary>
    /// Takes the values of the given columns (0 to 63) from <paramref name="pool"/> from the next record on: for columns
    /// whose values repeat in most rows, one string per distinct value instead of one per row.
    /// </summary>
    public void PoolColumns(StringPool pool, params ReadOnlySpan<int> columns)
    {
        _pool = pool;
        _pooled = 0;
        foreach (var c in columns)
        {
            if (c is >= 0 and < 64)
                _pooled |= 1UL << c;
        }
    }

    /// <summary>
    /// From the next record on, the values of the given columns (0 to 63) in an ASCII record are not made into strings
    /// but given as slices of the data (<see cref="CsvRecord.KeptBytes"/>), unless they have escaped quotes to undo. The
    /// caller keeps the data unchanged for as long as it uses the slices.
    /// </summary>
    public void KeepBytes(params ReadOnlySpan<int> columns)
    {
        _keep = 0;
        foreach (var c in columns)
        {
            if (c is >= 0 and < 64)
                _keep |= 1UL << c;
        }
    }

    public bool TryRead(out CsvRecord record)
    {
        var span = _data.Span;
        if (_pos >= span.Length)
        {
            record = default;
            return false;
        }

        var start = _pos;
        var line = _line;
        var (end, next, lines, unterminated) = FindRecordEnd(span, start);
        string? error;
        var bytes = span[start..end];
        if (unterminated)
        {
            error = "unterminated quoted field";
        }
        else if (AsciiOrUtf8(bytes) is not { } ascii)
        {
            error = "not valid UTF-8";
        }
        else
        {
            error = Split(bytes, ascii, _fields, _pool, _pooled, ref _chars, ascii ? _keep : 0, _kept);
            if (error is null)
            {
                _pos = next;
                _line += lines;
                // An ASCII record's text is made only when asked for; most are never needed as one string.
                var recordBytes = _data.Slice(start, end - start);
                record = ascii
                    ? new CsvRecord(line, recordBytes, _fields, _kept)
                    : new CsvRecord(line, Encoding.UTF8.GetString(bytes), _fields, null);
                return true;
            }
        }

        if (lines > 1)
        {
            // Resynchronise on the next physical line: the broken record is the first line only.
            var nl = span[start..].IndexOf((byte)'\n');
            end = TrimCrEnd(span, start, start + nl);
            next = start + nl + 1;
            lines = 1;
        }

        _pos = next;
        _line += lines;
        var raw = Encoding.UTF8.GetString(span[start..end]);
        record = new CsvRecord(line, raw, null, error);
        return true;
    }

    /// <summary>True for ASCII, false for other valid UTF-8, null for bytes that are not UTF-8.</summary>
    private static bool? AsciiOrUtf8(ReadOnlySpan<byte> bytes) =>
        Ascii.IsValid(bytes) ? true : Utf8.IsValid(bytes) ? false : null;

    /// <summary>Finds where the record starting at <paramref name="start"/> ends (exclusive, without CR/LF).</summary>
    private static (int End, int Next, long Lines, bool Unterminated) FindRecordEnd(ReadOnlySpan<byte> span, int start)
    {
        var inQuote = false;
        var pos = start;
        long lines = 1;
        while (true)
        {
            var idx = span[pos..].IndexOfAny((byte)'"', (byte)'\n');
            if (idx < 0)
            {
                // End of data: the last record has no line terminator.
                return (TrimCrEnd(span, start, span.Length), span.Length, lines, inQuote);
            }

            pos += idx;
            if (span[pos] == (byte)'"')
            {
                inQuote = !inQuote;
                pos++;
                continue;
            }

            if (!inQuote)
                return (TrimCrEnd(span, start, pos), pos + 1, lines, false);
            lines++;
            pos++;
        }
    }

    private static int TrimCrEnd(ReadOnlySpan<byte> span, int start, int end) =>
        end > start && span[end - 1] == (byte)'\r' ? end - 1 : end;

    /// <summary>Splits one record's text into fields; returns an error text when the quoting is broken.</summary>
    internal static string? Split(string text, List<string> fields)
    {
        var chars = Array.Empty<char>();
        return Split(Encoding.UTF8.GetBytes(text), Ascii.IsValid(text), fields, null, 0, ref chars, 0, []);
    }

    /// <summary>
    /// Splits one record (valid UTF-8, <paramref name="ascii"/> when all of it is ASCII) into <paramref name="fields"/>;
    /// returns an error text when the quoting is broken. Quotes and commas are single bytes that never occur inside a
    /// multi-byte character, so the bytes split as the text would; positions in errors count the text's chars.
    /// The fields whose bits are set in <paramref name="keep"/>, when they need no unescaping, are left empty and their
    /// place in the row given in <paramref name="kept"/> (by column; null for a kept column taken as a string).
    /// </summary>
    private static string? Split(ReadOnlySpan<byte> row, bool ascii, List<string> fields, StringPool? pool, ulong pooled, ref char[] chars,
        ulong keep, Range?[] kept)
    {
        fields.Clear();
        for (var k = keep; k != 0; k &= k - 1)
            kept[System.Numerics.BitOperations.TrailingZeroCount(k)] = null;
        var i = 0;
        while (true)
        {
            if (i < row.Length && row[i] == (byte)'"')
            {
                i++;
                var q = row[i..].IndexOf((byte)'"');
                if (q < 0)
                    return "unterminated quoted field";
                q += i;
                if (q + 1 < row.Length && row[q + 1] == (byte)'"')
                {
                    // Escaped quotes inside: gather the value's bytes piece by piece, then decode them.
                    var value = ArrayPool<byte>.Shared.Rent(row.Length);
                    try
                    {
                        var n = 0;
                        while (true)
                        {
                            row[i..q].CopyTo(value.AsSpan(n));
                            n += q - i;
                            if (q + 1 < row.Length && row[q + 1] == (byte)'"')
                            {
                                value[n++] = (byte)'"';
                                i = q + 2;
                                var r = row[i..].IndexOf((byte)'"');
                                if (r < 0)
                                    return "unterminated quoted field";
                                q = i + r;
                                continue;
                            }

                            i = q + 1;
                            break;
                        }

                        fields.Add(Text(value.AsSpan(0, n), ascii));
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(value);
                    }
                }
                else
                {
                    fields.Add(IsKept(keep, fields.Count) ? Keep(i, q, kept, fields.Count) : Field(row.Slice(i, q - i), ascii, fields.Count, pool, pooled, ref chars));
                    i = q + 1;
                }

                if (i == row.Length)
                    return null;
                if (row[i] != (byte)',')
                    return $"unexpected character after closing quote at position {Position(row, i, ascii)}";
                i++;
                if (i == row.Length)
                {
                    fields.Add(string.Empty);
                    return null;
                }

                continue;
            }

            // One scan finds the field's end and any quote before it.
            var next = row[i..].IndexOfAny((byte)',', (byte)'"');
            if (next >= 0 && row[i + next] == (byte)'"')
                return $"quote inside an unquoted field at position {Position(row, i + next, ascii)}";
            var stop = next < 0 ? row.Length : i + next;
            fields.Add(IsKept(keep, fields.Count) ? Keep(i, stop, kept, fields.Count) : Field(row[i..stop], ascii, fields.Count, pool, pooled, ref chars));
            if (next < 0)
                return null;
            i = stop + 1;
            if (i == row.Length)
            {
                fields.Add(string.Empty);
                return null;
            }
        }
    }

    private static bool IsKept(ulong keep, int column) => column < 64 && (keep & (1UL << column)) != 0;

    private static string Keep(int start, int end, Range?[] kept, int column)
    {
        kept[column] = start..end;
        return string.Empty;
    }

    /// <summary>The 1-based position in the record's text of the char at byte <paramref name="index"/>.</summary>
    private static int Position(ReadOnlySpan<byte> row, int index, bool ascii) =>
        (ascii ? index : Encoding.UTF8.GetCharCount(row[..index])) + 1;

    // ASCII: one widening copy, instead of validating, counting and decoding.
    private static string Text(ReadOnlySpan<byte> value, bool ascii) =>
        ascii ? string.Create(value.Length, value, static (text, bytes) => Ascii.ToUtf16(bytes, text, out _)) : Encoding.UTF8.GetString(value);

    /// <summary>Field number <paramref name="column"/>: from the pool when its column is pooled, else a new string.</summary>
    private static string Field(ReadOnlySpan<byte> value, bool ascii, int column, StringPool? pool, ulong pooled, ref char[] chars)
    {
        if (value.IsEmpty)
            return string.Empty;
        if (pool is null || column >= 64 || (pooled & (1UL << column)) == 0)
            return Text(value, ascii);

        // A UTF-8 field has at most as many chars as bytes.
        if (chars.Length < value.Length)
            chars = new char[Math.Max(value.Length, chars.Length * 2)];
        int length;
        if (ascii)
            Ascii.ToUtf16(value, chars, out length);
        else
            length = Encoding.UTF8.GetChars(value, chars);
        return pool.Get(chars.AsSpan(0, length));
    }
}
