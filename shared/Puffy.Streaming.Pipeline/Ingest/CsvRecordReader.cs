using System.Text;
using System.Text.Unicode;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>One CSV record: its text as read and its fields, or why it could not be split.</summary>
/// <remarks>The field list is reused by the next read: copy what must outlive it.</remarks>
public readonly record struct CsvRecord(long Line, string Text, IReadOnlyList<string>? Fields, string? Error);

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
        string? error = null;
        List<string>? fields = null;
        if (unterminated)
        {
            error = "unterminated quoted field";
        }
        else if (Decode(span[start..end]) is not { } text)
        {
            error = "not valid UTF-8";
        }
        else
        {
            fields = _fields;
            fields.Clear();
            error = Split(text, fields, _pool, _pooled);
            if (error is null)
            {
                _pos = next;
                _line += lines;
                record = new CsvRecord(line, text, fields, null);
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

    /// <summary>The text of valid UTF-8, or null.</summary>
    private static string? Decode(ReadOnlySpan<byte> bytes)
    {
        // Most rows are ASCII: one check and one widening copy, instead of validating, counting and decoding.
        if (Ascii.IsValid(bytes))
            return string.Create(bytes.Length, bytes, static (chars, ascii) => Ascii.ToUtf16(ascii, chars, out _));
        return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;
    }

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
    internal static string? Split(string text, List<string> fields) => Split(text, fields, null, 0);

    private static string? Split(string text, List<string> fields, StringPool? pool, ulong pooled)
    {
        // The field about to be added is number fields.Count.
        string Field(int start, int length) =>
            pool is not null && fields.Count < 64 && (pooled & (1UL << fields.Count)) != 0
                ? pool.Get(text.AsSpan(start, length))
                : text.Substring(start, length);

        var i = 0;
        while (true)
        {
            if (i < text.Length && text[i] == '"')
            {
                i++;
                var q = text.IndexOf('"', i);
                if (q < 0)
                    return "unterminated quoted field";
                if (q + 1 < text.Length && text[q + 1] == '"')
                {
                    // Escaped quotes inside: assemble the value piece by piece.
                    var sb = new StringBuilder(text.Length - i);
                    while (true)
                    {
                        sb.Append(text, i, q - i);
                        if (q + 1 < text.Length && text[q + 1] == '"')
                        {
                            sb.Append('"');
                            i = q + 2;
                            q = text.IndexOf('"', i);
                            if (q < 0)
                                return "unterminated quoted field";
                            continue;
                        }

                        i = q + 1;
                        break;
                    }

                    fields.Add(sb.ToString());
                }
                else
                {
                    fields.Add(Field(i, q - i));
                    i = q + 1;
                }

                if (i == text.Length)
                    return null;
                if (text[i] != ',')
                    return $"unexpected character after closing quote at position {i + 1}";
                i++;
                if (i == text.Length)
                {
                    fields.Add(string.Empty);
                    return null;
                }

                continue;
            }

            // One scan finds the field's end and any quote before it.
            var next = text.AsSpan(i).IndexOfAny(',', '"');
            if (next >= 0 && text[i + next] == '"')
                return $"quote inside an unquoted field at position {i + next + 1}";
            var stop = next < 0 ? text.Length : i + next;
            fields.Add(Field(i, stop - i));
            if (next < 0)
                return null;
            i = stop + 1;
            if (i == text.Length)
            {
                fields.Add(string.Empty);
                return null;
            }
        }
    }
}
