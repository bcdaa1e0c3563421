using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Monitoring;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Semantics §8, per file: an empty or header-only file, a file with no valid row, a file whose rows all lie outside
/// its day, the dead-lettered share of a file, and the row-count anomaly when a day collapses. The Run_ tests feed
/// crafted files through the embedded pipeline; the Accept_ tests feed the monitor core the validator's metrics.
/// </summary>
public sealed class FileQualityRulesUnitTests
{
    private static readonly string[] FileRules = [AlertRules.EmptyFile, AlertRules.NoValidRows, AlertRules.RowsOutsideDay, AlertRules.DeadLetterShare];

    private static DateOnly D(int i) => new DateOnly(2025, 3, 1).AddDays(i);

    private static string FileOf(DateOnly d) => "events_" + d.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".csv";

    private static DateOnly FileDay => DateOnly.FromDateTime(Fx.Day);

    private static List<Row> Views(int count, DateTime from, string client = "c") =>
        Enumerable.Range(0, count).Select(i => Fx.View($"{client}-{i}", from.AddMinutes(i))).ToList();

    private static List<Alert> Feed(MonitorCore monitor, IEnumerable<Metric> metrics) => metrics.SelectMany(monitor.Accept).ToList();

    /// <summary>A file's validator metrics: valid rows, dead letters by reason and, when given, the time tally.</summary>
    private static List<Metric> FileMetrics(DateOnly? day, string file, double valid, (string Reason, double Count)[]? dead = null,
        (double Timestamps, double InDay)? times = null)
    {
        var list = new List<Metric> { new(day, MetricNames.FileValid, "", valid, file) };
        foreach (var (reason, count) in dead ?? [])
            list.Add(new(day, MetricNames.FileDeadLettered, reason, count, file));
        if (times is { } t)
        {
            var start = (day ?? FileDay).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            list.Add(new(day, MetricNames.FileTimestamps, "", t.Timestamps, file));
            list.Add(new(day, MetricNames.FileTimestampsInDay, "", t.InDay, file));
            list.Add(new(day, MetricNames.FileFirstTimestamp, "", (start.AddHours(-20) - DateTime.UnixEpoch).TotalSeconds, file));
            list.Add(new(day, MetricNames.FileLastTimestamp, "", (start.AddHours(-1) - DateTime.UnixEpoch).TotalSeconds, file));
        }

        list.Add(new(day, MetricNames.FileComplete, "", valid + (dead ?? []).Sum(d => d.Count), file));
        return list;
    }

    // ----- empty or header-only file -----

    [Fact]
    public void Run_HeaderOnlyFile_RaisesCriticalEmptyFileForItsDayAndStillReportsItsMetrics()
    {
        var run = new PipelineHarness().File(Fx.FileName, Fx.Header + "\n");
        var summary = run.Finish();

        var alert = Assert.Single(run.Alerts);
        Assert.Equal(AlertRules.EmptyFile, alert.Rule);
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(FileDay, alert.Day);
        Assert.Equal("events_20250301.csv: no data rows (the file is empty or holds only a header), so 2025-03-01 gets no events from it", alert.Message);
        Assert.Contains(run.Metrics, m => m.Name == MetricNames.FileSchema && m.Source == Fx.FileName && m.Dimension == Fx.Header);
        Assert.Contains(run.Metrics, m => m.Name == MetricNames.FileRows && m.Source == Fx.FileName && m.Value == 0);
        Assert.Contains(run.Metrics, m => m.Name == MetricNames.FileComplete && m.Source == Fx.FileName && m.Value == 0);
        Assert.Equal(0, summary.RowsPerFile[Fx.FileName]);
    }

    [Fact]
    public void Run_ZeroByteFile_RaisesEmptyFileBesideFileUnreadable()
    {
        var run = new PipelineHarness().File(Fx.FileName, Array.Empty<byte>());
        run.Finish();

        Assert.Equal(Severity.Critical, Assert.Single(run.AlertsOf(AlertRules.EmptyFile)).Severity);
        Assert.Single(run.AlertsOf(AlertRules.FileUnreadable));
        Assert.Contains(run.Metrics, m => m.Name == MetricNames.FileRows && m.Source == Fx.FileName && m.Value == 0);
        Assert.Contains(run.Metrics, m => m.Name == MetricNames.FileComplete && m.Source == Fx.FileName && m.Value == 0);
    }

