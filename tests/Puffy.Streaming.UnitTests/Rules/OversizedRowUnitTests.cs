using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Semantics §2 <c>oversized_row</c>: a row whose text is longer than the limit (256 KiB by default) is dead-lettered
/// first, before any other check, and travels only as an excerpt; the rows around it flow as usual.
/// </summary>
public sealed class OversizedRowUnitTests
{
    private static readonly string Huge = new('x', 1_000_000);

    private static string FileWithHugeRow(string hugeField) => Fx.Csv(Fx.Header,
        Fx.View("client-a", Fx.Day.AddHours(10)).ToCsv(),
        Fx.Line("client-b", Fx.Shop, "", Fx.Iso(Fx.Day.AddHours(10).AddMinutes(1)), EventNames.PageViewed, hugeField, Fx.DesktopUa),
        Fx.View("client-c", Fx.Day.AddHours(10).AddMinutes(2)).ToCsv());

    [Fact]
    public void ReadFile_RowOverTheLimit_TravelsAsAnExcerptWithItsSize()
    {
        var rows = new IngestorCore().ReadFile(Fx.FileName, Fx.Bytes(FileWithHugeRow(Huge))).ToList();

        Assert.Equal(3, rows.Count);
        var big = rows[1];
        Assert.Equal(3, big.Line);
        Assert.True(big.OversizedBytes > IngestorCore.DefaultMaxRowBytes);
        Assert.Equal(IngestorCore.OversizedExcerptChars, big.OriginalRow.Length);
        Assert.Null(big.ClientId);
        Assert.Null(big.EventData);
        Assert.All([rows[0], rows[2]], r => Assert.Null(r.OversizedBytes));
    }

    [Fact]
    public void Pipeline_OneMegabyteField_DeadLettersThatRowAndTheRestFlows()
    {
        var harness = new PipelineHarness().File(Fx.FileName, FileWithHugeRow(Huge));
        var summary = harness.Finish();

        var dead = Assert.Single(harness.DeadLetters);
        Assert.Equal(DeadLetterReasons.OversizedRow, dead.Reason);
        Assert.Equal(Severity.Error, dead.Severity);
        Assert.Equal(3, dead.Line);
        Assert.Contains("1,000,", dead.Detail, StringComparison.Ordinal);
        Assert.True(dead.OriginalRow.Length <= IngestorCore.OversizedExcerptChars);
        Assert.Equal(["client-a", "client-c"], harness.Events.Select(e => e.Event.ClientId).Order(StringComparer.Ordinal));
        Assert.Equal(3, summary.RowsRead);
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
    }

    [Fact]
    public void Pipeline_RowThatIsBothOversizedAndBroken_IsOversizedFirst()
    {
        // An unterminated quote and a wrong field count: oversized_row is checked before unparseable_row.
        var text = Fx.Csv(Fx.Header, "client-a,\"" + Huge + ",x");
        var harness = new PipelineHarness().File(Fx.FileName, text);
        harness.Finish();

        Assert.Equal(DeadLetterReasons.OversizedRow, Assert.Single(harness.DeadLetters).Reason);
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(1001, false)]
    public void Pipeline_ConfiguredLimit_IsTheBoundary(int limit, bool oversized)
    {
        // A row of 1,001 UTF-8 bytes, two of its characters two bytes each: over a limit of 1,000, not over 1,001.
        var row = Fx.View("client-é", Fx.Day.AddHours(10)).ToCsv();
        row += new string('y', 1000 - System.Text.Encoding.UTF8.GetByteCount(row) - 1) + "é";
        var text = Fx.Csv(Fx.Header, row);
        Assert.Equal(1001, System.Text.Encoding.UTF8.GetByteCount(row));

        var harness = new PipelineHarness(new PipelineOptions { MaxRowBytes = limit }).File(Fx.FileName, text);
        harness.Finish();

        Assert.Equal(oversized, harness.DeadLetters.Any(d => d.Reason == DeadLetterReasons.OversizedRow));
    }
}
