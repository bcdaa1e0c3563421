using System.Text;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// A row's text as read: rows are split straight from their bytes, and an ASCII row's text is made only when asked for
/// (the embedded run keeps each file's bytes until every row of it is decided). The fields, errors and dead letters'
/// <c>original_row</c> are those of the text.
/// </summary>
public sealed class RowTextUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-rowtext-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TryRead_RandomRows_GiveTheFieldsAndErrorsOfReadingTheirTextCharByChar()
    {
        // Rows over a small alphabet hit every quoting case: escaped quotes, quotes in unquoted fields, text after a
        // closing quote, empty and trailing fields, unterminated quotes; 'é' makes some rows UTF-8 but not ASCII, where
        // error positions count chars, not bytes.
        var random = new Random(20261130);
        const string alphabet = "ab,\"\" é";
        var split = 0;
        for (var round = 0; round < 3_000; round++)
        {
            var text = new string(Enumerable.Range(0, random.Next(1, 14)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var reader = new CsvRecordReader(Encoding.UTF8.GetBytes(text));
            var expected = CharByChar(text);

            Assert.True(reader.TryRead(out var record));
            Assert.Equal(text, record.Text);
            Assert.Equal(expected.Error, record.Error);
            if (expected.Fields is { } fields)
            {
                Assert.Equal(fields, record.Fields!);
                Assert.Equal(text.Length, record.TextLength);
                split++;
            }
        }

        Assert.InRange(split, 300, 2_700);
    }

    /// <summary>The reader's rules (RFC 4180, strict), applied one char at a time.</summary>
    private static (List<string>? Fields, string? Error) CharByChar(string text)
    {
        // Quotes that do not pair up leave a quoted field open to the end of the data, whatever comes before.
        if (text.Count(c => c == '"') % 2 == 1)
            return (null, "unterminated quoted field");
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (true)
        {
            if (i < text.Length && text[i] == '"')
            {
                for (i++; ; i++)
                {
                    if (i == text.Length)
                        return (null, "unterminated quoted field");
                    if (text[i] != '"')
                        field.Append(text[i]);
                    else if (i + 1 < text.Length && text[i + 1] == '"')
                        field.Append(text[++i]);
                    else
                        break;
                }

                i++;
                if (i < text.Length && text[i] != ',')
                    return (null, $"unexpected character after closing quote at position {i + 1}");
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                {
                    if (text[i] == '"')
                        return (null, $"quote inside an unquoted field at position {i + 1}");
                    field.Append(text[i]);
                }
            }

            fields.Add(field.ToString());
            field.Clear();
            if (i == text.Length)
                return (fields, null);
            i++;
        }
    }

    [Theory]
    [InlineData("a,\"say \"\"hi\"\"\",,\"x,y\"", true, new[] { "a", "say \"hi\"", "", "x,y" })]
    [InlineData("é,\"ü,\"\"ß\"\"\"", false, new[] { "é", "ü,\"ß\"" })]
    public void TryRead_Row_IsSplitFromItsBytesAndKeepsItsExactText(string row, bool keptAsBytes, string[] fields)
    {
        var reader = new CsvRecordReader(Fx.Bytes(row + "\r\nnext\n"));

        Assert.True(reader.TryRead(out var first));
        Assert.Equal(keptAsBytes, !first.Ascii.IsEmpty);
        Assert.Equal(row, first.Text);
        Assert.Equal(fields, first.Fields!);
        Assert.True(reader.TryRead(out var second));
        Assert.Equal("next", second.Text);
    }

    [Theory]
    [InlineData("2025-03-01T10:00:00.000Z")]
    [InlineData("2025-03-01T10:00:00Z")]
    [InlineData("2025-03-01T10:00:00.1234567Z")]
    [InlineData("2025-03-01T10:00:00+00:00")]
    [InlineData("2025-03-01T10:00:00.000+00:00")]
    [InlineData("2025-13-01T10:00:00.000Z")]
    [InlineData("2025-02-29T10:00:00.000Z")]
    [InlineData("1969-12-31T23:59:59.999Z")]
    [InlineData("2106-01-01T00:00:00.000Z")]
    [InlineData("2025-03-01T10:00:00.0\u00e9Z")] // 23 chars, 24 bytes: the export's length in bytes, not its shape
    [InlineData("\uff12025-03-01T10:00:00.000Z")] // a full-width digit
    [InlineData("2025-03-01 10:00:00.000Z")]
    [InlineData("")]
    [InlineData("not a time")]
    public void EventTime_FromUtf8_ParsesAsFromText(string escaped)
    {
        var text = System.Text.RegularExpressions.Regex.Unescape(escaped);

        var fromText = EventTime.TryParse(text, out var textTime);
        var fromBytes = EventTime.TryParse(Fx.Bytes(text), out var bytesTime);

        Assert.Equal((fromText, textTime), (fromBytes, bytesTime));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadFile_TimestampAndPageUrlKeptAsBytes_CheckAsTheTextDoes(bool pageColumn)
    {
        // Timestamps and page urls plain, quoted, with an escaped quote (made into a string: it needs unescaping), empty,
        // malformed, in a row that is not ASCII (decoded as text, timestamp included), and in a row with a field missing;
        // and a file without a page url column, whose events have none (null, not empty).
        var good = Fx.Iso(Fx.Day.AddHours(9));
        var lines = new[]
        {
            $"client-a,{Fx.Shop},,{good},{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-b,\"{Fx.Shop}?utm_medium=email\",,\"{Fx.Iso(Fx.Day.AddHours(10))}\",{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-c,\"{Fx.Shop}?q=\"\"x\"\"&gclid=1\",,{good},{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-i,{Fx.Shop},,\"{good}\"\"\",{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-d,,,,{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-e,{Fx.Shop},,2025-03-01T25:00:00.000Z,{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-f,{Fx.Shop}?q=\u00e9&utm_medium=cpc,,{Fx.Iso(Fx.Day.AddHours(11))},{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-g,{Fx.Shop}?gclid=2,,{Fx.Iso(Fx.Day.AddHours(12))},{EventNames.PageViewed},,\"{Fx.DesktopUa}\"",
            $"client-h,{Fx.Shop},,{good}",
        };
        var header = Fx.Header;
        if (!pageColumn)
        {
            header = header.Replace("page_url,", "", StringComparison.Ordinal);
            // Drop each row's second field (the page url, possibly quoted with escapes) by reading it as CSV.
            lines = lines.Select(l => string.Join(',', CsvFields(l).Where((_, i) => i != 1).Select(Fx.Quote))).ToArray();
        }

        var content = Fx.Bytes(Fx.Csv(header, lines));
        const string file = "events_20250301.csv";

        var fromText = new IngestorCore().ReadFile(file, content).ToList();
        var fromBytes = new IngestorCore { RowTextFromContent = true }.ReadFile(file, content).ToList();

        Assert.Equal(lines.Length, fromBytes.Count);
        Assert.True(fromBytes[0].TryGetTimestampUtf8(out _));
        Assert.Equal(pageColumn, fromBytes[0].TryGetPageUrlUtf8(out _));
        for (var i = 0; i < lines.Length; i++)
        {
            var (text, bytes) = (RowChecks.Check(fromText[i]), RowChecks.Check(fromBytes[i]));
            Assert.Equal((text.Reason, text.Detail, text.Id, text.Event?.Timestamp), (bytes.Reason, bytes.Detail, bytes.Id, bytes.Event?.Timestamp));
            Assert.Equal(text.Event, bytes.Event);
            Assert.Equal(text.Event?.PageUrl, bytes.Event?.PageUrl);
            Assert.Equal(text.Event?.LandingChannel, bytes.Event?.LandingChannel);
            Assert.Equal(fromText[i], fromBytes[i]);
            Assert.Equal(fromText[i].PageUrl, fromBytes[i].PageUrl);
            Assert.Equal(fromText[i].StreamTime, fromBytes[i].StreamTime);
        }

        var valid = fromBytes.Select(r => RowChecks.Check(r).Event).OfType<ValidEvent>().ToList();
        Assert.Equal(5, valid.Count);
        Assert.All(valid, e => Assert.Equal(pageColumn, e.PageUrl is not null));
        if (pageColumn)
        {
            Assert.Equal(
                [Channels.Direct, Channels.Email, Channels.PaidSearch, Channels.PaidOther, Channels.PaidSearch],
                valid.Select(e => e.LandingChannel));
        }
    }

    private static List<string> CsvFields(string line)
    {
        var fields = new List<string>();
        Assert.Null(CsvRecordReader.Split(line, fields));
        return fields;
    }

    [Fact]
    public void RawEvent_MadeFromTheRowsBytes_EqualsTheOneMadeFromItsText()
    {
        var row = Fx.View("client-a", Fx.Day.AddHours(9)).ToCsv();
        var bytes = Fx.Bytes("xx" + row + "yy").AsMemory(2, row.Length);
        var time = Fx.Day.AddHours(9);

        var fromText = new RawEvent("f.csv", 2, null, row, null, "client-a", Fx.Shop, "", Fx.Iso(time), EventNames.PageViewed, "", Fx.DesktopUa, time);
        var fromBytes = RawEvent.FromUtf8("f.csv", 2, null, bytes, "client-a", Fx.Bytes(Fx.Shop), "", Fx.Bytes(Fx.Iso(time)), EventNames.PageViewed, "", Fx.DesktopUa, time);

        Assert.Equal(fromText.GetHashCode(), fromBytes.GetHashCode());
        Assert.Equal(fromText, fromBytes);
        Assert.Equal(row, fromBytes.OriginalRow);
        Assert.Equal(Fx.Iso(time), fromBytes.Timestamp);
        Assert.True(fromBytes.TryGetTimestampUtf8(out var timeUtf8));
        Assert.Equal(Fx.Iso(time), Encoding.UTF8.GetString(timeUtf8));
        Assert.False(fromText.TryGetTimestampUtf8(out _));
        Assert.Equal(Fx.Shop, fromBytes.PageUrl);
        Assert.True(fromBytes.TryGetPageUrlUtf8(out var pageUtf8));
        Assert.Equal(Fx.Shop, Encoding.UTF8.GetString(pageUtf8));
        Assert.False(fromText.TryGetPageUrlUtf8(out _));
        Assert.NotEqual(fromText, fromBytes with { PageUrl = Fx.Shop + "/" });
        Assert.NotEqual(fromText, fromBytes with { OriginalRow = row + "," });
        Assert.NotEqual(fromText, fromBytes with { Timestamp = Fx.Iso(time.AddMilliseconds(1)) });
        Assert.NotEqual(fromText, fromBytes with { Line = 3 });
        // The validator stores buffered rows as JSON: a row made from its bytes goes there with its text.
        Assert.Equal(fromText, JsonSerializer.Deserialize<RawEvent>(JsonSerializer.Serialize(fromBytes)));
    }

    [Fact]
    public void DeadLetter_MadeFromTheRowsBytes_EqualsTheOneMadeFromItsText()
    {
        const string row = "naïve,«ü»,日本,😀";
        var fromText = new DeadLetter(DeadLetterReasons.MissingClientId, Severity.Warning, "client_id is empty", "f.csv", 2, null, row, null, null, null);
        var fromBytes = DeadLetter.FromUtf8Row(DeadLetterReasons.MissingClientId, Severity.Warning, "client_id is empty", "f.csv", 2, null, Fx.Bytes(row));

        Assert.Equal(fromText.GetHashCode(), fromBytes.GetHashCode());
        Assert.Equal(fromText, fromBytes);
        Assert.Equal(row, fromBytes.OriginalRow);
        Assert.True(fromBytes.TryGetOriginalRowUtf8(out var utf8));
        Assert.Equal(Fx.Bytes(row), utf8.ToArray());
        Assert.False(fromText.TryGetOriginalRowUtf8(out _));
        Assert.NotEqual(fromText, fromBytes with { OriginalRow = row + "," });
        Assert.NotEqual(fromText, fromBytes with { Line = 3 });
        Assert.Equal(fromText, JsonSerializer.Deserialize<DeadLetter>(JsonSerializer.Serialize(fromBytes)));
        Assert.Equal(fromText, WireMapping.FromRecord(WireMapping.ToRecord(fromBytes)));
    }

    [Fact]
    public void Run_RowsDecidedAfterLaterFilesWereRead_DeadLetterTheirOwnText()
    {
        // Day 1's file ends with purchases at 23:50. Day 2's file starts with earlier purchases of the same transaction
        // ids, then 2,000 views before 00:05, so day 1's purchases are dead-lettered (duplicate_transaction_id) only when
        // day 2's later rows move the watermark past them; by then the reading thread, a few batches ahead, has read
        // day 3 too. A buffer that served day 3 before day 1's rows were decided would give them day 3's bytes.
        var day1 = Fx.Day;
        var midnight = day1.AddDays(1);
        var lines = new Dictionary<(string File, long Line), string>();
        void Write(DateTime day, IEnumerable<Row> rows)
        {
            var text = Fx.Csv(rows);
            File.WriteAllText(Path.Combine(_dir, Fx.FileFor(day)), text);
            var all = text.Split('\n');
            for (var i = 1; i < all.Length - 1; i++)
                lines[(Fx.FileFor(day), i + 1)] = all[i];
        }

        Write(day1, Enumerable.Range(0, 3_000).Select(i => Fx.View($"day1-{i}", day1.AddSeconds(14 * i)))
            .Concat(Enumerable.Range(0, 5).Select(i => Fx.Buy($"late-{i}", midnight.AddMinutes(-10 + i), $"tx-{i}", 10 + i))));
        Write(midnight, Enumerable.Range(0, 5).Select(i => Fx.Buy($"first-{i}", midnight.AddMinutes(-20 + i), $"tx-{i}", 20 + i))
            .Concat(Enumerable.Range(0, 2_000).Select(i => Fx.View($"day2-{i}", midnight.AddMinutes(-5).AddMilliseconds(250 * i))))
            .Concat(Enumerable.Range(0, 100).Select(i => Fx.View($"day2-late-{i}", midnight.AddMinutes(10 + 10 * i)))));
        Write(midnight.AddDays(1), Enumerable.Range(0, 3_000).Select(i => Fx.View($"day3-{i}-{new string('x', 20)}", midnight.AddDays(1).AddSeconds(20 * i))));

        var sink = new PipelineHarness();
        new EmbeddedPipeline(new PipelineOptions(), sink).Run(Directory.GetFiles(_dir, "*.csv"), cancellationToken: TestContext.Current.CancellationToken);

        var duplicates = sink.DeadLetters.Where(d => d.Reason == DeadLetterReasons.DuplicateTransactionId).ToList();
        Assert.Equal(5, duplicates.Count);
        Assert.All(duplicates, d => Assert.Equal(Fx.FileFor(day1), d.SourceFile));
        Assert.Equal(duplicates, sink.DeadLetters);
        Assert.All(duplicates, d => Assert.Equal(lines[(d.SourceFile, d.Line)], d.OriginalRow));
    }
}
