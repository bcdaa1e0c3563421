using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Monitoring;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §8: alerts from metrics, once per (rule, day).</summary>
public sealed class MonitorRulesUnitTests
{
    private static DateOnly D(int i) => new DateOnly(2025, 3, 1).AddDays(i);

    private static string FileOf(DateOnly d) => "events_" + d.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".csv";

    private static List<Metric> FileMetrics(DateOnly day, double rows, double missing = 0, double duplicateTx = 0, double orders = 0,
        double revenue = 0, double zeroRevenue = 0, (string Field, double Observed, double Null)[]? fields = null, string? file = null)
    {
        var f = file ?? FileOf(day);
        var list = new List<Metric> { new(day, MetricNames.FileValid, "", rows - missing - duplicateTx, f) };
        if (missing > 0)
            list.Add(new(day, MetricNames.FileDeadLettered, DeadLetterReasons.MissingClientId, missing, f));
        if (duplicateTx > 0)
            list.Add(new(day, MetricNames.FileDeadLettered, DeadLetterReasons.DuplicateTransactionId, duplicateTx, f));
        list.Add(new(day, MetricNames.FileOrders, "", orders, f));
        list.Add(new(day, MetricNames.FileRevenue, "", revenue, f));
        list.Add(new(day, MetricNames.FileZeroRevenueOrders, "", zeroRevenue, f));
        foreach (var (field, observed, nulls) in fields ?? [])
        {
            list.Add(new(day, MetricNames.FieldObserved, field, observed, f));
            list.Add(new(day, MetricNames.FieldNull, field, nulls, f));
        }

        list.Add(new(day, MetricNames.FileComplete, "", rows, f));
        return list;
    }

    private static List<Metric> DayMetrics(DateOnly day, double sessions, double direct, double orders) =>
    [
        new(day, MetricNames.DaySessions, "", sessions, ""),
        new(day, MetricNames.DayChannelSessions, Channels.Direct, direct, ""),
        new(day, MetricNames.DayChannelSessions, Channels.Email, sessions - direct, ""),
        new(day, MetricNames.DayConvertedSessions, "", orders, ""),
        new(day, MetricNames.DayOrders, "", orders, ""),
        new(day, MetricNames.DayComplete, "", sessions, ""),
    ];

    private static List<Alert> Feed(MonitorCore monitor, IEnumerable<Metric> metrics) => metrics.SelectMany(monitor.Accept).ToList();

    private static MonitorCore NewMonitor() => new(new MonitorOptions());

    [Theory]
    [InlineData(0, null)]
    [InlineData(5, null)]
    [InlineData(6, Severity.Warning)]
    [InlineData(10, Severity.Warning)]
    [InlineData(11, Severity.Critical)]
    [InlineData(40, Severity.Critical)]
    public void Accept_MissingClientIdRate_WarnsAbove5AndIsCriticalAbove10Percent(int missingOf100, Severity? expected)
    {
        var alerts = Feed(NewMonitor(), FileMetrics(D(0), rows: 100, missing: missingOf100))
            .Where(a => a.Rule == AlertRules.MissingClientIdRate).ToList();

        if (expected is null)
        {
            Assert.Empty(alerts);
            return;
        }

        var alert = Assert.Single(alerts);
        Assert.Equal(expected, alert.Severity);
        Assert.Equal(D(0), alert.Day);
        Assert.Equal(missingOf100, alert.Observed, 6);
    }