    [Fact]
    public void Run_ZeroByteAndHeaderOnlyFilesOnDisk_RaiseEmptyFileThroughTheThreadedRun()
    {
        var dir = Directory.CreateTempSubdirectory("puffy-empty-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, FileOf(D(0))), []);
            File.WriteAllText(Path.Combine(dir, FileOf(D(1))), Fx.Header + "\r\n");
            var run = new PipelineHarness();
            run.Pipeline.Run(Directory.GetFiles(dir), cancellationToken: TestContext.Current.CancellationToken); // reads on a second thread and finishes the run itself

            Assert.Equal([D(0), D(1)], run.AlertsOf(AlertRules.EmptyFile).Select(a => a.Day!.Value).Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Run_FileWithRows_RaisesNoEmptyFile()
    {
        var run = new PipelineHarness().File(Fx.FileName, Views(3, Fx.Day.AddHours(9)));
        run.Finish();

        Assert.Empty(run.Alerts);
    }

    // ----- no valid row -----

    [Fact]
    public void Run_FileWhoseRowsAreAllDeadLettered_RaisesCriticalNoValidRowsNamingTheReasons()
    {
        var rows = Views(8, Fx.Day.AddHours(9)).Select(r => r with { ClientId = "" })
            .Concat(Views(2, Fx.Day.AddHours(10)).Select(r => r with { UserAgent = "Googlebot/2.1" }));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.NoValidRows));
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(FileDay, alert.Day);
        Assert.Equal("events_20250301.csv: none of its 10 rows is valid; all were dead-lettered (8 missing_client_id, 2 bot_user_agent)", alert.Message);
    }

    [Fact]
    public void Run_FileWithOneValidRow_RaisesNoNoValidRows()
    {
        var rows = Views(9, Fx.Day.AddHours(9)).Select(r => r with { ClientId = "" }).Append(Fx.View("ok", Fx.Day.AddHours(11)));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        Assert.Empty(run.AlertsOf(AlertRules.NoValidRows));
    }

    // ----- rows outside the file's day -----

    [Fact]
    public void Run_FileWhoseRowsAllLieOnThePreviousDay_RaisesRowsOutsideDayThoughTheRowsAreValid()
    {
        // Yesterday's export under today's name: within 24 h of the day, so every row is valid, but the day is missing.
        var run = new PipelineHarness().File(Fx.FileName, Views(5, Fx.Day.AddHours(-3)));
        var summary = run.Finish();

        Assert.Equal(5, summary.Valid);
        var alert = Assert.Single(run.AlertsOf(AlertRules.RowsOutsideDay));
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(FileDay, alert.Day);
        Assert.Equal("events_20250301.csv: all 5 rows with a readable timestamp lie outside 2025-03-01 (from 2025-02-28T21:00:00.000Z "
                     + "to 2025-02-28T21:04:00.000Z); the file does not hold that day's events", alert.Message);
    }

    [Fact]
    public void Run_FileWhoseRowsAllLieDaysAway_RaisesRowsOutsideDayAndNoValidRows()
    {
        // More than 24 h away: every row is dead-lettered as invalid_timestamp.
        var run = new PipelineHarness().File(Fx.FileName, Views(4, Fx.Day.AddDays(5)));
        run.Finish();

        Assert.Single(run.AlertsOf(AlertRules.RowsOutsideDay));
        Assert.Single(run.AlertsOf(AlertRules.NoValidRows));
        Assert.Equal(Severity.Critical, Assert.Single(run.AlertsOf(AlertRules.DeadLetterShare)).Severity);
    }

    [Fact]
    public void Run_RowsWithoutClientIdStillCountForTheirTime()
    {
        // The time tally covers rows dead-lettered for an earlier reason: a file of other days stays one.
        var rows = Views(3, Fx.Day.AddHours(-5)).Append(Fx.View("", Fx.Day.AddHours(-4)));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        Assert.Contains("all 4 rows with a readable timestamp", Assert.Single(run.AlertsOf(AlertRules.RowsOutsideDay)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OneRowOnTheFileDay_RaisesNoRowsOutsideDay()
    {
        var rows = Views(20, Fx.Day.AddHours(-2)).Append(Fx.View("on-day", Fx.Day.AddMinutes(1)));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        Assert.Empty(run.AlertsOf(AlertRules.RowsOutsideDay));
    }

    [Fact]
    public void Run_NoReadableTimestampAtAll_RaisesNoRowsOutsideDay()
    {
        var rows = Views(3, Fx.Day.AddHours(1)).Select(r => r with { Timestamp = "yesterday" });

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        Assert.Empty(run.AlertsOf(AlertRules.RowsOutsideDay));
        Assert.Single(run.AlertsOf(AlertRules.NoValidRows));
    }

    [Fact]
    public void Run_FileWithoutDayInItsName_RaisesNoRowsOutsideDay()
    {
        var run = new PipelineHarness().File("export.csv", Views(3, Fx.Day.AddDays(-40)));
        run.Finish();

        Assert.Empty(run.Alerts);
    }

    // ----- dead-lettered share -----

    [Theory]
    [InlineData(0, null)]
    [InlineData(30, null)]
    [InlineData(31, Severity.Warning)]
    [InlineData(50, Severity.Warning)]
    [InlineData(51, Severity.Critical)]
    [InlineData(99, Severity.Critical)]
    public void Accept_DeadLetterShare_WarnsAbove30AndIsCriticalAbove50Percent(int deadOf100, Severity? expected)
    {
        var alerts = Feed(new MonitorCore(new MonitorOptions()),
            FileMetrics(D(0), FileOf(D(0)), 100 - deadOf100, [(DeadLetterReasons.BotUserAgent, deadOf100)]))
            .Where(a => a.Rule == AlertRules.DeadLetterShare).ToList();

        if (expected is null)
        {
            Assert.Empty(alerts);
            return;
        }

        var alert = Assert.Single(alerts);
        Assert.Equal(expected, alert.Severity);
        Assert.Equal(D(0), alert.Day);
        Assert.Equal(deadOf100, alert.Observed, 6);
        Assert.Equal(expected == Severity.Critical ? 50 : 30, alert.Threshold);
    }

    [Fact]
    public void Run_FileWith996PerMilleDeadLettered_RaisesCriticalDeadLetterShare()
    {
        // The case: 99.6% of a file's rows dead-lettered.
        var rows = Views(249, Fx.Day.AddHours(1)).Select(r => r with { ClientId = " " }).Append(Fx.View("ok", Fx.Day.AddHours(6)));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.DeadLetterShare));
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(99.6, alert.Observed, 6);
        Assert.Equal("events_20250301.csv: 249 of 250 rows (99.60%) were dead-lettered (249 missing_client_id)", alert.Message);
        Assert.Empty(run.AlertsOf(AlertRules.NoValidRows));
    }

    [Fact]
    public void Run_FileWithAThirdOfItsRowsFromBots_WarnsOnDeadLetterShare()
    {
        var rows = Views(6, Fx.Day.AddHours(1)).Concat(Views(4, Fx.Day.AddHours(2), "bot").Select(r => r with { UserAgent = "python-requests/2.31" }));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.DeadLetterShare));
        Assert.Equal(Severity.Warning, alert.Severity);
        Assert.Equal("events_20250301.csv: 4 of 10 rows (40.00%) were dead-lettered (4 bot_user_agent)", alert.Message);
    }

