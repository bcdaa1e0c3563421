using System.Text;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §1: RFC 4180 records, columns by name, UNKNOWN vs empty, broken rows.</summary>
public sealed class CsvIngestUnitTests
{
    private static List<CsvRecord> ReadAll(byte[] bytes)
    {
        var reader = new CsvRecordReader(bytes);
        var records = new List<CsvRecord>();
        while (reader.TryRead(out var r))
            records.Add(r with { Fields = r.Fields?.ToList() }); // the reader reuses its field list

        return records;
    }

    private static List<CsvRecord> ReadAll(string text) => ReadAll(Fx.Bytes(text));

    [Fact]
    public void TryRead_DoubledQuotesInQuotedField_UnescapesToOneQuote()
    {
        var r = Assert.Single(ReadAll("a,\"say \"\"hi\"\"\",c\n"));

        Assert.Null(r.Error);
        Assert.Equal(["a", "say \"hi\"", "c"], r.Fields!);
    }

    [Fact]
    public void TryRead_CommaAndNewlineInsideQuotes_StayInOneField()
    {
        var records = ReadAll("a,\"x,y\nz\",c\nd,e,f\n");

        Assert.Equal(2, records.Count);
        Assert.Equal(["a", "x,y\nz", "c"], records[0].Fields!);
        Assert.Equal(["d", "e", "f"], records[1].Fields!);
        Assert.Equal(1, records[0].Line);
        Assert.Equal(3, records[1].Line);
    }

    [Fact]
    public void TryRead_EmptyQuotedAndTrailingEmptyFields_AreEmptyStrings()
    {
        var r = Assert.Single(ReadAll("\"\",b,\n"));

        Assert.Equal(["", "b", ""], r.Fields!);
    }

