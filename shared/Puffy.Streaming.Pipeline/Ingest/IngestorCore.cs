using System.Text;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>
/// The ingestor's core: turns a file's bytes into <see cref="RawEvent"/>s in file order and keeps the stream time
/// (the largest plausible event time read so far, semantics §3) that every event carries downstream.
/// Rows whose time is unparseable or outside the file's 24-hour window do not move the stream time.
/// </summary>
public sealed class IngestorCore
{
    /// <summary>The default row size limit (semantics §2, <c>oversized_row</c>): 256 KiB of UTF-8 text.</summary>
    public const int DefaultMaxRowBytes = 256 * 1024;

    /// <summary>How much of an oversized row's text is kept for its dead letter.</summary>
    public const int OversizedExcerptChars = 1024;

    public DateTime StreamTime { get; private set; } = DateTime.MinValue;

    // User agents, referrers and event names repeat in most rows: one string per distinct value, across files.
    private readonly StringPool _pool = new();

    /// <summary>
    /// Rows whose text is longer than this many UTF-8 bytes are not split into fields: they travel as an excerpt with
    /// their size and are dead-lettered as <c>oversized_row</c>, so no message ever approaches the broker's limit.
    /// </summary>
    public int MaxRowBytes { get; init; } = DefaultMaxRowBytes;

    /// <summary>
    /// Rows keep their text as a slice of the content given to <see cref="ReadFile"/>, decoded only when asked for (a
    /// dead letter), instead of as a string each. Only for a caller that keeps that content unchanged until every row
    /// of the file is decided.
    /// </summary>
    public bool RowTextFromContent { get; init; }

    /// <summary>Called with the file's metrics (schema, rows, header problems) as they become known.</summary>
    public Action<Metric> OnMetric { get; init; } = static _ => { };

    /// <summary>Reads one file. A file without a usable header yields every row as unparseable, so none is lost.</summary>
    public IEnumerable<RawEvent> ReadFile(string fileName, ReadOnlyMemory<byte> content)
    {
        var day = EventTime.DayFromFileName(fileName);
        var reader = new CsvRecordReader(content);
        CsvHeader header;
        if (!reader.TryRead(out var first))
        {
            header = CsvHeader.Unusable("the file is empty (no header row)");
        }
        else if (first.Fields is null)
        {
            header = CsvHeader.Unusable($"the header row cannot be read: {first.Error}");
        }
        else
        {
            header = CsvHeader.Parse(first.Fields);
        }

        OnMetric(new Metric(day, MetricNames.FileSchema, string.Join(",", header.Columns), header.FieldCount, fileName));
        if (!header.IsUsable)
            OnMetric(new Metric(day, MetricNames.FileHeaderUnusable, header.Problem!, 1, fileName));

        var iClient = header.IndexOf(CsvHeader.ClientId);
        var iPage = header.IndexOf(CsvHeader.PageUrl);
        var iRef = header.IndexOf(CsvHeader.Referrer);
        var iTs = header.IndexOf(CsvHeader.Timestamp);
        var iName = header.IndexOf(CsvHeader.EventName);
        var iData = header.IndexOf(CsvHeader.EventData);
        var iUa = header.IndexOf(CsvHeader.UserAgent);
        reader.PoolColumns(_pool, iUa, iRef, iName);
        // Rows that keep their text in the file's bytes keep their timestamp and page url there too: the row checks
        // read their bytes, and the page url becomes a string only if something asks for it.
        if (RowTextFromContent)
            reader.KeepBytes(iTs, iPage);
        long rows = 0;
        while (reader.TryRead(out var rec))
        {
            rows++;
            // A string of n chars is at most 3n UTF-8 bytes: only long rows need counting.
            if (rec.TextLength > MaxRowBytes / 3 && System.Text.Encoding.UTF8.GetByteCount(rec.Text) is var bytes && bytes > MaxRowBytes)
            {
                yield return new RawEvent(fileName, rec.Line, day, Excerpt(rec.Text), null, null, null, null, null, null, null, null, StreamTime, bytes);
                continue;
            }

            string? error = rec.Error;
            if (error is null && !header.IsUsable)
                error = $"file header is unusable: {header.Problem}";
            if (error is null && rec.Fields!.Count != header.FieldCount)
                error = $"expected {header.FieldCount} fields, found {rec.Fields.Count}";
            if (error is not null)
            {
                yield return new RawEvent(fileName, rec.Line, day, rec.Text, error, null, null, null, null, null, null, null, StreamTime);
                continue;
            }

            var f = rec.Fields!;
            var (keptTs, keptPage) = (rec.KeptBytes(iTs), rec.KeptBytes(iPage));
            var ts = keptTs is null ? f[iTs] : null;
            if ((keptTs is { } utf8 ? EventTime.TryParse(utf8.Span, out var t) : EventTime.TryParse(ts, out t))
                && EventTime.IsPlausibleFor(t, day) && t > StreamTime)
                StreamTime = t;
            var (client, referrer, name) = (f[iClient], iRef >= 0 ? f[iRef] : null, f[iName]);
            var page = keptPage is null && iPage >= 0 ? f[iPage] : null;
            var (data, ua) = (iData >= 0 ? f[iData] : null, iUa >= 0 ? f[iUa] : null);
            yield return RowTextFromContent && !rec.Ascii.IsEmpty
                ? RawEvent.FromUtf8(fileName, rec.Line, day, rec.Ascii, client, keptPage ?? Utf8(page),
                    referrer, keptTs ?? Encoding.UTF8.GetBytes(ts!), name, data, ua, StreamTime)
                : new RawEvent(fileName, rec.Line, day, rec.Text, null, client, page ?? Text(keptPage), referrer, ts ?? Text(keptTs), name, data,
                    ua, StreamTime);
        }

        OnMetric(new Metric(day, MetricNames.FileRows, string.Empty, rows, fileName));
    }

    private static string? Text(ReadOnlyMemory<byte>? utf8) => utf8 is { } bytes ? Encoding.UTF8.GetString(bytes.Span) : null;

    // Null stays null (a missing column), never an empty value.
    private static ReadOnlyMemory<byte>? Utf8(string? text) => text is null ? (ReadOnlyMemory<byte>?)null : Encoding.UTF8.GetBytes(text);

    /// <summary>The beginning of an oversized row, never ending inside a surrogate pair.</summary>
    private static string Excerpt(string text)
    {
        var n = Math.Min(text.Length, OversizedExcerptChars);
        if (n < text.Length && char.IsHighSurrogate(text[n - 1]))
            n--;
        return text[..n];
    }

    /// <summary>Continues a replay that stopped: the stream time never goes back, so later rows keep their order.</summary>
    public void ResumeAt(DateTime streamTime)
    {
        if (streamTime > StreamTime)
            StreamTime = streamTime;
    }

    /// <summary>Reports new content under the name of a file read before, about to be read as <paramref name="fileName"/>.</summary>
    public void ReportChanged(string fileName, string earlierFile, long earlierRows) =>
        OnMetric(new Metric(EventTime.DayFromFileName(fileName), MetricNames.FileChanged, earlierFile, earlierRows, fileName));

    /// <summary>Reports a file that could not be read at all (I/O error).</summary>
    public void ReportUnreadable(string fileName, string error) =>
        OnMetric(new Metric(EventTime.DayFromFileName(fileName), MetricNames.FileUnreadable, error, 1, fileName));
}