    // ----- keys: once per (rule, day); files without a day share the unknown day -----

    [Fact]
    public void Accept_TwoEmptyFilesOfOneDay_OneEmptyFileAlert()
    {
        var monitor = new MonitorCore(new MonitorOptions());

        var alerts = Feed(monitor, FileMetrics(D(0), "events_20250301.csv", 0).Concat(FileMetrics(D(0), "events_20250301_b.csv", 0)));

        Assert.Single(alerts, a => a.Rule == AlertRules.EmptyFile);
    }

    [Fact]
    public void Accept_EmptyFilesWithoutADay_OneAlertForTheUnknownDay()
    {
        var monitor = new MonitorCore(new MonitorOptions());

        var alerts = Feed(monitor, FileMetrics(null, "a.csv", 0).Concat(FileMetrics(null, "b.csv", 0)));

        var alert = Assert.Single(alerts);
        Assert.Null(alert.Day);
        Assert.Equal("a.csv: no data rows (the file is empty or holds only a header), so it adds no events", alert.Message);
    }

    [Fact]
    public void Accept_AllTimestampsOutsideDayFromMetrics_RaisesRowsOutsideDayOnlyWhenNoneIsInside()
    {
        var outside = Feed(new MonitorCore(new MonitorOptions()), FileMetrics(D(0), FileOf(D(0)), 10, times: (10, 0)));
        var oneInside = Feed(new MonitorCore(new MonitorOptions()), FileMetrics(D(0), FileOf(D(0)), 10, times: (10, 1)));
        var noTally = Feed(new MonitorCore(new MonitorOptions()), FileMetrics(D(0), FileOf(D(0)), 10));

        Assert.Single(outside, a => a.Rule == AlertRules.RowsOutsideDay);
        Assert.Empty(oneInside);
        Assert.Empty(noTally);
    }

    // ----- the row-count anomaly when a day collapses -----

    private static readonly int[] NormalDayRows = [96, 104, 99, 101, 95, 108, 100];