    [Fact]
    public void TryRead_CrLfLineEndings_DoNotLeakIntoFields()
    {
        var records = ReadAll("a,b\r\nc,d\r\n");

        Assert.Equal(["a", "b"], records[0].Fields!);
        Assert.Equal(["c", "d"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_StrayQuoteInUnquotedField_IsErrorAndNextRecordSurvives()
    {
        var records = ReadAll("a,b\"c,d\ne,f,g\n");

        Assert.Equal(2, records.Count);
        Assert.NotNull(records[0].Error);
        Assert.Null(records[0].Fields);
        Assert.Equal(["e", "f", "g"], records[1].Fields!);
        Assert.Equal(2, records[1].Line);
    }

    [Fact]
    public void TryRead_TextAfterClosingQuote_IsError()
    {
        var records = ReadAll("a,\"b\"x,c\nd,e,f\n");

        Assert.NotNull(records[0].Error);
        Assert.Equal(["d", "e", "f"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_UnterminatedQuote_ResyncsOnNextLine()
    {
        var records = ReadAll("a,\"bc,d\ne,f,g\nh,i,j\n");

        Assert.Equal(3, records.Count);
        Assert.NotNull(records[0].Error);
        Assert.Equal(["e", "f", "g"], records[1].Fields!);
        Assert.Equal(["h", "i", "j"], records[2].Fields!);
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Line));
    }

    [Fact]
    public void TryRead_UnterminatedQuoteBeforeQuotedRows_FollowingQuotedRowsSurvive()
    {
        var records = ReadAll("a,\"bc,d\ne,\"{\"\"k\"\":1}\",g\nh,\"i,i\",j\n");

        Assert.Equal(3, records.Count);
        Assert.NotNull(records[0].Error);
        Assert.Equal(["e", "{\"k\":1}", "g"], records[1].Fields!);
        Assert.Equal(["h", "i,i", "j"], records[2].Fields!);
    }

    [Fact]
    public void TryRead_InvalidUtf8_IsErrorAndNextRecordSurvives()
    {
        byte[] bytes = [.. "a,b"u8, 0xFF, 0xFE, .. ",c\nd,e,f\n"u8];

        var records = ReadAll(bytes);

        Assert.Equal(2, records.Count);
        Assert.NotNull(records[0].Error);
        Assert.Equal(["d", "e", "f"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_Utf8ByteOrderMark_IsNotPartOfFirstField()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "client_id,x\n"u8];

        var r = Assert.Single(ReadAll(bytes));

        Assert.Equal("client_id", r.Fields![0]);
    }

    [Fact]
    public void TryRead_LoneCarriageReturn_IsDataNotALineEnd()
    {
        var records = ReadAll("a,b\rc,d\ne,f,g\n");

        Assert.Equal(2, records.Count);
        Assert.Equal(["a", "b\rc", "d"], records[0].Fields!);
        Assert.Equal("a,b\rc,d", records[0].Text);
        Assert.Equal(["e", "f", "g"], records[1].Fields!);
        Assert.Equal([1L, 2L], records.Select(r => r.Line));
    }

    [Fact]
    public void TryRead_ValidRows_TextIsTheRowsBytesWithoutItsLineEnd()
    {
        const string first = "a,\"x\r\ny, \u00e9\u20ac\",c";
        const string second = "d,\"\"\"q\"\"\",f";
        var bytes = Fx.Bytes(first + "\r\n" + second + "\n");

        var records = ReadAll(bytes);

        Assert.Equal([first, second], records.Select(r => r.Text));
        Assert.Equal(bytes.AsSpan(0, Encoding.UTF8.GetByteCount(first)).ToArray(), Encoding.UTF8.GetBytes(records[0].Text));
        Assert.Equal([1L, 3L], records.Select(r => r.Line));
        Assert.Equal(["a", "x\r\ny, \u00e9\u20ac", "c"], records[0].Fields!);
        Assert.Equal(["d", "\"q\"", "f"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_UnterminatedQuote_BrokenRowTextIsItsOwnLineOnly()
    {
        var records = ReadAll("h1,h2,h3\na,\"bc,d\ne,f,g\n");

        Assert.Equal("a,\"bc,d", records[1].Text);
        Assert.Equal(2, records[1].Line);
        Assert.Equal(3, records[2].Line);
    }

    [Fact]
    public void TryRead_UnterminatedQuoteBeforeManyMegabytes_OnlyThatRowIsBroken()
    {
        // More text after the stray quote than a CSV reader with a bounded row buffer holds (Sep: 16 Mi chars).
        const string row = "x,y,0123456789012345678901234567890123456789012345678901234567890123456789\n";
        var rows = (17 * 1024 * 1024 / row.Length) + 1;
        var text = new StringBuilder("a,\"bc\n", (rows * row.Length) + 16);
        for (var i = 0; i < rows; i++)
            text.Append(row);

        var reader = new CsvRecordReader(Fx.Bytes(text.ToString()));
        Assert.True(reader.TryRead(out var broken));
        var good = 0;
        while (reader.TryRead(out var r))
        {
            if (r.Error is null && r.Fields!.Count == 3)
                good++;
        }

        Assert.NotNull(broken.Error);
        Assert.Equal(rows, good);
    }

    [Fact]
    public void TryRead_QuoteAfterSpaceInUnquotedField_IsError()
    {
        var records = ReadAll("a, \"b,c\",d\ne,f,g\n");

        Assert.NotNull(records[0].Error);
        Assert.Equal(["e", "f", "g"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_EncodedReplacementCharacter_IsValidUtf8()
    {
        var r = Assert.Single(ReadAll("a,\uFFFD,c\n"));

        Assert.Null(r.Error);
        Assert.Equal(["a", "\uFFFD", "c"], r.Fields!);
    }

    [Fact]
    public void TryRead_OverlongUtf8Encoding_IsError()
    {
        byte[] bytes = [.. "a,"u8, 0xC0, 0xAF, .. ",c\nd,e,f\n"u8];

        var records = ReadAll(bytes);

        Assert.NotNull(records[0].Error);
        Assert.Equal(["d", "e", "f"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_Utf16ByteOrderMark_IsNotHonouredSoFirstRecordIsNotUtf8()
    {
        byte[] bytes = [0xFF, 0xFE, .. "a,b\nc,d\n"u8];

        var records = ReadAll(bytes);

        Assert.NotNull(records[0].Error);
        Assert.Equal(["c", "d"], records[1].Fields!);
    }

    [Fact]
    public void TryRead_EmptyLines_AreRecordsWithOneEmptyFieldAndFinalLineFeedAddsNone()
    {
        var records = ReadAll("a,b\n\nc,d\n\n");

        Assert.Equal(4, records.Count);
        Assert.Equal([""], records[1].Fields!);
        Assert.Equal([""], records[3].Fields!);
        Assert.Equal([1L, 2L, 3L, 4L], records.Select(r => r.Line));
        Assert.Equal(["c", "d"], records[2].Fields!);
    }

    [Fact]
    public void TryRead_LastRowWithoutLineEnd_IsRead()
    {
        var records = ReadAll("a,b\nc,d\r");

        Assert.Equal(2, records.Count);
        Assert.Equal(["c", "d"], records[1].Fields!);
        Assert.Equal("c,d", records[1].Text);
    }

    [Fact]
    public void RunFile_EmptyLineAndLoneCarriageReturn_EachIsOneRowAndCounted()
    {
        var good1 = Fx.View("good-1", Fx.Day.AddHours(1)).ToCsv();
        var good2 = Fx.View("good-2", Fx.Day.AddHours(2)).ToCsv();
        var text = string.Join('\n', Fx.Header, good1, "", good1.Replace("good-1", "cr\rcr", StringComparison.Ordinal), good2) + "\n";

        var run = new PipelineHarness().File(Fx.FileName, text);
        var summary = run.Finish();

        Assert.Equal(4, summary.RowsRead);
        var empty = Assert.Single(run.DeadLetters, d => d.Reason == DeadLetterReasons.UnparseableRow);
        Assert.Equal(3, empty.Line);
        Assert.Equal(["cr\rcr", "good-1", "good-2"], run.Events.Select(e => e.Event.ClientId).Order(StringComparer.Ordinal));
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
    }

    [Fact]
    public void ReadFile_ColumnsInAnyOrder_AreMatchedByName()
    {
        var csv = Fx.Csv("user_agent,event_data,event_name,timestamp,referrer,page_url,client_id",
            Fx.Line("UA", "{}", "page_viewed", "2025-03-01T10:00:00.000Z", "https://ref.example/", "https://puffy.com/p", "c-1"));

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(csv)));

        Assert.Null(raw.ParseError);
        Assert.Equal("c-1", raw.ClientId);
        Assert.Equal("https://puffy.com/p", raw.PageUrl);
        Assert.Equal("https://ref.example/", raw.Referrer);
        Assert.Equal("2025-03-01T10:00:00.000Z", raw.Timestamp);
        Assert.Equal("page_viewed", raw.EventName);
        Assert.Equal("{}", raw.EventData);
        Assert.Equal("UA", raw.UserAgent);
    }

    [Fact]
    public void ReadFile_ClientIdAlias_MapsToClientId()
    {
        var csv = Fx.Csv("clientId,page_url,referrer,timestamp,event_name,event_data,user_agent",
            Fx.Line("c-alias", "https://puffy.com/", "", "2025-03-01T10:00:00.000Z", "page_viewed", "", "UA"));

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(csv)));

        Assert.Null(raw.ParseError);
        Assert.Equal("c-alias", raw.ClientId);
    }

    [Fact]
    public void ReadFile_HeaderNamesWithSurroundingSpaces_MatchAfterTrim()
    {
        var csv = Fx.Csv(" client_id , page_url,referrer ,timestamp,event_name,event_data,user_agent",
            Fx.Line("c-1", "https://puffy.com/", "", "2025-03-01T10:00:00.000Z", "page_viewed", "", "UA"));

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(csv)));

        Assert.Null(raw.ParseError);
        Assert.Equal("c-1", raw.ClientId);
        Assert.Equal(string.Empty, raw.Referrer);
    }

    [Fact]
    public void ReadFile_NoReferrerColumn_ReferrerIsUnknownNull()
    {
        var csv = Fx.Csv([Fx.View("c-1", Fx.Day.AddHours(1))], referrerColumn: false);

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(csv)));

        Assert.Null(raw.ParseError);
        Assert.Null(raw.Referrer);
    }

    [Fact]
    public void ReadFile_EmptyReferrerValue_IsEmptyStringNotNull()
    {
        var csv = Fx.Csv([Fx.View("c-1", Fx.Day.AddHours(1), referrer: "")]);

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(csv)));

        Assert.NotNull(raw.Referrer);
        Assert.Equal(string.Empty, raw.Referrer);
    }

    [Fact]
    public void ReadFile_QuotedJsonAndUserAgentWithCommas_RoundTrip()
    {
        var data = Fx.PurchaseData("T-1", 10.5m);
        var row = Fx.Buy("c-1", Fx.Day.AddHours(1), "T-1", 10.5m) with { UserAgent = "Mozilla/5.0 (KHTML, like Gecko)" };

        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(Fx.Csv([row]))));

        Assert.Null(raw.ParseError);
        Assert.Equal(data, raw.EventData);
        Assert.Equal("Mozilla/5.0 (KHTML, like Gecko)", raw.UserAgent);
    }

    [Theory]
    [InlineData("c-1,https://puffy.com/,,2025-03-01T10:00:00.000Z,page_viewed,")]
    [InlineData("c-1,https://puffy.com/,,2025-03-01T10:00:00.000Z,page_viewed,,UA,extra")]
    public void ReadFile_WrongFieldCount_RowHasParseError(string line)
    {
        var raw = Assert.Single(new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(Fx.Csv(Fx.Header, line))));

        Assert.NotNull(raw.ParseError);
    }

    [Fact]
    public void ReadFile_FileDayFromName_IsCarriedOnEveryRow()
    {
        var raw = Assert.Single(new IngestorCore().ReadFile("events_20250305.csv", Fx.Bytes(Fx.Csv([new Row()]))));

        Assert.Equal(new DateOnly(2025, 3, 5), raw.FileDay);
    }

    [Theory]
    [InlineData("events_20250223.csv", 2025, 2, 23)]
    [InlineData("20250301.csv", 2025, 3, 1)]
    [InlineData("export-20241231-final.csv", 2024, 12, 31)]
    public void DayFromFileName_NameWithYyyyMmDd_ReturnsDay(string name, int year, int month, int day) =>
        Assert.Equal(new DateOnly(year, month, day), EventTime.DayFromFileName(name));

    [Theory]
    [InlineData("events.csv")]
    [InlineData("events_2025.csv")]
    public void DayFromFileName_NameWithoutDay_ReturnsNull(string name) =>
        Assert.Null(EventTime.DayFromFileName(name));

    [Fact]
    public void RunFile_BrokenRowsAmongGoodOnes_EachBrokenRowIsUnparseableAndOthersSurvive()
    {
        var good1 = Fx.View("good-1", Fx.Day.AddHours(1)).ToCsv();
        var good2 = Fx.View("good-2", Fx.Day.AddHours(2)).ToCsv();
        var good3 = Fx.Buy("good-3", Fx.Day.AddHours(3), "T-9", 99m).ToCsv();
        var good4 = Fx.View("good-4", Fx.Day.AddHours(4)).ToCsv();
        var text = string.Join('\n',
            Fx.Header,
            good1,
            "bad-stray,https://puffy.com/a\"b,,2025-03-01T01:30:00.000Z,page_viewed,,UA",
            good2,
            "bad-count,https://puffy.com/,,2025-03-01T02:30:00.000Z,page_viewed",
            "bad-open,\"https://puffy.com/,,2025-03-01T02:40:00.000Z,page_viewed,,UA",
            good3,
            "BADUTF8",
            good4) + "\n";
        var bytes = Fx.Bytes(text);
        var marker = Encoding.ASCII.GetBytes("BADUTF8");
        var at = bytes.AsSpan().IndexOf(marker);
        bytes[at + 3] = 0xC3; // a lead byte followed by an ASCII byte is not UTF-8
        bytes[at + 4] = 0x28;

        var run = new PipelineHarness().File(Fx.FileName, bytes);
        var summary = run.Finish();

        Assert.Equal(8, summary.RowsRead);
        Assert.Equal(4, run.DeadLetters.Count(d => d.Reason == DeadLetterReasons.UnparseableRow));
        Assert.Equal(4, run.DeadLetters.Count);
        Assert.Equal(["good-1", "good-2", "good-3", "good-4"], run.Events.Select(e => e.Event.ClientId).Order(StringComparer.Ordinal));
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
        Assert.All(summary.Files.Values, f => Assert.True(f.Balances));
    }

    [Theory]
    [InlineData("client_id")]
    [InlineData("timestamp")]
    [InlineData("event_name")]
    public void RunFile_HeaderLacksRequiredColumn_EveryRowUnparseableAndBalanced(string missing)
    {
        var columns = Fx.Header.Split(',');
        var keep = columns.Select((c, i) => (c, i)).Where(x => x.c != missing).Select(x => x.i).ToList();
        var rows = new[] { Fx.View("c-1", Fx.Day.AddHours(1)), Fx.View("c-2", Fx.Day.AddHours(2)), Fx.View("c-3", Fx.Day.AddHours(3)) }
            .Select(r => r with { UserAgent = "UA" });
        var lines = rows.Select(r => string.Join(',', keep.Select(i => r.ToCsv().Split(',')[i]))).ToArray();
        var text = Fx.Csv(string.Join(',', keep.Select(i => columns[i])), lines);

        var run = new PipelineHarness().File(Fx.FileName, text);
        var summary = run.Finish();

        Assert.Equal(3, summary.RowsRead);
        Assert.Equal(0, summary.Valid);
        Assert.Equal(3, run.DeadLetters.Count);
        Assert.All(run.DeadLetters, d => Assert.Equal(DeadLetterReasons.UnparseableRow, d.Reason));
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
    }

    [Fact]
    public void RunFile_HeaderNameInOtherCase_IsNotMatchedSoRowsAreUnparseable()
    {
        var text = Fx.Csv("Client_Id,page_url,referrer,timestamp,event_name,event_data,user_agent", Fx.View("c-1", Fx.Day.AddHours(1)).ToCsv());

        var run = new PipelineHarness().File(Fx.FileName, text);
        var summary = run.Finish();

        var dead = Assert.Single(run.DeadLetters);
        Assert.Equal(DeadLetterReasons.UnparseableRow, dead.Reason);
        Assert.Equal(0, summary.Valid);
    }
}
