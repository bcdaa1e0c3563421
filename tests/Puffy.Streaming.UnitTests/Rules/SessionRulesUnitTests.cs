using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §3: 30-minute sessions per client over valid events in time order.</summary>
public sealed class SessionRulesUnitTests
{
    private static readonly DateTime T10 = Fx.Day.AddHours(10);

    [Fact]
    public void Accept_GapOfExactlyThirtyMinutes_StartsNewSession()
    {
        var h = new SessionHarness().Run([Fx.View("c", T10), Fx.View("c", T10.AddMinutes(30))]);

        Assert.Equal(2, h.Sessions.Count);
        Assert.Equal([T10, T10.AddMinutes(30)], h.Sessions.Select(s => s.Start).Order());
        Assert.NotEqual(h.Sessions[0].SessionId, h.Sessions[1].SessionId);
    }

    [Fact]
    public void Accept_GapJustUnderThirtyMinutes_StaysInSession()
    {
        var second = T10.AddMinutes(30).AddMilliseconds(-1);

        var h = new SessionHarness().Run([Fx.View("c", T10), Fx.View("c", second)]);

        var s = Assert.Single(h.Sessions);
        Assert.Equal(T10, s.Start);
        Assert.Equal(second, s.End);
        Assert.Equal(2, s.EventCount);
    }

    [Fact]
    public void Accept_GapMeasuredFromPreviousEvent_NotFromSessionStart()
    {
        var h = new SessionHarness().Run(Enumerable.Range(0, 6).Select(i => Fx.View("c", T10.AddMinutes(20 * i))));

        var s = Assert.Single(h.Sessions);
        Assert.Equal(T10, s.Start);
        Assert.Equal(T10.AddMinutes(100), s.End);
        Assert.Equal(6, s.EventCount);
    }

    [Fact]
    public void Accept_EventsAcrossMidnight_StayInOneSessionDatedByStart()
    {
        var start = Fx.Day.AddHours(23).AddMinutes(50);

        var h = new SessionHarness().Run([Fx.View("c", start), Fx.View("c", start.AddMinutes(20))]);

        var s = Assert.Single(h.Sessions);
        Assert.Equal(start, s.Start);
        Assert.Equal(Fx.Day.AddDays(1).AddMinutes(10), s.End);
    }

    [Fact]
    public void Accept_CampaignChangeWithinGap_DoesNotSplitAndKeepsLandingChannel()
    {
        var h = new SessionHarness().Run(
        [
            Fx.View("c", T10, "https://puffy.com/?gclid=abc"),
            Fx.View("c", T10.AddMinutes(5), "https://puffy.com/?utm_medium=" + Fx.Md5Prefix("email"), "https://mail.google.com/"),
        ]);

        var s = Assert.Single(h.Sessions);
        Assert.Equal(Channels.PaidSearch, s.Channel);
        Assert.Equal("https://puffy.com/?gclid=abc", s.LandingPage);
    }

    [Fact]
    public void Accept_ClientsInterleaved_AreSessionizedIndependently()
    {
        var h = new SessionHarness().Run(
        [
            Fx.View("a", T10), Fx.View("b", T10.AddMinutes(10)), Fx.View("a", T10.AddMinutes(25)),
            Fx.View("b", T10.AddMinutes(45)), Fx.View("a", T10.AddMinutes(54)),
        ]);

        Assert.Equal(3, Assert.Single(h.Sessions, s => s.ClientId == "a").EventCount);
        Assert.Equal(2, h.Sessions.Count(s => s.ClientId == "b"));
    }

