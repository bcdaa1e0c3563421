using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.UnitTests.Rules;

namespace Puffy.Streaming.UnitTests.Fuzz;

/// <summary>The inputs the fuzz tests found breaking the pipeline, pinned one by one.</summary>
public sealed class FuzzFindingsUnitTests
{
    [Theory]
    [InlineData("events_00010101.csv", "0001-01-01T10:00:00.000Z")]
    [InlineData("events_99991231.csv", "9999-12-31T10:00:00.000Z")]
    public void Feed_FileNamedForADayAtTheEdgeOfDateTime_AccountsEveryRowWithoutAFileDay(string file, string timestamp)
    {
        // The day window (24 h either side of the file's day) overflowed DateTime and the ingestor threw.
        var h = new ValidatorHarness()
            .Feed(file, [new Row { ClientId = "a", Timestamp = timestamp }, Fx.View("b", Fx.Day.AddHours(10))])
            .Flush();

        Assert.Null(EventTime.DayFromFileName(file));
        Assert.Equal([DeadLetterReasons.InvalidTimestamp], h.ReasonsFor("a"));
        Assert.Single(h.Valid, e => e.ClientId == "b");
    }

    [Theory]
    [InlineData("0001-01-01T00:10:00.000Z")]
    [InlineData("1969-12-31T23:59:59.999Z")]
    [InlineData("2106-01-01T00:00:00.000Z")]
    [InlineData("9999-12-31T23:59:59.9999999Z")]
    public void Feed_TimestampOutsideTheSpanEventsMayHave_IsInvalidTimestamp(string timestamp)
    {
        // In a file without a day nothing else bounds the time: year 1 made the lateness check underflow, and an event at
        // DateTime.MaxValue stayed in the reorder buffer for ever (its row was never accounted for).
        var h = new ValidatorHarness()
            .Feed("export.csv", [new Row { ClientId = "a", Timestamp = timestamp }])
            .Flush();

        Assert.Equal([DeadLetterReasons.InvalidTimestamp], h.ReasonsFor("a"));
        Assert.Empty(h.Valid);
    }

    [Theory]
    [InlineData("1970-01-01T00:00:00.000Z")]
    [InlineData("2105-12-31T23:59:59.999Z")]
    public void Feed_TimestampAtTheEdgesOfTheSpan_IsValid(string timestamp)
    {
        var h = new ValidatorHarness().Feed("export.csv", [new Row { ClientId = "a", Timestamp = timestamp }]).Flush();

        Assert.Single(h.Valid);
        Assert.Empty(h.DeadLetters);
    }

    [Fact]
    public void Run_HeaderNamingAColumnTwiceAfterAReadableFile_ReportsItUnreadableInsteadOfCrashing()
    {
        // The monitor compared the two headers through a dictionary keyed by column name and threw on the repeat.
        var run = new PipelineHarness()
            .File(Fx.FileFor(Fx.Day), [Fx.View("a", Fx.Day.AddHours(10))])
            .File(Fx.FileFor(Fx.Day.AddDays(1)), Fx.Csv(Fx.Header + ",client_id", Fx.View("b", Fx.Day.AddDays(1).AddHours(10)).ToCsv() + ",b"));
        var summary = run.Finish();

        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
        Assert.Single(run.AlertsOf(AlertRules.FileUnreadable));
        Assert.Equal(DeadLetterReasons.UnparseableRow, Assert.Single(run.DeadLetters).Reason);
    }
}
