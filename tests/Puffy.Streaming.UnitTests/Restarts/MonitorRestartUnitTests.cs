using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Redis;
using Puffy.Streaming.UnitTests.RealData;
using Puffy.Streaming.UnitTests.Rules;

namespace Puffy.Streaming.UnitTests.Restarts;

/// <summary>
/// A monitor that saves its state (in the stored JSON form), dies and is restored from it continues exactly: the
/// alerts of the real data's metrics are raised once each, none missed, and the marketing totals are whole.
/// </summary>
public sealed class MonitorRestartUnitTests(RealDataRun run) : IClassFixture<RealDataRun>
{
    private static MonitorCore NewMonitor() => new(new MonitorOptions());

    private static T RoundTrip<T>(T state)
        where T : class => StateJson.Deserialize<T>(StateJson.Serialize(state))!;

    [Fact]
    public void Restore_AtEveryFifthMetric_RaisesExactlyTheUninterruptedAlerts()
    {
        var metrics = run.Metrics;
        var uninterrupted = metrics.SelectMany(NewMonitor().Accept).ToList();
        Assert.Equal(run.Summary.Alerts.Count, uninterrupted.Count);

        for (var crash = 0; crash <= metrics.Count; crash += 5)
        {
            var first = NewMonitor();
            var raised = metrics.Take(crash).SelectMany(first.Accept).ToList();
            var restarted = NewMonitor();
            restarted.Restore(RoundTrip(first.Save()));
            raised.AddRange(metrics.Skip(crash).SelectMany(restarted.Accept));

            Assert.Equal(uninterrupted, raised);
            Assert.Equal(uninterrupted, restarted.Alerts);
        }
    }

    [Fact]
    public void Restart_WithoutTheSavedState_WouldNotRaiseTheSameAlerts()
    {
        // The control for the test above: the rules do depend on what came before, so a restart must carry it.
        var metrics = run.Metrics;
        var uninterrupted = metrics.SelectMany(NewMonitor().Accept).ToList();

        var differing = Enumerable.Range(1, metrics.Count - 1).Where(i => i % 25 == 0).Count(crash =>
        {
            var raised = metrics.Take(crash).SelectMany(NewMonitor().Accept).ToList();
            raised.AddRange(metrics.Skip(crash).SelectMany(NewMonitor().Accept));
            return !raised.SequenceEqual(uninterrupted);
        });

        Assert.True(differing > 0);
    }

    [Fact]
    public void Restore_StateWithSameFileAsLastSchemaAndLastComplete_KeepsComparingTheNextFileWithIt()
    {
        var day = new DateOnly(2025, 3, 1);
        var first = NewMonitor();
        first.Accept(new Metric(day, MetricNames.FileSchema, "client_id,timestamp,referrer", 0, "a.csv"));
        first.Accept(new Metric(day, MetricNames.FileComplete, string.Empty, 10, "a.csv"));

        var restarted = NewMonitor();
        restarted.Restore(RoundTrip(first.Save()));
        var alerts = restarted.Accept(new Metric(day.AddDays(1), MetricNames.FileSchema, "client_id,timestamp", 0, "b.csv"));

        var alert = Assert.Single(alerts);
        Assert.Equal(AlertRules.SchemaChange, alert.Rule);
        Assert.Equal(Severity.Critical, alert.Severity);
    }

    [Theory]
    [InlineData(0.0, 0.0, 0)]
    [InlineData(0.4, 0.1, 500)]
    [InlineData(0.5, 0.9, 3000)]
    [InlineData(1.0, 1.0, 40)]
    public void MarketingDaily_RestoredFromItsChangesWithRedeliveredInput_EqualsTheUninterruptedTable(double sessionsBefore, double ordersBefore, int redelivered)
    {
        var sessions = run.Sessions;
        var orders = run.Orders;
        var s = (int)(sessions.Count * sessionsBefore);
        var o = (int)(orders.Count * ordersBefore);

        var first = new MarketingDaily { TrackChanges = true };
        foreach (var session in sessions.Take(s))
            Assert.True(first.Add(session));
        foreach (var order in orders.Take(o))
            Assert.True(first.Add(order));
        var (savedSessions, savedOrders) = first.TakeChanges();

        // Restarted from the stored contributions; upstream sends its last sessions and orders again.
        var restarted = new MarketingDaily { TrackChanges = true };
        restarted.Restore(RoundTrip(savedSessions.ToList()), RoundTrip(savedOrders.ToList()));
        var again = sessions.Skip(Math.Max(0, s - redelivered)).Count(session => !restarted.Add(session))
                    + orders.Skip(Math.Max(0, o - redelivered)).Count(order => !restarted.Add(order));

        Assert.Equal(Math.Min(s, redelivered) + Math.Min(o, redelivered), again);
        Assert.Equal(run.Summary.MarketingDaily, restarted.Rows());
        var (newSessions, newOrders) = restarted.TakeChanges();
        Assert.Equal(sessions.Count - s, newSessions.Count);
        Assert.Equal(orders.Count - o, newOrders.Count);
    }

