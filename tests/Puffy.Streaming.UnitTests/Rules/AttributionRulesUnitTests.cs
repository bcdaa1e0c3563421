using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §5: touchpoints in [purchase − 7 days, purchase], first / last / last-non-direct.</summary>
public sealed class AttributionRulesUnitTests
{
    private const string Buyer = "buyer";
    private const string GmailReferrer = "https://mail.google.com/";
    private const string GoogleReferrer = "https://www.google.com/";

    // 2025-03-09 12:00 UTC.
    private static readonly DateTime P = Fx.Day.AddDays(8).AddHours(12);

    /// <summary>A purchase session: a landing view 10 minutes before the purchase at P.</summary>
    private static Row[] PurchaseSession(string? landingReferrer = "", decimal revenue = 99.5m) =>
        [Fx.View(Buyer, P.AddMinutes(-10), referrer: landingReferrer), Fx.Buy(Buyer, P, "T-1", revenue, landingReferrer)];

    private static AttributedOrder Attribute(params IEnumerable<Row>[] parts)
    {
        var h = new SessionHarness().Run(parts.SelectMany(p => p));
        return Assert.Single(h.Orders);
    }

    [Fact]
    public void Accept_SessionStartingExactlySevenDaysBefore_IsTouchpoint()
    {
        var order = Attribute([Fx.View(Buyer, P.AddDays(-7), referrer: GmailReferrer)], PurchaseSession());

        Assert.Equal(2, order.Touchpoints);
        Assert.Equal(Channels.Email, order.FirstClick.Channel);
        Assert.Equal(P.AddDays(-7), order.FirstClick.SessionStart);
        Assert.Equal(7, order.DaysFromFirstTouch, 9);
    }