    [Fact]
    public void Run_NearEmptyDayAfterSevenNormalDays_RaisesCriticalRowsAnomaly()
    {
        var run = new PipelineHarness();
        for (var i = 0; i < NormalDayRows.Length; i++)
        {
            var day = D(i).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            run.File(FileOf(D(i)), Views(NormalDayRows[i], day.AddHours(8), $"d{i}"));
        }

        run.File(FileOf(D(7)), Views(3, D(7).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddHours(8), "d7"));
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.RowsAnomaly));
        Assert.Equal(D(7), alert.Day);
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(3, alert.Observed);
        Assert.Equal("daily rows 3 is -16.4 robust sd from the trailing 7-day median 100: the day collapsed to 3% of normal, most of its data is missing", alert.Message);
        Assert.DoesNotContain(run.Alerts, a => a.Rule != AlertRules.RowsAnomaly);
    }

    [Fact]
    public void Run_HeaderOnlyDayAfterSevenNormalDays_RaisesEmptyFileAndCriticalRowsAnomaly()
    {
        var run = new PipelineHarness();
        for (var i = 0; i < NormalDayRows.Length; i++)
            run.File(FileOf(D(i)), Views(NormalDayRows[i], D(i).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddHours(8), $"d{i}"));

        run.File(FileOf(D(7)), Fx.Header + "\n");
        run.Finish();

        Assert.Equal(Severity.Critical, Assert.Single(run.AlertsOf(AlertRules.RowsAnomaly)).Severity);
        Assert.Single(run.AlertsOf(AlertRules.EmptyFile));
    }

    [Fact]
    public void Accept_CollapsedDayCompletingBeforeTheDayBefore_IsJudgedOnceItsWeekIsComplete()
    {
        // A file decided on arrival (empty, or all dead-lettered) completes before the previous file, whose events
        // still wait in the validator's reorder buffer.
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 0; i < 6; i++)
            Feed(monitor, FileMetrics(D(i), FileOf(D(i)), NormalDayRows[i]));

        var early = Feed(monitor, FileMetrics(D(7), FileOf(D(7)), 0));
        var late = Feed(monitor, FileMetrics(D(6), FileOf(D(6)), NormalDayRows[6]));

        Assert.DoesNotContain(early, a => a.Rule == AlertRules.RowsAnomaly);
        var alert = Assert.Single(late, a => a.Rule == AlertRules.RowsAnomaly);
        Assert.Equal(D(7), alert.Day);
        Assert.Equal(Severity.Critical, alert.Severity);
    }

    [Fact]
    public void Accept_RowsAboveNormal_IsAWarningNotACollapse()
    {
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 0; i < NormalDayRows.Length; i++)
            Feed(monitor, FileMetrics(D(i), FileOf(D(i)), NormalDayRows[i]));

        var alert = Assert.Single(Feed(monitor, FileMetrics(D(7), FileOf(D(7)), 300)));

        Assert.Equal(AlertRules.RowsAnomaly, alert.Rule);
        Assert.Equal(Severity.Warning, alert.Severity);
    }

    [Theory]
    [InlineData(60, Severity.Warning)]
    [InlineData(40, Severity.Critical)]
    public void Accept_RowsDrop_IsCriticalBelowHalfTheMedian(double rows, Severity expected)
    {
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 0; i < NormalDayRows.Length; i++)
            Feed(monitor, FileMetrics(D(i), FileOf(D(i)), NormalDayRows[i]));

        var alert = Assert.Single(Feed(monitor, FileMetrics(D(7), FileOf(D(7)), rows)), a => a.Rule == AlertRules.RowsAnomaly);

        Assert.Equal(expected, alert.Severity);
    }

    [Fact]
    public void Accept_NearEmptyDayAfterOnlySixDays_RaisesNoAnomalyYet()
    {
        // The anomaly rules need the whole trailing week; a shorter history says nothing (documented).
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 1; i < NormalDayRows.Length; i++)
            Feed(monitor, FileMetrics(D(i), FileOf(D(i)), NormalDayRows[i]));

        var alerts = Feed(monitor, FileMetrics(D(7), FileOf(D(7)), 3));

        Assert.DoesNotContain(alerts, a => a.Rule == AlertRules.RowsAnomaly);
    }

    [Fact]
    public void Accept_NearEmptyDayAfterAConstantWeek_RaisesCriticalRowsAnomaly()
    {
        // MAD = 0: any departure from the constant counts.
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 0; i < 7; i++)
            Feed(monitor, FileMetrics(D(i), FileOf(D(i)), 100));

        var alert = Assert.Single(Feed(monitor, FileMetrics(D(7), FileOf(D(7)), 1)), a => a.Rule == AlertRules.RowsAnomaly);

        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Contains("differs from the constant", alert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_NormalCraftedWeek_RaisesNoFileRule()
    {
        var run = new PipelineHarness();
        for (var i = 0; i < NormalDayRows.Length; i++)
            run.File(FileOf(D(i)), Views(NormalDayRows[i], D(i).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddHours(8), $"d{i}"));
        run.Finish();

        Assert.DoesNotContain(run.Alerts, a => FileRules.Contains(a.Rule));
    }
}
