using System.Text;
using nietras.SeparatedValues;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// Sep 0.17.1 behind <see cref="CsvRecordReader"/>'s output (line, text, fields or error), with only the glue Sep's
/// API allows: its own line count, the row text taken before unescaping rewrites it, U+FFFD as the sign of bytes
/// that were not UTF-8, and an odd number of quotes as the sign of an unterminated quoted field.
/// </summary>
/// <remarks>
/// Kept for the benchmark only: on well-formed input it gives the ingest reader's output, but it does not keep the
/// ingest reader's guarantees on broken input (README, Performance). Sep ends a row at a lone CR, takes any quote
/// as the start of a quoted section (a stray or unterminated quote swallows the following lines, up to the end of
/// the file), accepts text after a closing quote, cannot tell an encoded U+FFFD from invalid bytes, and throws
/// once a row passes 16 Mi chars.
/// </remarks>
internal sealed class SepCsvRecordReader : IDisposable
{
    private readonly SepReader _reader;
    private readonly List<string> _fields = new(16);
    private long _nextLine = 1;

    public SepCsvRecordReader(Stream stream)
    {
        // Encoding.UTF8 carries the UTF-8 preamble, so a UTF-8 BOM is skipped; no other BOM may switch the decoding.
        var text = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        _reader = Sep.New(',')
            .Reader(o => o with { HasHeader = false, DisableColCountCheck = true, Unescape = true })
            .From(text);
    }

    public bool TryRead(out CsvRecord record)
    {
        if (!_reader.MoveNext())
        {
            record = default;
            return false;
        }

        var row = _reader.Current;
        // Without a header Sep reports the first row's LineNumberFrom as its LineNumberToExcl: count lines here.
        var line = _nextLine;
        _nextLine = row.LineNumberToExcl;
        // Unescaping rewrites the row's chars in place, so the text is taken before any column.
        var text = row.Span.ToString();
        if (text.Contains('\uFFFD', StringComparison.Ordinal))
        {
            record = new CsvRecord(line, text, null, "not valid UTF-8");
            return true;
        }

        if (text.AsSpan().Count('"') % 2 != 0)
        {
            record = new CsvRecord(line, text, null, "unterminated quoted field");
            return true;
        }

        _fields.Clear();
        for (var i = 0; i < row.ColCount; i++)
            _fields.Add(row[i].ToString());
        record = new CsvRecord(line, text, _fields, null);
        return true;
    }

    public void Dispose() => _reader.Dispose();
}
