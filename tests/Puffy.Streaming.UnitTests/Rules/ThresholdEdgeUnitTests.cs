using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Monitoring;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Threshold edges of the monitor and the bounded de-duplication memory.</summary>
public sealed class ThresholdEdgeUnitTests
{
    private static DateOnly D(int i) => new DateOnly(2025, 3, 1).AddDays(i);

    private static List<Alert> CompleteFile(MonitorCore monitor, DateOnly day, double rows, double missing = 0)
    {
        var file = "events_" + day.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture) + ".csv";
        var alerts = new List<Alert>();
        alerts.AddRange(monitor.Accept(new Metric(day, MetricNames.FileValid, "", rows - missing, file)));
        if (missing > 0)
            alerts.AddRange(monitor.Accept(new Metric(day, MetricNames.FileDeadLettered, DeadLetterReasons.MissingClientId, missing, file)));
        alerts.AddRange(monitor.Accept(new Metric(day, MetricNames.FileComplete, "", rows, file)));
        return alerts;
    }

    private static List<Alert> CompleteDay(MonitorCore monitor, DateOnly day, double sessions, double direct) =>
    [
        .. monitor.Accept(new Metric(day, MetricNames.DaySessions, "", sessions, "")),
        .. monitor.Accept(new Metric(day, MetricNames.DayChannelSessions, Channels.Direct, direct, "")),
        .. monitor.Accept(new Metric(day, MetricNames.DayOrders, "", 1, "")),
        .. monitor.Accept(new Metric(day, MetricNames.DayComplete, "", sessions, "")),
    ];

    [Fact]
    public void Accept_ConstantHistoryThenOutlier_RaisesRowsAnomaly()
    {
        var monitor = new MonitorCore(new MonitorOptions());
        for (var i = 0; i < 7; i++)
            CompleteFile(monitor, D(i), 100);

        var alerts = CompleteFile(monitor, D(7), 1000);

        Assert.Single(alerts, a => a.Rule == AlertRules.RowsAnomaly);
    }

    [Fact]
    public void Accept_MissingClientIdRateJustAbove5Percent_Warns()
    {
        var monitor = new MonitorCore(new MonitorOptions());

        var alerts = CompleteFile(monitor, D(0), rows: 100_000, missing: 5_001);

        Assert.Equal(Severity.Warning, Assert.Single(alerts, a => a.Rule == AlertRules.MissingClientIdRate).Severity);
    }

    [Fact]
    public void Accept_MissingClientIdRateJustAbove10Percent_IsCritical()
    {
        var monitor = new MonitorCore(new MonitorOptions());

        var alerts = CompleteFile(monitor, D(0), rows: 100_000, missing: 10_001);

        Assert.Equal(Severity.Critical, Assert.Single(alerts, a => a.Rule == AlertRules.MissingClientIdRate).Severity);
    }

    [Fact]
    public void Accept_DirectShareJumpJustAbove15Points_Alerts()
    {
        var monitor = new MonitorCore(new MonitorOptions());
        CompleteDay(monitor, D(0), sessions: 100_000, direct: 20_000);

        var alerts = CompleteDay(monitor, D(1), sessions: 100_000, direct: 35_004);

        Assert.Single(alerts, a => a.Rule == AlertRules.DirectShareJump);
    }

    [Fact]
    public void Accept_RowReplayedMoreThan30DaysOfStreamLaterWithLongerWindow_IsDuplicateEvent()
    {
        var original = Fx.View("client-a", Fx.Day.AddHours(10));
        var later = new DateTime(2025, 4, 2, 10, 0, 0, DateTimeKind.Utc);

        var h = new ValidatorHarness(dedupWindow: TimeSpan.FromDays(60))
            .Feed("events_20250301.csv", [original])
            .Feed("events_20250402.csv", [Fx.View("client-b", later), Fx.View("client-b", later.AddHours(1))])
            .Feed("events_20250301_replay.csv", [original])
            .Flush();

        Assert.Equal([DeadLetterReasons.DuplicateEvent], h.ReasonsFor("client-a"));
    }

    [Theory]
    [InlineData(0, DeadLetterReasons.DuplicateEvent)]
    [InlineData(1, DeadLetterReasons.LateEvent)]
    public void Accept_RowReplayedWhenTheDedupWindowEndsAtItsTime_IsForgottenOnlyPastTheWindowToTheMillisecond(int msBeyond, string reason)
    {
        // Ids are held in slices of event time; the window still ends at each id's own time, not at its slice's end.
        var original = Fx.View("client-a", Fx.Day.AddHours(10).AddMinutes(7));
        var decided = Fx.Day.AddHours(10).AddMinutes(7).AddDays(3).AddMilliseconds(msBeyond);

        var h = new ValidatorHarness(dedupWindow: TimeSpan.FromDays(3))
            .Feed("events_20250301.csv", [original])
            .Feed("events_20250304.csv", [Fx.View("client-b", decided), Fx.View("client-b", decided.AddHours(1))])
            .Feed("events_20250301_replay.csv", [original])
            .Flush();

        Assert.Equal([reason], h.ReasonsFor("client-a"));
    }

    [Fact]
    public void Accept_RowReplayedBeyondTheDedupWindow_IsLateEventNotDropped()
    {
        // Accepted ids are remembered for DedupWindow of event time (bounded memory, documented in
        // docs/semantics-choices.md); a replay older than that is still dead-lettered, as late.
        var original = Fx.View("client-a", Fx.Day.AddHours(10));
        var later = new DateTime(2025, 4, 2, 10, 0, 0, DateTimeKind.Utc);

        var h = new ValidatorHarness()
            .Feed("events_20250301.csv", [original])
            .Feed("events_20250402.csv", [Fx.View("client-b", later), Fx.View("client-b", later.AddHours(1))])
            .Feed("events_20250301_replay.csv", [original])
            .Flush();

        Assert.Equal([DeadLetterReasons.LateEvent], h.ReasonsFor("client-a"));
    }
}
