using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §7: per day of session start × channel, with last-click and first-click views.</summary>
public sealed class MarketingDailyRulesUnitTests
{
    private static readonly DateOnly Day1 = new(2025, 3, 1);
    private static readonly DateOnly Day3 = new(2025, 3, 3);

    private static Session NewSession(string id, DateTime start, string channel, int orders = 0, decimal revenue = 0m) =>
        new(id, "client-" + id, start, start.AddMinutes(5), 1 + orders, 1, 0, 0, 0, orders, Fx.Shop, "", channel, Devices.Desktop,
            orders > 0, orders, revenue, Enumerable.Range(0, orders).Select(i => $"{id}-T{i}").ToList());

    private static AttributedOrder NewOrder(string tx, decimal revenue, Touch first, Touch last, Touch lastNonDirect) =>
        new(tx, "client", "event-" + tx, last.SessionStart.AddMinutes(1), revenue, last.SessionId, 2,
            (last.SessionStart - first.SessionStart).TotalDays, first, last, lastNonDirect);

    private static MarketingDailyRow RowOf(IReadOnlyList<MarketingDailyRow> rows, DateOnly day, string model, string channel) =>
        Assert.Single(rows, r => r.Day == day && r.Model == model && r.Channel == channel);

    [Fact]
    public void Rows_DeliveredOnceWithoutRememberingIds_SameTableAsRememberingThem()
    {
        var start = Fx.Day.AddHours(10);
        var remembering = new MarketingDaily();
        var deliveredOnce = new MarketingDaily { DeliveredOnce = true };
        var email = new Touch(Channels.Email, "s0", start);
        var direct = new Touch(Channels.Direct, "s5", start.AddDays(1));
        foreach (var table in new[] { remembering, deliveredOnce })
        {
            for (var i = 0; i < 6; i++)
                table.Add(NewSession($"s{i}", start.AddHours(i * 5), i % 2 == 0 ? Channels.Email : Channels.Direct, orders: i % 3 == 0 ? 1 : 0, revenue: 10m * i));
            table.Add(NewOrder("T-1", 10m, email, direct, email));
            table.Add(NewOrder("T-2", 25m, email, email, email));
        }

        Assert.Equal(remembering.Rows(), deliveredOnce.Rows());
        Assert.Equal(0, deliveredOnce.RememberedIds);
        Assert.Equal(8, remembering.RememberedIds);
        Assert.Equal(2, RowOf(deliveredOnce.Rows(), Day1, AttributionModels.LastClick, Channels.Email).Sessions); // 10:00 and 20:00; 06:00 is the next day
    }

    [Fact]
    public void Rows_FourSessionsOneOrder_ConversionRateIsOrdersOverSessions()
    {
        var start = Fx.Day.AddHours(10);
        var table = new MarketingDaily();
        for (var i = 0; i < 3; i++)
            table.Add(NewSession($"s{i}", start.AddHours(i), Channels.Email));
        table.Add(NewSession("s3", start.AddHours(4), Channels.Email, orders: 1, revenue: 80m));
        var touch = new Touch(Channels.Email, "s3", start.AddHours(4));
        table.Add(NewOrder("T-1", 80m, touch, touch, touch));

        var row = RowOf(table.Rows(), Day1, AttributionModels.LastClick, Channels.Email);

        Assert.Equal(4, row.Sessions);
        Assert.Equal(1, row.ConvertedSessions);
        Assert.Equal(1, row.Orders);
        Assert.Equal(80m, row.Revenue);
        Assert.Equal(1.0 / 4, row.ConversionRate, 9);
    }

    [Fact]
    public void Rows_SessionWithTwoOrders_RateCountsOrdersNotConvertedSessions()
    {
        var start = Fx.Day.AddHours(10);
        var table = new MarketingDaily();
        table.Add(NewSession("a", start, Channels.Direct, orders: 2, revenue: 30m));
        for (var i = 0; i < 3; i++)
            table.Add(NewSession($"b{i}", start.AddHours(i + 1), Channels.Direct));
        var touch = new Touch(Channels.Direct, "a", start);
        table.Add(NewOrder("T-1", 10m, touch, touch, touch));
        table.Add(NewOrder("T-2", 20m, touch, touch, touch));

        var row = RowOf(table.Rows(), Day1, AttributionModels.LastClick, Channels.Direct);

        Assert.Equal(1, row.ConvertedSessions);
        Assert.Equal(2, row.Orders);
        Assert.Equal(2.0 / 4, row.ConversionRate, 9);
    }

