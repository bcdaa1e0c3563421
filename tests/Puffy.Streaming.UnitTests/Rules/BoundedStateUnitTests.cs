using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Every id the pipeline remembers is forgotten after an event-time horizon (docs/semantics-choices.md), so a long
/// stream keeps flat memory: kept just before the horizon, gone just after it.
/// </summary>
public sealed class BoundedStateUnitTests
{
    private static readonly DateTime T0 = Fx.Day.AddHours(10);

    // --- validator: rows handled, by (file, line) ---

    [Fact]
    public void SeenRows_SameRowAgainWithinTheHorizon_IsKnown()
    {
        var seen = new SeenRows(TimeSpan.FromDays(30));
        Assert.True(seen.Add("events_20250301.csv", 2, T0));
        Assert.True(seen.Add("events_20250330.csv", 2, T0.AddDays(29)));

        Assert.False(seen.Add("events_20250301.csv", 2, T0));
        Assert.Equal(2, seen.Files);
    }

    [Fact]
    public void SeenRows_FileWhoseNewestRowIsBeyondTheHorizon_IsForgotten()
    {
        var seen = new SeenRows(TimeSpan.FromDays(30));
        seen.Add("events_20250301.csv", 2, T0);
        seen.Add("events_20250301.csv", 3, T0.AddHours(1));
        seen.Add("events_20250402.csv", 2, T0.AddDays(30).AddHours(1).AddTicks(1));

        Assert.Equal(1, seen.Files);
        Assert.True(seen.Add("events_20250301.csv", 2, T0));
    }

    [Fact]
    public void SeenRows_FileExactlyAtTheHorizon_IsKept()
    {
        var seen = new SeenRows(TimeSpan.FromDays(30));
        seen.Add("events_20250301.csv", 2, T0);
        seen.Add("events_20250331.csv", 2, T0.AddDays(30));

        Assert.Equal(2, seen.Files);
        Assert.Equal(2, seen.Rows);
        Assert.False(seen.Add("events_20250301.csv", 2, T0));
    }

    // --- validator: transaction ids for duplicate_transaction_id ---

    [Theory]
    [InlineData(29, DeadLetterReasons.DuplicateTransactionId)]
    [InlineData(31, null)]
    public void Accept_TransactionIdReusedDaysLater_IsDuplicateOnlyWithinTheDedupWindow(int daysLater, string? reason)
    {
        var later = T0.AddDays(daysLater);
        var h = new ValidatorHarness()
            .Feed("events_20250301.csv", [Fx.Buy("client-a", T0, "T-1", 10m)])
            .Feed(Fx.FileFor(later), [Fx.Buy("client-b", later, "T-1", 20m)])
            .Flush();

        Assert.Equal(reason is null ? Array.Empty<string>() : new[] { reason }, h.ReasonsFor("client-b"));
        Assert.Equal(reason is null ? 2 : 1, h.Valid.Count(e => e.TransactionId == "T-1"));
    }

    [Fact]
    public void RememberedIds_LongStream_StaysWithinTheDedupWindow()
    {
        var validator = new ValidatorCore(new ValidatorOptions { DedupWindow = TimeSpan.FromDays(3) });
        var remembered = new List<int>();
        for (var day = 0; day < 12; day++)
        {
            var t = T0.AddDays(day);
            for (var i = 0; i < 10; i++)
                validator.Accept(Fx.View($"client-{day}-{i}", t.AddMinutes(i)).ToRaw(Fx.FileFor(t), i + 2, t.AddMinutes(i)));
            remembered.Add(validator.RememberedIds);
        }

        // Ids of about three days (plus the day being decided) at most, however long the stream runs.
        Assert.True(remembered.Max() <= 5 * 10, string.Join(",", remembered));
        Assert.Equal(remembered[5], remembered[^1]);
    }

    // --- sessionizer: last applied event per client ---

    [Fact]
    public void TakeChanges_ClientQuietForLongerThanTheRedeliveryHorizon_IsForgotten()
    {
        var core = new SessionizerCore(new SessionizerOptions { RedeliveryHorizon = TimeSpan.FromHours(24) }) { TrackChanges = true };
        core.Accept(Fx.Valid(Fx.View("client-a", T0)));
        core.Accept(Fx.Valid(Fx.View("client-b", T0.AddHours(24))));
        var kept = core.TakeChanges();
        core.Accept(Fx.Valid(Fx.View("client-b", T0.AddHours(24).AddMilliseconds(1))));
        var changes = core.TakeChanges();

        Assert.DoesNotContain(kept, c => c.IsForgotten);
        Assert.Contains(changes, c => c.ClientId == "client-a" && c.IsForgotten);
    }

    // --- attribution: click history per client ---

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    public void TrackedClients_SessionStartsOlderThanTheLookback_AreForgotten(int msBeyond, int tracked)
    {
        var h = new SessionHarness(lookback: TimeSpan.FromDays(7));
        h.Feed([Fx.View("client-a", T0), Fx.View("client-b", T0.AddDays(7).AddMilliseconds(msBeyond))]);

        Assert.Equal(1 + tracked, h.Attribution.TrackedClients);
    }

    // --- monitor: sessions and orders counted in marketing_daily ---

    private static SessionContribution S(string id, DateOnly day, string channel = Channels.Direct) => new(id, day, channel, Converted: false);

    private static OrderContribution O(string tx, DateOnly firstDay, DateOnly lastDay, decimal revenue = 10m) =>
        new(tx, revenue, [
            new ModelCredit(AttributionModels.FirstClick, firstDay, Channels.Email),
            new ModelCredit(AttributionModels.LastClick, lastDay, Channels.Direct),
            new ModelCredit(AttributionModels.LastNonDirect, firstDay, Channels.Email),
        ]);