    [Fact]
    public void Run_FileWithMissingClientIds_RaisesRateAlertForFileDay()
    {
        var rows = Enumerable.Range(0, 17).Select(i => Fx.View($"c-{i}", Fx.Day.AddHours(1).AddMinutes(i)))
            .Concat(Enumerable.Range(0, 3).Select(i => Fx.View("", Fx.Day.AddHours(2).AddMinutes(i))));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.MissingClientIdRate));
        Assert.Equal(Severity.Critical, alert.Severity);
        Assert.Equal(new DateOnly(2025, 3, 1), alert.Day);
        Assert.Equal(15, alert.Observed, 6);
    }

    [Fact]
    public void Accept_DuplicateTransactionIdsInFile_RaiseAlert()
    {
        var alerts = Feed(NewMonitor(), FileMetrics(D(0), rows: 100, duplicateTx: 1, orders: 3));

        var alert = Assert.Single(alerts, a => a.Rule == AlertRules.DuplicateTransactionId);
        Assert.Equal(D(0), alert.Day);
        Assert.Equal(1, alert.Observed);
    }

    [Fact]
    public void Run_DuplicateTransactionId_RaisesAlertOnItsDay()
    {
        var run = new PipelineHarness()
            .File("events_20250301.csv", [Fx.Buy("a", Fx.Day.AddHours(10), "T-1", 10m)])
            .File("events_20250302.csv", [Fx.Buy("b", Fx.Day.AddHours(34), "T-1", 10m)]);
        run.Finish();

        Assert.Equal(new DateOnly(2025, 3, 2), Assert.Single(run.AlertsOf(AlertRules.DuplicateTransactionId)).Day);
    }

    [Fact]
    public void Accept_NoDuplicatesNoZeroRevenue_RaisesNoSuchAlerts()
    {
        var alerts = Feed(NewMonitor(), FileMetrics(D(0), rows: 100, orders: 3, revenue: 300));

        Assert.DoesNotContain(alerts, a => a.Rule is AlertRules.DuplicateTransactionId or AlertRules.ZeroRevenueOrders or AlertRules.MissingClientIdRate);
    }

    [Fact]
    public void Accept_ZeroRevenueOrders_RaiseAlert()
    {
        var alert = Assert.Single(Feed(NewMonitor(), FileMetrics(D(0), rows: 100, orders: 3, revenue: 200, zeroRevenue: 2)),
            a => a.Rule == AlertRules.ZeroRevenueOrders);

        Assert.Equal(2, alert.Observed);
        Assert.Equal(D(0), alert.Day);
    }

    [Fact]
    public void Run_ZeroRevenuePurchase_RaisesZeroRevenueAlert()
    {
        var run = new PipelineHarness().File(Fx.FileName, [Fx.Buy("a", Fx.Day.AddHours(10), "T-1", 0m), Fx.Buy("b", Fx.Day.AddHours(11), "T-2", 5m)]);
        var summary = run.Finish();

        Assert.Single(run.AlertsOf(AlertRules.ZeroRevenueOrders));
        Assert.Equal(2, summary.Orders);
        Assert.Equal(1, summary.ZeroRevenueOrders);
    }

    [Fact]
    public void Accept_FieldTurningAllNull_RaisesAlertOnThatDay()
    {
        var monitor = NewMonitor();
        Feed(monitor, FileMetrics(D(0), rows: 100, fields: [("item_price", 5, 0), ("item_id", 5, 0)]));

        var alerts = Feed(monitor, FileMetrics(D(1), rows: 100, fields: [("item_price", 4, 4), ("item_id", 4, 0)]));

        var alert = Assert.Single(alerts, a => a.Rule == AlertRules.FieldAllNull);
        Assert.Equal(D(1), alert.Day);
        Assert.Contains("item_price", alert.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("item_id", alert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accept_FieldPartlyNull_RaisesNoAllNullAlert()
    {
        var monitor = NewMonitor();
        Feed(monitor, FileMetrics(D(0), rows: 100, fields: [("item_price", 5, 0)]));

        var alerts = Feed(monitor, FileMetrics(D(1), rows: 100, fields: [("item_price", 4, 3)]));

        Assert.DoesNotContain(alerts, a => a.Rule == AlertRules.FieldAllNull);
    }

    [Fact]
    public void Run_ItemPriceNullFromSecondDay_RaisesFieldAllNullAlert()
    {
        var day2 = Fx.Day.AddDays(1);
        var nullPrice = Fx.Buy("b", day2.AddHours(10), "T-2", 20m) with { EventData = Fx.PurchaseData("T-2", 20m, nullItemPrice: true) };
        var run = new PipelineHarness()
            .File(Fx.FileFor(Fx.Day), [Fx.Buy("a", Fx.Day.AddHours(10), "T-1", 10m)])
            .File(Fx.FileFor(day2), [nullPrice]);
        run.Finish();

        var alert = Assert.Single(run.AlertsOf(AlertRules.FieldAllNull));
        Assert.Equal(DateOnly.FromDateTime(day2), alert.Day);
        Assert.Contains("item_price", alert.Message, StringComparison.Ordinal);
    }

    private static string LineFor(string header, Row r) => Fx.Line(header.Split(',').Select(c => c switch
    {
        "client_id" or "clientId" => r.ClientId,
        "page_url" => r.PageUrl,
        "referrer" => r.Referrer,
        "timestamp" => r.Timestamp,
        "event_name" => r.EventName,
        "event_data" => r.EventData,
        "user_agent" => r.UserAgent,
        _ => "x",
    }).ToArray());

    [Theory]
    [InlineData("clientId,page_url,referrer,timestamp,event_name,event_data,user_agent", Severity.Warning)]
    [InlineData("client_id,page_url,timestamp,event_name,event_data,user_agent", Severity.Critical)]
    [InlineData("client_id,page_url,referrer,timestamp,event_name,event_data,user_agent,utm_campaign", Severity.Warning)]
    [InlineData("client_id,referrer,timestamp,event_name,event_data,user_agent", Severity.Warning)]
    [InlineData("client_id,page_url,referrer,timestamp,event_name,event_data,user_agent", null)]
    [InlineData("user_agent,event_data,event_name,timestamp,referrer,page_url,client_id", null)]
    public void Run_SecondFileHeaderDiffers_RaisesSchemaChangeWithSeverity(string secondHeader, Severity? expected)
    {
        var day2 = Fx.Day.AddDays(1);
        var run = new PipelineHarness()
            .File(Fx.FileFor(Fx.Day), [Fx.View("a", Fx.Day.AddHours(10))])
            .File(Fx.FileFor(day2), Fx.Csv(secondHeader, LineFor(secondHeader, Fx.View("b", day2.AddHours(10)))));
        run.Finish();

        var alerts = run.AlertsOf(AlertRules.SchemaChange).ToList();
        if (expected is null)
        {
            Assert.Empty(alerts);
            return;
        }

        var alert = Assert.Single(alerts);
        Assert.Equal(expected, alert.Severity);
        Assert.Equal(DateOnly.FromDateTime(day2), alert.Day);
        Assert.Equal(2, run.Events.Count);
    }

    private static readonly double[] NormalRows = [100, 102, 98, 101, 99, 103, 97];

    /// <summary>median + 3 × 1.4826 × MAD of the history (the robust 3-sigma bound above normal).</summary>
    private static double UpperBound(double[] history)
    {
        static double Median(IEnumerable<double> v)
        {
            var s = v.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
        }

        var median = Median(history);
        return median + (3 * 1.4826 * Median(history.Select(x => Math.Abs(x - median))));
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(112, true)]
    [InlineData(104, false)]
    [InlineData(100, false)]
    public void Accept_DailyRowsAfterSevenNormalDays_AnomalyBeyondThreeRobustSd(double todayRows, bool alert)
    {
        var monitor = NewMonitor();
        for (var i = 0; i < NormalRows.Length; i++)
            Feed(monitor, FileMetrics(D(i), NormalRows[i]));
        var bound = UpperBound(NormalRows);
        Assert.Equal(alert, todayRows > bound); // the cases straddle the bound

        var alerts = Feed(monitor, FileMetrics(D(7), todayRows)).Where(a => a.Rule == AlertRules.RowsAnomaly).ToList();

        Assert.Equal(alert ? 1 : 0, alerts.Count);
        if (alert)
        {
            Assert.Equal(D(7), alerts[0].Day);
            Assert.Equal(todayRows, alerts[0].Observed, 6);
            Assert.Equal(bound, alerts[0].Threshold, 3);
        }
    }

    [Fact]
    public void Accept_DailyRowsFarBelowNormal_IsAnomaly()
    {
        var monitor = NewMonitor();
        for (var i = 0; i < NormalRows.Length; i++)
            Feed(monitor, FileMetrics(D(i), NormalRows[i]));

        var alerts = Feed(monitor, FileMetrics(D(7), 20));

        Assert.Single(alerts, a => a.Rule == AlertRules.RowsAnomaly);
    }

    [Fact]
    public void Accept_OrdersAndRevenueOutliers_RaiseTheirAnomalies()
    {
        double[] orders = [10, 12, 9, 11, 10, 13, 8];
        double[] revenue = [1000, 1150, 900, 1080, 1010, 1200, 950];
        var monitor = NewMonitor();
        for (var i = 0; i < orders.Length; i++)
            Feed(monitor, FileMetrics(D(i), NormalRows[i], orders: orders[i], revenue: revenue[i]));

        var alerts = Feed(monitor, FileMetrics(D(7), 100, orders: 40, revenue: 5000));

        Assert.Single(alerts, a => a.Rule == AlertRules.OrdersAnomaly);
        Assert.Single(alerts, a => a.Rule == AlertRules.RevenueAnomaly);
        Assert.DoesNotContain(alerts, a => a.Rule == AlertRules.RowsAnomaly);
    }

    [Fact]
    public void Accept_ConversionRateOutlier_RaisesConversionAnomaly()
    {
        double[] orders = [2, 3, 4, 3, 2, 4, 3];
        var monitor = NewMonitor();
        for (var i = 0; i < orders.Length; i++)
            Feed(monitor, DayMetrics(D(i), sessions: 100, direct: 30, orders: orders[i]));

        var normal = Feed(monitor, DayMetrics(D(7), sessions: 100, direct: 30, orders: 4));
        var outlier = Feed(monitor, DayMetrics(D(8), sessions: 100, direct: 30, orders: 15));

        Assert.DoesNotContain(normal, a => a.Rule == AlertRules.ConversionRateAnomaly);
        var alert = Assert.Single(outlier, a => a.Rule == AlertRules.ConversionRateAnomaly);
        Assert.Equal(D(8), alert.Day);
        Assert.Equal(0.15, alert.Observed, 6);
    }

    [Theory]
    [InlineData(40, true)]
    [InlineData(36, true)]
    [InlineData(35, false)]
    [InlineData(25, false)]
    public void Accept_DirectShareChange_AlertsAboveFifteenPoints(int directOf100Today, bool alert)
    {
        var monitor = NewMonitor();
        Feed(monitor, DayMetrics(D(0), sessions: 100, direct: 20, orders: 2));

        var alerts = Feed(monitor, DayMetrics(D(1), sessions: 100, direct: directOf100Today, orders: 2))
            .Where(a => a.Rule == AlertRules.DirectShareJump).ToList();

        Assert.Equal(alert ? 1 : 0, alerts.Count);
        if (alert)
        {
            Assert.Equal(D(1), alerts[0].Day);
            Assert.Equal(directOf100Today, alerts[0].Observed, 6);
        }
    }

    [Fact]
    public void Accept_SameFileMetricsRedelivered_AlertsRaisedOnce()
    {
        var monitor = NewMonitor();
        var metrics = FileMetrics(D(0), rows: 100, missing: 20, duplicateTx: 1, orders: 2, zeroRevenue: 1);

        var first = Feed(monitor, metrics);
        var again = Feed(monitor, metrics);

        Assert.Equal(3, first.Count);
        Assert.Empty(again);
        Assert.Equal(3, monitor.Alerts.Count);
        Assert.Equal(3, monitor.Alerts.Select(a => (a.Rule, a.Day)).Distinct().Count());
    }

    [Fact]
    public void Accept_TwoFilesSameDayBothWithDuplicates_OneAlertForTheDay()
    {
        var monitor = NewMonitor();

        var alerts = Feed(monitor, FileMetrics(D(0), rows: 50, duplicateTx: 1, file: "a_20250301.csv"))
            .Concat(Feed(monitor, FileMetrics(D(0), rows: 50, duplicateTx: 2, file: "b_20250301.csv")))
            .Concat(Feed(monitor, FileMetrics(D(1), rows: 50, duplicateTx: 1)))
            .Where(a => a.Rule == AlertRules.DuplicateTransactionId).ToList();

        Assert.Equal([D(0), D(1)], alerts.Select(a => a.Day));
    }

    [Fact]
    public void Run_ManyMissingClientIdRows_OneAlertNotOnePerEvent()
    {
        var rows = Enumerable.Range(0, 10).Select(i => Fx.View("", Fx.Day.AddHours(1).AddMinutes(i)))
            .Concat(Enumerable.Range(0, 10).Select(i => Fx.View($"c-{i}", Fx.Day.AddHours(2).AddMinutes(i))));

        var run = new PipelineHarness().File(Fx.FileName, rows);
        run.Finish();

        Assert.Single(run.AlertsOf(AlertRules.MissingClientIdRate));
        Assert.Equal(run.Alerts.Count, run.Alerts.Select(a => (a.Rule, a.Day)).Distinct().Count());
    }

    [Fact]
    public void CheckIdle_NoEventsLongerThanLimit_RaisesNoEventsOncePerDay()
    {
        var monitor = new MonitorCore(new MonitorOptions { IdleAfter = TimeSpan.FromMinutes(10) });
        var last = new DateTime(2025, 3, 1, 10, 0, 0, DateTimeKind.Utc);
        monitor.Accept(new Metric(null, MetricNames.Heartbeat, "", (last - DateTime.UnixEpoch).TotalSeconds, ""));

        var early = monitor.CheckIdle(last.AddMinutes(5));
        var idle = monitor.CheckIdle(last.AddMinutes(11));
        var stillIdle = monitor.CheckIdle(last.AddMinutes(20));

        Assert.Empty(early);
        var alert = Assert.Single(idle);
        Assert.Equal(AlertRules.NoEvents, alert.Rule);
        Assert.Equal(new DateOnly(2025, 3, 1), alert.Day);
        Assert.Empty(stillIdle);
    }

    [Fact]
    public void CheckIdle_FreshHeartbeat_RaisesNothing()
    {
        var monitor = new MonitorCore(new MonitorOptions { IdleAfter = TimeSpan.FromMinutes(10) });
        var last = new DateTime(2025, 3, 1, 10, 0, 0, DateTimeKind.Utc);
        monitor.Accept(new Metric(null, MetricNames.Heartbeat, "", (last - DateTime.UnixEpoch).TotalSeconds, ""));
        monitor.Accept(new Metric(null, MetricNames.Heartbeat, "", (last.AddMinutes(9) - DateTime.UnixEpoch).TotalSeconds, ""));

        Assert.Empty(monitor.CheckIdle(last.AddMinutes(15)));
    }
}