    [Fact]
    public void Rows_FirstClickView_CreditsFirstTouchSessionDayAndChannel()
    {
        var emailStart = Fx.Day.AddHours(9);
        var directStart = Fx.Day.AddDays(2).AddHours(15);
        var table = new MarketingDaily();
        table.Add(NewSession("email", emailStart, Channels.Email));
        table.Add(NewSession("direct", directStart, Channels.Direct, orders: 1, revenue: 500m));
        var first = new Touch(Channels.Email, "email", emailStart);
        var last = new Touch(Channels.Direct, "direct", directStart);
        table.Add(NewOrder("T-1", 500m, first, last, first));

        var rows = table.Rows();

        var firstView = RowOf(rows, Day1, AttributionModels.FirstClick, Channels.Email);
        Assert.Equal((1L, 500m), (firstView.Orders, firstView.Revenue));
        Assert.Equal(0, RowOf(rows, Day3, AttributionModels.FirstClick, Channels.Direct).Orders);
        var lastView = RowOf(rows, Day3, AttributionModels.LastClick, Channels.Direct);
        Assert.Equal((1L, 500m), (lastView.Orders, lastView.Revenue));
        Assert.Equal(0, RowOf(rows, Day1, AttributionModels.LastClick, Channels.Email).Orders);
        // Sessions are the same in every view: they belong to the day and channel of the session itself.
        Assert.Equal(1, RowOf(rows, Day3, AttributionModels.FirstClick, Channels.Direct).Sessions);
        Assert.Equal(1, RowOf(rows, Day3, AttributionModels.FirstClick, Channels.Direct).ConvertedSessions);
        Assert.Equal(1, firstView.Sessions);
    }

    [Fact]
    public void Rows_SessionStartingBeforeMidnight_CountsOnStartDate()
    {
        var table = new MarketingDaily();
        table.Add(NewSession("late-night", Fx.Day.AddHours(23).AddMinutes(58), Channels.Referral));

        var row = Assert.Single(table.Rows(), r => r.Model == AttributionModels.LastClick);

        Assert.Equal(Day1, row.Day);
        Assert.Equal(1, row.Sessions);
    }

    [Fact]
    public void Run_EmailThenDirectPurchase_FirstAndLastClickViewsCreditDifferentCells()
    {
        var buy = Fx.Day.AddDays(2).AddHours(15);
        var run = new PipelineHarness()
            .File(Fx.FileFor(Fx.Day), [Fx.View("buyer", Fx.Day.AddHours(9), referrer: "https://mail.google.com/"), Fx.View("other", Fx.Day.AddHours(9))])
            .File(Fx.FileFor(Fx.Day.AddDays(2)), [Fx.View("buyer", buy.AddMinutes(-5)), Fx.Buy("buyer", buy, "T-1", 250m)]);

        var rows = run.Finish().MarketingDaily;

        var firstEmail = RowOf(rows, Day1, AttributionModels.FirstClick, Channels.Email);
        Assert.Equal((1L, 0L, 1L, 250m), (firstEmail.Sessions, firstEmail.ConvertedSessions, firstEmail.Orders, firstEmail.Revenue));
        var lastDirect = RowOf(rows, Day3, AttributionModels.LastClick, Channels.Direct);
        Assert.Equal((1L, 1L, 1L, 250m), (lastDirect.Sessions, lastDirect.ConvertedSessions, lastDirect.Orders, lastDirect.Revenue));
        Assert.Equal(1.0, lastDirect.ConversionRate, 9);
        var lastNonDirect = RowOf(rows, Day1, AttributionModels.LastNonDirect, Channels.Email);
        Assert.Equal(250m, lastNonDirect.Revenue);
        Assert.Equal(0, RowOf(rows, Day1, AttributionModels.LastClick, Channels.Direct).Orders);
        Assert.Equal(1, RowOf(rows, Day1, AttributionModels.LastClick, Channels.Direct).Sessions);
        foreach (var model in AttributionModels.All)
            Assert.Equal(250m, rows.Where(r => r.Model == model).Sum(r => r.Revenue));
    }
}
