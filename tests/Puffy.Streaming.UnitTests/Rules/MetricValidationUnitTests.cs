using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Redis;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Semantics §2 and §8: a metric on the bus is measured data only when the monitor can believe it. One it rejects
/// (<see cref="MonitorCore.Check"/>) changes no rule state and raises nothing; the service stores it as poison.
/// </summary>
public sealed class MetricValidationUnitTests
{
    private static readonly DateOnly Day = new(2025, 2, 23);
    private const string File = "events_20250223.csv";

    private static Metric M(string name, double value, string dimension = "", string source = File, DateOnly? day = null) =>
        new(day ?? Day, name, dimension, value, source);

    /// <summary>A file read and decided as the ingestor and the validator report it: 10 rows, 8 valid, 2 without client id.</summary>
    private static List<(Metric Metric, string Producer)> ReadFile(string file = File, double rows = 10) =>
    [
        (M(MetricNames.FileSchema, 7, "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent", file), MetricProducers.Ingestor),
        (M(MetricNames.FileRows, rows, source: file), MetricProducers.Ingestor),
        (M(MetricNames.FileValid, rows - 2, source: file), MetricProducers.Validator),
        (M(MetricNames.FileDeadLettered, 2, DeadLetterReasons.MissingClientId, file), MetricProducers.Validator),
        (M(MetricNames.FileOrders, 1, source: file), MetricProducers.Validator),
        (M(MetricNames.FileRevenue, 120.5, source: file), MetricProducers.Validator),
        (M(MetricNames.FileComplete, rows, source: file), MetricProducers.Validator),
    ];

    private static MonitorCore Fed(IEnumerable<(Metric Metric, string Producer)> metrics)
    {
        var monitor = new MonitorCore(new MonitorOptions());
        foreach (var (metric, producer) in metrics)
        {
            Assert.Null(monitor.Check(metric, producer));
            monitor.Accept(metric);
        }

        return monitor;
    }

    private static string State(MonitorCore monitor) => StateJson.Serialize(monitor.Save());

    [Fact]
    public void Check_ForgedRowCountAfterTheFileWasRead_IsRejectedAndChangesNothing()
    {
        var monitor = Fed(ReadFile());
        var before = State(monitor);
        var forged = M(MetricNames.FileRows, 1_000_000);

        var problem = monitor.Check(forged, MetricProducers.Ingestor);

        Assert.NotNull(problem);
        Assert.Contains("not reading", problem, StringComparison.Ordinal);
        Assert.Empty(monitor.Accept(forged));
        Assert.Equal(before, State(monitor));
    }