    [Fact]
    public void Accept_SessionStartingOneMillisecondBeyondSevenDays_IsNotTouchpoint()
    {
        var order = Attribute([Fx.View(Buyer, P.AddDays(-7).AddMilliseconds(-1), referrer: GmailReferrer)], PurchaseSession());

        Assert.Equal(1, order.Touchpoints);
        Assert.Equal(Channels.Direct, order.FirstClick.Channel);
        Assert.Equal(P.AddMinutes(-10), order.FirstClick.SessionStart);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a session start before the lookback, dropped while the later ones are kept
    public void Accept_ThreeTouchpoints_FirstLastAndLastNonDirect(bool olderSessionFirst)
    {
        var h = new SessionHarness().Run(
        [
            .. olderSessionFirst ? [Fx.View(Buyer, P.AddDays(-10), referrer: GoogleReferrer)] : Array.Empty<Row>(),
            Fx.View(Buyer, P.AddDays(-5), referrer: GmailReferrer),
            Fx.View(Buyer, P.AddDays(-3), referrer: GoogleReferrer),
            .. PurchaseSession(),
        ]);

        var order = Assert.Single(h.Orders);
        var email = Assert.Single(h.Sessions, s => s.Start == P.AddDays(-5));
        var search = Assert.Single(h.Sessions, s => s.Start == P.AddDays(-3));
        var own = Assert.Single(h.Sessions, s => s.Start == P.AddMinutes(-10));
        Assert.Equal(3, order.Touchpoints);
        Assert.Equal((Channels.Email, email.SessionId), (order.FirstClick.Channel, order.FirstClick.SessionId));
        Assert.Equal((Channels.Direct, own.SessionId), (order.LastClick.Channel, order.LastClick.SessionId));
        Assert.Equal((Channels.OrganicSearch, search.SessionId), (order.LastNonDirect.Channel, order.LastNonDirect.SessionId));
        Assert.Equal(5, order.DaysFromFirstTouch, 9);
    }

    [Fact]
    public void Accept_OrderFields_DescribeThePurchase()
    {
        var h = new SessionHarness().Run(PurchaseSession(revenue: 1234.56m));

        var order = Assert.Single(h.Orders);
        var own = Assert.Single(h.Sessions);
        Assert.Equal("T-1", order.TransactionId);
        Assert.Equal(Buyer, order.ClientId);
        Assert.Equal(P, order.PurchaseTime);
        Assert.Equal(1234.56m, order.Revenue);
        Assert.Equal(own.SessionId, order.SessionId);
        Assert.Equal(1, order.Touchpoints);
    }

    [Fact]
    public void Accept_AllTouchpointsDirect_LastNonDirectFallsBackToLastClick()
    {
        var order = Attribute([Fx.View(Buyer, P.AddDays(-2))], PurchaseSession());

        Assert.Equal(Channels.Direct, order.FirstClick.Channel);
        Assert.Equal(order.LastClick, order.LastNonDirect);
    }

    [Fact]
    public void Accept_UnattributedLastTouch_IsSkippedLikeDirect()
    {
        var order = Attribute(
            [Fx.View(Buyer, P.AddDays(-3), referrer: GmailReferrer), Fx.View(Buyer, P.AddDays(-1), referrer: null)],
            PurchaseSession(landingReferrer: null));

        Assert.Equal(Channels.Unattributed, order.LastClick.Channel);
        Assert.Equal(Channels.Email, order.LastNonDirect.Channel);
        Assert.Equal(P.AddDays(-3), order.LastNonDirect.SessionStart);
    }

    [Fact]
    public void Accept_OnlyDirectAndUnattributed_LastNonDirectIsLastClick()
    {
        var order = Attribute([Fx.View(Buyer, P.AddDays(-1))], PurchaseSession(landingReferrer: null));

        Assert.Equal(Channels.Direct, order.FirstClick.Channel);
        Assert.Equal(Channels.Unattributed, order.LastClick.Channel);
        Assert.Equal(order.LastClick, order.LastNonDirect);
    }

    [Fact]
    public void Accept_OtherClientsSessions_AreNotTouchpoints()
    {
        var order = Attribute([Fx.View("someone-else", P.AddDays(-1), referrer: GmailReferrer)], PurchaseSession());

        Assert.Equal(1, order.Touchpoints);
        Assert.Equal(Channels.Direct, order.FirstClick.Channel);
    }

    [Fact]
    public void Accept_PurchaseAsLandingEvent_OwnSessionIsOnlyTouchpoint()
    {
        var order = Attribute([Fx.Buy(Buyer, P, "T-1", 10m, GoogleReferrer)]);

        Assert.Equal(1, order.Touchpoints);
        Assert.Equal(Channels.OrganicSearch, order.LastClick.Channel);
        Assert.Equal(P, order.FirstClick.SessionStart);
        Assert.Equal(0, order.DaysFromFirstTouch, 9);
    }

    [Fact]
    public void Accept_SecondPurchaseDaysLater_HasItsOwnWindow()
    {
        var h = new SessionHarness().Run(
        [
            Fx.View(Buyer, P.AddDays(-9), referrer: GmailReferrer),
            Fx.Buy(Buyer, P.AddDays(-9).AddMinutes(5), "T-0", 10m),
            .. PurchaseSession(),
        ]);

        var first = Assert.Single(h.Orders, o => o.TransactionId == "T-0");
        var second = Assert.Single(h.Orders, o => o.TransactionId == "T-1");
        Assert.Equal(Channels.Email, first.FirstClick.Channel);
        Assert.Equal(1, second.Touchpoints);
        Assert.Equal(Channels.Direct, second.FirstClick.Channel);
    }

    [Fact]
    public void Run_GeneratedMultiClientStream_EveryModelCreditsAllRevenueToTheCent()
    {
        var (files, purchases) = GeneratedStream(seed: 20250301);
        var run = new PipelineHarness();
        foreach (var (name, rows) in files)
            run.File(name, rows);

        var summary = run.Finish();

        var expectedRevenue = purchases.Values.Sum();
        Assert.Equal(purchases.Count, run.Orders.Count);
        Assert.Equal(expectedRevenue, run.Orders.Sum(o => o.Revenue));
        Assert.Equal(expectedRevenue, summary.Revenue);
        foreach (var model in AttributionModels.All)
        {
            Assert.Equal(expectedRevenue, run.Orders.GroupBy(o => o.For(model).Channel, StringComparer.Ordinal).Sum(g => g.Sum(o => o.Revenue)));
            Assert.Equal(expectedRevenue, summary.Attribution[model].Values.Sum());
        }

        Assert.True(summary.Attribution[AttributionModels.FirstClick].Count > 1, "the stream should spread revenue over channels");
        Assert.All(run.Orders, o =>
        {
            Assert.Equal(purchases[o.TransactionId], o.Revenue);
            Assert.InRange(o.Touchpoints, 1, int.MaxValue);
            Assert.InRange(o.FirstClick.SessionStart, o.PurchaseTime.AddDays(-7), o.PurchaseTime);
            Assert.InRange(o.LastClick.SessionStart, o.FirstClick.SessionStart, o.PurchaseTime);
            Assert.InRange(o.LastNonDirect.SessionStart, o.FirstClick.SessionStart, o.PurchaseTime);
        });
    }

    private static readonly (string Url, string Referrer)[] Landings =
    [
        (Fx.Shop, ""), (Fx.Shop + "?gclid=1", ""), (Fx.Shop, "https://mail.google.com/"), (Fx.Shop, "https://www.google.com/"),
        (Fx.Shop + "?utm_medium=" + Fx.Md5Prefix("cpc") + "&utm_source=" + Fx.Md5Prefix("facebook"), ""),
        (Fx.Shop, "https://blog.example/review"), (Fx.Shop + "?ttclid=1", ""),
    ];

    private static (List<(string Name, List<Row> Rows)> Files, Dictionary<string, decimal> Purchases) GeneratedStream(int seed)
    {
#pragma warning disable CA5394 // deterministic test data, not security
        var rnd = new Random(seed);
        var files = new List<(string, List<Row>)>();
        var purchases = new Dictionary<string, decimal>(StringComparer.Ordinal);
        for (var d = 0; d < 12; d++)
        {
            var day = Fx.Day.AddDays(d);
            var rows = new List<Row>();
            for (var c = 0; c < 25; c++)
            {
                if (rnd.Next(3) == 0)
                    continue;
                var client = $"client-{c:00}";
                var t = day.AddMinutes(rnd.Next(60, 1300));
                var (url, referrer) = Landings[rnd.Next(Landings.Length)];
                rows.Add(Fx.View(client, t, url, referrer));
                for (var k = rnd.Next(3); k > 0; k--)
                {
                    t = t.AddMinutes(rnd.Next(1, 20));
                    rows.Add(Fx.View(client, t));
                }

                if (rnd.Next(4) == 0)
                {
                    var tx = $"T-{d:00}-{c:00}";
                    var revenue = rnd.Next(0, 300_000) / 100m;
                    purchases[tx] = revenue;
                    rows.Add(Fx.Buy(client, t.AddMinutes(1), tx, revenue));
                }
            }
#pragma warning restore CA5394

            files.Add((Fx.FileFor(day), rows.OrderBy(r => r.Timestamp, StringComparer.Ordinal).ToList()));
        }

        return (files, purchases);
    }
}