    private static readonly DateOnly Day0 = DateOnly.FromDateTime(Fx.Day);

    private static MarketingDaily Table(bool tracking) => new() { TrackChanges = tracking, IdHorizon = TimeSpan.FromDays(30) };

    private static bool Add(MarketingDaily table, SessionContribution s) =>
        table.Add(new Session(s.SessionId, "c", s.Day.ToDateTime(new TimeOnly(10, 0), DateTimeKind.Utc), s.Day.ToDateTime(new TimeOnly(10, 5), DateTimeKind.Utc),
            1, 1, 0, 0, 0, 0, Fx.Shop, "", s.Channel, Devices.Desktop, false, 0, 0m, []));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Add_SessionRedeliveredAtTheHorizon_IsCountedOnce(bool tracking)
    {
        var table = Table(tracking);
        Assert.True(Add(table, S("s-1", Day0)));
        Assert.True(Add(table, S("s-2", Day0.AddDays(30))));

        Assert.False(Add(table, S("s-1", Day0)));
        Assert.Equal(Day0, table.ForgottenBefore);
        Assert.Equal(2, table.RememberedIds);
        Assert.Equal(0, table.TooLate);
    }

    [Fact]
    public void Add_SessionRedeliveredBeyondTheHorizon_IdIsForgottenAndTheFinalDayNotRecounted()
    {
        var table = Table(tracking: true);
        Add(table, S("s-1", Day0));
        Assert.Single(table.ChangedRows(), r => r.Day == Day0 && r.Model == AttributionModels.LastClick);
        Add(table, S("s-2", Day0.AddDays(31)));

        Assert.Equal(1, table.RememberedIds);
        Assert.False(Add(table, S("s-1", Day0)));
        Assert.Equal(1, table.TooLate);
        Assert.DoesNotContain(table.ChangedRows(), r => r.Day == Day0);
        Assert.DoesNotContain(table.Rows(), r => r.Day == Day0);
    }

    [Fact]
    public void Add_WithoutTracking_ForgetsIdsButKeepsTheWholeTable()
    {
        var table = Table(tracking: false);
        Add(table, S("s-1", Day0));
        Add(table, S("s-2", Day0.AddDays(31)));

        Assert.Equal(1, table.RememberedIds);
        Assert.Equal(Day0.AddDays(1), table.ForgottenBefore);
        Assert.Single(table.Rows(), r => r.Day == Day0 && r.Model == AttributionModels.LastClick && r.Sessions == 1);
    }

    [Fact]
    public void Add_OrderCreditingAForgottenDay_IsRefusedWhole()
    {
        var table = Table(tracking: true);
        Add(table, S("s-new", Day0.AddDays(40)));

        Assert.False(table.Add(Order("T-1", first: Day0.AddDays(5), last: Day0.AddDays(12))));
        Assert.True(table.Add(Order("T-2", first: Day0.AddDays(10), last: Day0.AddDays(12))));
        Assert.Equal(1, table.TooLate);
        Assert.Equal(10m, table.Rows().Where(r => r.Model == AttributionModels.FirstClick).Sum(r => r.Revenue));
    }

    [Fact]
    public void ChangedRows_OnlyTheDaysTouchedSinceTheLastCall_EveryRowOfThem()
    {
        var table = Table(tracking: true);
        Add(table, S("s-1", Day0, Channels.Direct));
        Add(table, S("s-2", Day0, Channels.Email));
        table.ChangedRows();
        Add(table, S("s-3", Day0.AddDays(1)));
        table.Add(Order("T-1", first: Day0, last: Day0.AddDays(1)));

        var rows = table.ChangedRows();

        Assert.Equal([Day0, Day0.AddDays(1)], rows.Select(r => r.Day).Distinct().Order());
        Assert.Equal(table.Rows(), rows);
        Assert.Empty(table.ChangedRows());
    }

    [Fact]
    public void Restore_ContributionsOfADayPastTheHorizon_AreNotBroughtBackAsAPartialRow()
    {
        // Stored: an order whose own session is recent but whose first touch is on a day already forgotten; the rest of
        // that day (its sessions) was deleted with it. Restoring must not rebuild that day from the order alone.
        var restored = Table(tracking: true);
        restored.Restore(
            [S("s-recent", Day0.AddDays(40))],
            [O("T-1", firstDay: Day0.AddDays(5), lastDay: Day0.AddDays(12)), O("T-2", firstDay: Day0.AddDays(11), lastDay: Day0.AddDays(12))]);

        Assert.Equal(Day0.AddDays(10), restored.ForgottenBefore);
        Assert.DoesNotContain(restored.Rows(), r => r.Day < restored.ForgottenBefore);
        Assert.Empty(restored.ChangedRows());
        Assert.False(restored.Add(Order("T-2", first: Day0.AddDays(11), last: Day0.AddDays(12))));
        Assert.Equal(0, restored.TooLate);
    }

    private static AttributedOrder Order(string tx, DateOnly first, DateOnly last)
    {
        var firstTouch = new Touch(Channels.Email, "s-" + tx + "-first", first.ToDateTime(new TimeOnly(9, 0), DateTimeKind.Utc));
        var lastTouch = new Touch(Channels.Direct, "s-" + tx + "-last", last.ToDateTime(new TimeOnly(9, 0), DateTimeKind.Utc));
        return new AttributedOrder(tx, "c", "e-" + tx, lastTouch.SessionStart.AddMinutes(5), 10m, lastTouch.SessionId, 2,
            (lastTouch.SessionStart - firstTouch.SessionStart).TotalDays, firstTouch, lastTouch, firstTouch);
    }
}
