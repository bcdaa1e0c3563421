using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Redis;
using Puffy.Streaming.UnitTests.RealData;

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
}