    [Fact]
    public void Check_NegativeRowCount_IsRejectedEvenWhileTheFileIsRead()
    {
        var monitor = Fed(ReadFile().Take(1));

        var problem = monitor.Check(M(MetricNames.FileRows, -5), MetricProducers.Ingestor);

        Assert.Equal($"file.rows = -5 for '{File}': must be a whole number from 0 to 9007199254740992", problem);
        Assert.Null(monitor.Check(M(MetricNames.FileRows, 10), MetricProducers.Ingestor));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1.5)]
    [InlineData(1e300)]
    public void Check_RowCountThatIsNoCount_IsRejected(double value)
    {
        var monitor = Fed(ReadFile().Take(1));

        Assert.NotNull(monitor.Check(M(MetricNames.FileRows, value), MetricProducers.Ingestor));
    }

    [Theory]
    [InlineData("validator")]
    [InlineData("")]
    [InlineData("attacker")]
    public void Check_IngestorMetricFromAnotherSender_IsRejected(string sender)
    {
        var monitor = Fed(ReadFile().Take(1));

        var problem = monitor.Check(M(MetricNames.FileRows, 10), sender);

        Assert.Equal($"file.rows is the ingestor's metric, not the '{sender}''s", problem);
    }

    [Fact]
    public void Check_UnknownNameDayOutOfRangeOrMissingFile_IsRejected()
    {
        var monitor = new MonitorCore(new MonitorOptions());

        Assert.Equal("unknown metric name 'file.bonus'", monitor.Check(M("file.bonus", 1), MetricProducers.Ingestor));
        Assert.NotNull(monitor.Check(M(MetricNames.FileSchema, 7, day: new DateOnly(1900, 1, 1)), MetricProducers.Ingestor));
        Assert.Equal("file.schema names no file", monitor.Check(M(MetricNames.FileSchema, 7, source: ""), MetricProducers.Ingestor));
        Assert.NotNull(monitor.Check(M(MetricNames.FileRevenue, -1), MetricProducers.Validator));
        Assert.NotNull(monitor.Check(M(MetricNames.Heartbeat, -1, source: ""), MetricProducers.Ingestor));
        Assert.NotNull(monitor.Check(M(MetricNames.FileDeadLettered, 1, "made_up_reason"), MetricProducers.Validator));
        Assert.Equal("day.sessions names no day", monitor.Check(new Metric(null, MetricNames.DaySessions, "", 5, ""), MetricProducers.Sessionizer));
    }

    [Fact]
    public void Check_ValidatorCountAboveTheRowsTheIngestorRead_IsRejected()
    {
        var monitor = Fed(ReadFile().Take(2));

        Assert.Null(monitor.Check(M(MetricNames.FileValid, 10), MetricProducers.Validator));
        Assert.Equal($"file.valid = 11 for '{File}', more than the 10 rows the ingestor read from it",
            monitor.Check(M(MetricNames.FileValid, 11), MetricProducers.Validator));
        Assert.NotNull(monitor.Check(M(MetricNames.FileDeadLettered, 1_000_000, DeadLetterReasons.BotUserAgent), MetricProducers.Validator));
    }

    [Fact]
    public void Check_ItemFieldCountedMoreOftenThanRows_IsAcceptedButARowFieldIsNot()
    {
        // Two purchases with three items each in a file of 2 rows: item fields are observed 6 times.
        var monitor = Fed(ReadFile(rows: 2).Take(2));

        Assert.Null(monitor.Check(M(MetricNames.FieldObserved, 6, "item_id"), MetricProducers.Validator));
        Assert.Null(monitor.Check(M(MetricNames.FieldNull, 6, "quantity"), MetricProducers.Validator));
        Assert.NotNull(monitor.Check(M(MetricNames.FieldObserved, 6, "page_url"), MetricProducers.Validator));
    }

    [Fact]
    public void Check_CompletionThatDisagreesWithTheValidatorsOwnCounts_IsRejected()
    {
        var monitor = Fed(ReadFile().Take(6));

        Assert.Equal($"file.complete = 9 for '{File}', but the validator reported 10 rows valid or dead-lettered",
            monitor.Check(M(MetricNames.FileComplete, 9), MetricProducers.Validator));
        Assert.Null(monitor.Check(M(MetricNames.FileComplete, 10), MetricProducers.Validator));
    }

    [Fact]
    public void Check_RowCountDifferentFromTheRowsTheValidatorDecided_IsRejected()
    {
        // The validator's metrics may arrive before the ingestor's (two producers, two partitions).
        var reordered = ReadFile();
        reordered.RemoveAt(1);
        var monitor = Fed(reordered);

        Assert.Equal($"file.rows = 12 for '{File}', but the validator decided 10 rows of it",
            monitor.Check(M(MetricNames.FileRows, 12), MetricProducers.Ingestor));
        Assert.Null(monitor.Check(M(MetricNames.FileRows, 10), MetricProducers.Ingestor));
    }

    [Fact]
    public void Restore_MidRead_StillTakesTheRowCountOnceAndThenRejectsIt()
    {
        var first = Fed(ReadFile().Take(1));
        var restarted = new MonitorCore(new MonitorOptions());
        restarted.Restore(StateJson.Deserialize<MonitorState>(State(first))!);

        Assert.Null(restarted.Check(M(MetricNames.FileRows, 10), MetricProducers.Ingestor));
        restarted.Accept(M(MetricNames.FileRows, 10));
        Assert.NotNull(restarted.Check(M(MetricNames.FileRows, 10), MetricProducers.Ingestor));
    }

    [Fact]
    public void Accept_FileChanged_RaisesOneWarningNamingBothVersions()
    {
        var monitor = Fed(ReadFile());
        const string changed = File + "@3fa9c1d2e4b5";

        var alerts = monitor.Accept(M(MetricNames.FileChanged, 10, File, changed)).ToList();
        alerts.AddRange(monitor.Accept(M(MetricNames.FileChanged, 10, File, changed)));

        var alert = Assert.Single(alerts);
        Assert.Equal(AlertRules.FileChanged, alert.Rule);
        Assert.Equal(Severity.Warning, alert.Severity);
        Assert.Equal(Day, alert.Day);
        Assert.StartsWith($"{changed}: new content under the name of a file already read ({File}, 10 rows)", alert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptPoison_RaisesOncePerDayOfArrival()
    {
        var monitor = new MonitorCore(new MonitorOptions());
        var now = new DateTime(2026, 11, 29, 21, 0, 0, DateTimeKind.Utc);

        var alerts = monitor.AcceptPoison(now, "first").Concat(monitor.AcceptPoison(now.AddHours(1), "second"))
            .Concat(monitor.AcceptPoison(now.AddDays(1), "third")).ToList();

        Assert.Equal([new DateOnly(2026, 11, 29), new DateOnly(2026, 11, 30)], alerts.Select(a => a.Day));
        Assert.All(alerts, a => Assert.Equal((AlertRules.PoisonMessages, Severity.Error), (a.Rule, a.Severity)));
        Assert.EndsWith("first", alerts[0].Message, StringComparison.Ordinal);
    }
}