    /// <summary>Metrics of crafted files that trip every per-file content rule and the collapse of a day.</summary>
    private static List<Metric> CraftedFileMetrics()
    {
        var run = new PipelineHarness();
        for (var i = 0; i < 7; i++)
        {
            var day = Fx.Day.AddDays(i);
            run.File(Fx.FileFor(day), Enumerable.Range(0, 20 + i).Select(k => Fx.View($"d{i}-{k}", day.AddHours(8).AddMinutes(k))));
        }

        var d7 = Fx.Day.AddDays(7);
        run.File(Fx.FileFor(d7), Enumerable.Range(0, 2).Select(k => Fx.View($"d7-{k}", d7.AddHours(8).AddMinutes(k))));
        run.File(Fx.FileFor(d7.AddDays(1)), Fx.Header + "\n");
        run.File(Fx.FileFor(d7.AddDays(2)), Enumerable.Range(0, 6).Select(k => Fx.View($"y-{k}", d7.AddDays(2).AddHours(-2).AddMinutes(k))));
        run.File(Fx.FileFor(d7.AddDays(3)), Enumerable.Range(0, 6).Select(k => Fx.View("", d7.AddDays(3).AddHours(2).AddMinutes(k))));
        run.Finish();
        Assert.Subset(
            run.Alerts.Select(a => a.Rule).ToHashSet(StringComparer.Ordinal),
            new HashSet<string>(StringComparer.Ordinal) { AlertRules.DeadLetterShare, AlertRules.EmptyFile, AlertRules.NoValidRows, AlertRules.RowsAnomaly, AlertRules.RowsOutsideDay });
        return run.Metrics;
    }

    [Fact]
    public void Restore_AtEveryMetricOfCraftedBadFiles_RaisesExactlyTheUninterruptedFileAlerts()
    {
        var metrics = CraftedFileMetrics();
        var uninterrupted = metrics.SelectMany(NewMonitor().Accept).ToList();

        for (var crash = 0; crash <= metrics.Count; crash++)
        {
            var first = NewMonitor();
            var raised = metrics.Take(crash).SelectMany(first.Accept).ToList();
            var restarted = NewMonitor();
            restarted.Restore(RoundTrip(first.Save()));
            raised.AddRange(metrics.Skip(crash).SelectMany(restarted.Accept));

            Assert.Equal(uninterrupted, raised);
        }
    }

    [Fact]
    public void Restore_StateSavedBeforeTheTimeTally_LoadsWithTheTallyEmpty()
    {
        // A state stored by an earlier version has no time tally in its files: it loads, and the rule stays quiet.
        var day = new DateOnly(2025, 3, 1);
        var first = NewMonitor();
        first.Accept(new Metric(day, MetricNames.FileValid, string.Empty, 10, "events_20250301.csv"));
        var json = StateJson.Serialize(first.Save());
        foreach (var name in new[] { "TimestampsInDay", "Timestamps", "FirstTimestamp", "LastTimestamp" })
            json = System.Text.RegularExpressions.Regex.Replace(json, $",\"{name}\":[^,}}]+", string.Empty);
        Assert.DoesNotContain("Timestamp", json, StringComparison.Ordinal);

        var restarted = NewMonitor();
        restarted.Restore(StateJson.Deserialize<MonitorState>(json)!);
        var alerts = restarted.Accept(new Metric(day, MetricNames.FileComplete, string.Empty, 10, "events_20250301.csv"));

        Assert.Empty(alerts);
    }
}