    [Fact]
    public void Accept_SameInputTwice_GivesSameSessionIds()
    {
        Row[] rows = [Fx.View("a", T10), Fx.View("a", T10.AddHours(2)), Fx.View("b", T10)];

        var first = new SessionHarness().Run(rows).Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal).ToList();
        var second = new SessionHarness().Run(rows).Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(3, first.Distinct().Count());
        Assert.Equal(first, second);
    }

    [Fact]
    public void Accept_SameRowsFromOtherFileAndLines_GiveSameSessionId()
    {
        var text = Fx.Csv([Fx.View("a", T10), Fx.View("a", T10.AddMinutes(3))]);
        var padded = Fx.Csv([Fx.View("z", T10.AddMinutes(1)), Fx.View("a", T10), Fx.View("a", T10.AddMinutes(3))]);

        var one = new PipelineHarness().File("events_20250301.csv", text);
        one.Finish();
        var two = new PipelineHarness().File("copy-20250301.csv", padded);
        two.Finish();

        Assert.Equal(Assert.Single(one.Sessions).SessionId, Assert.Single(two.Sessions, s => s.ClientId == "a").SessionId);
    }

    [Fact]
    public void Accept_DifferentFirstEvent_GivesDifferentSessionId()
    {
        var a = new SessionHarness().Run([Fx.View("a", T10)]).Sessions[0].SessionId;
        var b = new SessionHarness().Run([Fx.View("a", T10.AddMilliseconds(1))]).Sessions[0].SessionId;
        var c = new SessionHarness().Run([Fx.View("b", T10)]).Sessions[0].SessionId;

        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
    }

    [Fact]
    public void Accept_SessionizedEvents_CarrySessionIdStartAndLandingFlag()
    {
        var h = new SessionHarness().Run([Fx.View("a", T10), Fx.View("a", T10.AddMinutes(1)), Fx.View("a", T10.AddHours(1))]);

        Assert.Equal([true, false, true], h.Events.Select(e => e.IsSessionStart));
        Assert.Equal(h.Events[0].SessionId, h.Events[1].SessionId);
        Assert.NotEqual(h.Events[0].SessionId, h.Events[2].SessionId);
        Assert.Equal([T10, T10, T10.AddHours(1)], h.Events.Select(e => e.SessionStart));
        Assert.All(h.Events, e => Assert.Contains(h.Sessions, s => s.SessionId == e.SessionId));
    }

    [Fact]
    public void Accept_ChannelAndDevice_ComeFromFirstEvent()
    {
        var first = Fx.View("c", T10, "https://puffy.com/?ttclid=1") with { UserAgent = Fx.DesktopUa };
        var second = Fx.View("c", T10.AddMinutes(1), referrer: "https://www.google.com/") with { UserAgent = Fx.IPhoneUa };

        var s = Assert.Single(new SessionHarness().Run([first, second]).Sessions);

        Assert.Equal(Channels.PaidSocial, s.Channel);
        Assert.Equal(Devices.Desktop, s.Device);
        Assert.Equal("https://puffy.com/?ttclid=1", s.LandingPage);
        Assert.Equal(string.Empty, s.LandingReferrer);
    }

    [Fact]
    public void Accept_LandingFromFileWithoutReferrerColumn_HasNullReferrerAndUnattributed()
    {
        var s = Assert.Single(new SessionHarness().Run([Fx.View("c", T10, referrer: null)]).Sessions);

        Assert.Null(s.LandingReferrer);
        Assert.Equal(Channels.Unattributed, s.Channel);
    }

    [Fact]
    public void Accept_SessionWithPurchases_IsConvertedWithRevenueAndTransactionIds()
    {
        var h = new SessionHarness().Run(
        [
            Fx.View("c", T10),
            new Row { ClientId = "c", Timestamp = Fx.Iso(T10.AddMinutes(1)), EventName = EventNames.EmailFilledOnPopup },
            new Row { ClientId = "c", Timestamp = Fx.Iso(T10.AddMinutes(2)), EventName = EventNames.ProductAddedToCart },
            new Row { ClientId = "c", Timestamp = Fx.Iso(T10.AddMinutes(3)), EventName = EventNames.CheckoutStarted },
            Fx.Buy("c", T10.AddMinutes(4), "T-1", 100m),
            Fx.Buy("c", T10.AddMinutes(5), "T-2", 50.5m),
            Fx.View("other", T10),
        ]);

        var s = Assert.Single(h.Sessions, x => x.ClientId == "c");
        Assert.True(s.IsConverted);
        Assert.Equal(2, s.Orders);
        Assert.Equal(150.5m, s.Revenue);
        Assert.Equal(["T-1", "T-2"], s.TransactionIds);
        Assert.Equal(6, s.EventCount);
        Assert.Equal((1, 1, 1, 1, 2), (s.PageViews, s.EmailsFilled, s.AddsToCart, s.CheckoutsStarted, s.Purchases));

        var plain = Assert.Single(h.Sessions, x => x.ClientId == "other");
        Assert.False(plain.IsConverted);
        Assert.Equal(0, plain.Orders);
        Assert.Equal(0m, plain.Revenue);
        Assert.Empty(plain.TransactionIds);
    }

    [Fact]
    public void Accept_ZeroRevenuePurchase_StillConvertsSession()
    {
        var s = Assert.Single(new SessionHarness().Run([Fx.Buy("c", T10, "T-0", 0m)]).Sessions);

        Assert.True(s.IsConverted);
        Assert.Equal(1, s.Orders);
        Assert.Equal(0m, s.Revenue);
    }

    [Fact]
    public void AdvanceTo_ClientIdleForFullGap_ClosesSessionBeforeFlush()
    {
        var h = new SessionHarness().Feed([Fx.View("a", T10), Fx.View("b", T10.AddMinutes(10))]);
        Assert.Equal(2, h.Sessionizer.OpenSessions);

        h.Sessionizer.AdvanceTo(T10.AddMinutes(30));

        Assert.Equal(1, h.Sessionizer.OpenSessions);
        Assert.Equal("a", Assert.Single(h.Sessions).ClientId);
    }

    [Fact]
    public void AdvanceTo_JustUnderGap_KeepsSessionOpen()
    {
        var h = new SessionHarness().Feed([Fx.View("a", T10)]);

        h.Sessionizer.AdvanceTo(T10.AddMinutes(30).AddMilliseconds(-1));

        Assert.Equal(1, h.Sessionizer.OpenSessions);
        Assert.Empty(h.Sessions);
    }

    [Fact]
    public void Accept_ManyClientsOverTime_OpenSessionsFollowActiveClientsOnly()
    {
        var rows = Enumerable.Range(0, 200).Select(i => Fx.View($"client-{i}", T10.AddMinutes(i)));

        var h = new SessionHarness().Feed(rows);

        // At 13:19 only clients whose event lies less than 30 minutes back can still be extended.
        Assert.Equal(30, h.Sessionizer.OpenSessions);
        Assert.Equal(170, h.Sessions.Count);
    }

    [Fact]
    public void Finish_AfterReplay_EverySessionIsClosedAndWritten()
    {
        var run = new PipelineHarness().File(Fx.FileName, [Fx.View("a", T10), Fx.View("b", T10.AddMinutes(1)), Fx.View("a", T10.AddMinutes(2))]);

        var summary = run.Finish();

        Assert.Equal(0, run.Pipeline.StateSizes.OpenSessions);
        Assert.Equal(0, run.Pipeline.StateSizes.Buffered);
        Assert.Equal(2, summary.Sessions);
        Assert.Equal(3, run.Sessions.Sum(s => s.EventCount));
    }

    [Fact]
    public void RunFile_OutOfOrderWithinLateness_GivesSessionsOfSortedInput()
    {
        var rows = new List<Row>();
        string[] clients = ["a", "b", "c", "d"];
        for (var i = 0; i < 40; i++)
            rows.Add(Fx.View(clients[i % 4], T10.AddMinutes((i * 4) + (i % 3) + (i >= 20 ? 40 : 0))));
        rows.Add(Fx.Buy("b", T10.AddMinutes(150), "T-1", 10m));
        var sorted = rows.OrderBy(r => r.Timestamp, StringComparer.Ordinal).ToList();
        // Swap neighbours in windows: every row arrives at most ~10 minutes behind the newest one read so far.
        var shuffled = new List<Row>(sorted);
        for (var i = 0; i + 1 < shuffled.Count; i += 2)
            (shuffled[i], shuffled[i + 1]) = (shuffled[i + 1], shuffled[i]);
        shuffled.Reverse(0, 3);

        var fromSorted = new PipelineHarness().File(Fx.FileName, sorted);
        fromSorted.Finish();
        var fromShuffled = new PipelineHarness().File(Fx.FileName, shuffled);
        fromShuffled.Finish();

        Assert.Empty(fromShuffled.DeadLetters);
        Assert.Equal(Shape(fromSorted.Sessions), Shape(fromShuffled.Sessions));
        Assert.True(fromSorted.Sessions.Count > clients.Length);
    }

    [Fact]
    public void RunFile_EventArrivingWithinLatenessBridgesGap_IsSessionizedAsSortedInput()
    {
        // Read order 10:00, 10:45, 10:25: sorted, the gaps are 25 and 20 minutes, so one session.
        var options = new Puffy.Streaming.Embedded.PipelineOptions();
        options.Validator.AllowedLateness = TimeSpan.FromMinutes(30);
        var run = new PipelineHarness(options).File(Fx.FileName,
            [Fx.View("a", T10), Fx.View("a", T10.AddMinutes(45)), Fx.View("a", T10.AddMinutes(25))]);

        run.Finish();

        Assert.Empty(run.DeadLetters);
        var s = Assert.Single(run.Sessions);
        Assert.Equal((T10, T10.AddMinutes(45), 3), (s.Start, s.End, s.EventCount));
    }

    [Fact]
    public void RunFile_EventTenMinutesBehindStreamTime_JoinsItsSession()
    {
        var run = new PipelineHarness().File(Fx.FileName,
            [Fx.View("a", T10), Fx.View("b", T10.AddMinutes(20)), Fx.View("a", T10.AddMinutes(10)), Fx.View("a", T10.AddMinutes(35))]);

        run.Finish();

        Assert.Empty(run.DeadLetters);
        var s = Assert.Single(run.Sessions, x => x.ClientId == "a");
        Assert.Equal((T10, T10.AddMinutes(35), 3), (s.Start, s.End, s.EventCount));
    }

    private static List<string> Shape(IEnumerable<Session> sessions) =>
        sessions.Select(s => string.Join('|', s.SessionId, s.ClientId, Fx.Iso(s.Start), Fx.Iso(s.End), s.EventCount, s.Channel, s.Orders))
            .Order(StringComparer.Ordinal).ToList();
}
