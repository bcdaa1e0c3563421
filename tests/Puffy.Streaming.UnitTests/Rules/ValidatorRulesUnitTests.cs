using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §2 (duplicate_event, duplicate_transaction_id) and §3 (lateness), through ingest + validation.</summary>
public sealed class ValidatorRulesUnitTests
{
    private static readonly DateTime T10 = Fx.Day.AddHours(10);

    private static void AssertBalanced(ValidatorHarness h) => Assert.Equal(h.Raw.Count, h.Valid.Count + h.DeadLetters.Count);

    [Fact]
    public void Accept_ExactDuplicateRow_SecondIsDuplicateEvent()
    {
        var row = Fx.View("client-a", T10);
        var h = new ValidatorHarness().Feed(Fx.FileName, [row, Fx.View("client-b", T10.AddMinutes(1)), row]).Flush();

        Assert.Equal(2, h.Valid.Count);
        var dead = Assert.Single(h.DeadLetters);
        Assert.Equal(DeadLetterReasons.DuplicateEvent, dead.Reason);
        Assert.Equal("client-a", dead.ClientId);
        Assert.Equal(4, dead.Line);
        AssertBalanced(h);
    }

    [Fact]
    public void Accept_ReplayedFileUnderOtherName_EveryRowIsDuplicateEvent()
    {
        Row[] rows = [Fx.View("client-a", T10), Fx.View("client-b", T10.AddHours(1)), Fx.View("client-c", T10.AddHours(2))];

        var h = new ValidatorHarness().Feed(Fx.FileName, rows).Feed("events_20250301_replay.csv", rows).Flush();

        Assert.Equal(3, h.Valid.Count);
        Assert.All(h.Valid, v => Assert.Equal(Fx.FileName, v.SourceFile));
        Assert.Equal(3, h.DeadLetters.Count);
        Assert.All(h.DeadLetters, d => Assert.Equal(DeadLetterReasons.DuplicateEvent, d.Reason));
        AssertBalanced(h);
    }

    [Fact]
    public void Accept_ExactDuplicatePurchaseRow_IsDuplicateEventNotDuplicateTransaction()
    {
        var buy = Fx.Buy("client-a", T10, "T-1", 50m);

        var h = new ValidatorHarness().Feed(Fx.FileName, [buy, buy]).Flush();

        Assert.Single(h.Valid);
        Assert.Equal(DeadLetterReasons.DuplicateEvent, Assert.Single(h.DeadLetters).Reason);
    }

    [Fact]
    public void Accept_SameTransactionIdLater_LaterPurchaseIsDuplicateTransactionId()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.Buy("first", T10, "T-1", 100m), Fx.Buy("second", T10.AddMinutes(30), "T-1", 70m)])
            .Flush();

        var kept = Assert.Single(h.Valid);
        Assert.Equal("first", kept.ClientId);
        var dead = Assert.Single(h.DeadLetters);
        Assert.Equal(DeadLetterReasons.DuplicateTransactionId, dead.Reason);
        Assert.Equal("second", dead.ClientId);
    }

    [Fact]
    public void Accept_LaterInTimePurchaseArrivesFirstWithinLateness_EarlierInTimeWins()
    {
        // Read order: the 10:10 purchase, then the 10:05 one (5 minutes behind stream time, so not late).
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.Buy("later-in-time", T10.AddMinutes(10), "T-1", 100m), Fx.Buy("earlier-in-time", T10.AddMinutes(5), "T-1", 80m)])
            .Flush();

        var kept = Assert.Single(h.Valid);
        Assert.Equal("earlier-in-time", kept.ClientId);
        Assert.Equal(80m, kept.Revenue);
        var dead = Assert.Single(h.DeadLetters);
        Assert.Equal(DeadLetterReasons.DuplicateTransactionId, dead.Reason);
        Assert.Equal("later-in-time", dead.ClientId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Accept_SameTransactionIdAtSameTime_SmallerEventIdWinsInEitherArrivalOrder(bool reversed)
    {
        Row[] rows = [Fx.Buy("client-x", T10, "T-1", 10m), Fx.Buy("client-y", T10, "T-1", 20m)];
        var ids = rows.ToDictionary(r => r.ClientId!, r => Fx.Valid(r).EventId);
        var winner = ids.MinBy(kv => kv.Value, StringComparer.Ordinal).Key;
        var loser = ids.MaxBy(kv => kv.Value, StringComparer.Ordinal).Key;

        var h = new ValidatorHarness().Feed(Fx.FileName, reversed ? rows.Reverse() : rows).Flush();

        Assert.Equal(winner, Assert.Single(h.Valid).ClientId);
        var dead = Assert.Single(h.DeadLetters);
        Assert.Equal(DeadLetterReasons.DuplicateTransactionId, dead.Reason);
        Assert.Equal(loser, dead.ClientId);
        Assert.True(string.CompareOrdinal(h.Valid[0].EventId, dead.EventId) < 0);
    }

    [Fact]
    public void Accept_SameTransactionIdInLaterFile_IsDuplicateTransactionId()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.Buy("client-a", T10, "T-7", 100m)])
            .Feed("events_20250303.csv", [Fx.Buy("client-b", T10.AddDays(2), "T-7", 100m)])
            .Flush();

        Assert.Equal("client-a", Assert.Single(h.Valid).ClientId);
        Assert.Equal([DeadLetterReasons.DuplicateTransactionId], h.ReasonsFor("client-b"));
    }

    [Fact]
    public void Accept_DistinctTransactionIds_AreAllOrders()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.Buy("client-a", T10, "T-1", 1m), Fx.Buy("client-a", T10.AddMinutes(1), "T-2", 2m)])
            .Flush();

        Assert.Equal(2, h.Valid.Count);
        Assert.Empty(h.DeadLetters);
    }

    [Fact]
    public void Accept_EventExactlyAllowedLatenessBehind_IsAccepted()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.View("stream", T10.AddMinutes(30)), Fx.View("on-time", T10.AddMinutes(15))])
            .Flush();

        Assert.Equal(2, h.Valid.Count);
        Assert.Empty(h.DeadLetters);
    }

    [Fact]
    public void Accept_EventOneMillisecondBeyondAllowedLateness_IsLateEventNotDropped()
    {
        var late = T10.AddMinutes(15).AddMilliseconds(-1);
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.View("stream", T10.AddMinutes(30)), Fx.View("late", late)])
            .Flush();

        Assert.Equal("stream", Assert.Single(h.Valid).ClientId);
        var dead = Assert.Single(h.DeadLetters);
        Assert.Equal(DeadLetterReasons.LateEvent, dead.Reason);
        Assert.Equal(Severity.Warning, dead.Severity);
        Assert.Equal("late", dead.ClientId);
        Assert.Equal(late, dead.Timestamp);
        AssertBalanced(h);
    }

    [Fact]
    public void Accept_StreamTimeSetInEarlierFile_AppliesToNextFile()
    {
        var h = new ValidatorHarness()
            .Feed("events_20250301.csv", [Fx.View("stream", Fx.Day.AddHours(23).AddMinutes(50))])
            .Feed("events_20250302.csv", [Fx.View("late", Fx.Day.AddHours(23).AddMinutes(30)), Fx.View("next", Fx.Day.AddHours(24))])
            .Flush();

        Assert.Equal([DeadLetterReasons.LateEvent], h.ReasonsFor("late"));
        Assert.Equal(2, h.Valid.Count);
    }

    [Theory]
    [InlineData(5, 4, false)]
    [InlineData(5, 6, true)]
    [InlineData(60, 30, false)]
    [InlineData(60, 61, true)]
    public void Accept_CustomAllowedLateness_DecidesLateness(int latenessMinutes, int behindMinutes, bool late)
    {
        var h = new ValidatorHarness(TimeSpan.FromMinutes(latenessMinutes))
            .Feed(Fx.FileName, [Fx.View("stream", T10.AddHours(2)), Fx.View("probe", T10.AddHours(2).AddMinutes(-behindMinutes))])
            .Flush();

        Assert.Equal(late ? [DeadLetterReasons.LateEvent] : [], h.ReasonsFor("probe"));
        Assert.Equal(late ? 1 : 2, h.Valid.Count);
    }

    [Fact]
    public void Accept_LateExactDuplicate_IsDuplicateEventBecauseLatenessIsCheckedLast()
    {
        var early = Fx.View("client-a", T10);
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [early, Fx.View("stream", T10.AddHours(1)), early])
            .Flush();

        Assert.Equal([DeadLetterReasons.DuplicateEvent], h.ReasonsFor("client-a"));
    }

    [Fact]
    public void Accept_LatePurchaseReusingAcceptedTransactionId_IsDuplicateTransactionId()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.Buy("first", T10, "T-1", 10m), Fx.View("stream", T10.AddHours(1)), Fx.Buy("second", T10.AddMinutes(1), "T-1", 10m)])
            .Flush();

        Assert.Equal([DeadLetterReasons.DuplicateTransactionId], h.ReasonsFor("second"));
    }

    [Fact]
    public void Accept_LateRowWithBotUserAgent_IsBotUserAgent()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.View("stream", T10.AddHours(1)), Fx.View("bot", T10) with { UserAgent = "Googlebot/2.1" }])
            .Flush();

        Assert.Equal([DeadLetterReasons.BotUserAgent], h.ReasonsFor("bot"));
    }

    [Fact]
    public void Accept_LateRowWithoutClientId_IsMissingClientId()
    {
        var h = new ValidatorHarness()
            .Feed(Fx.FileName, [Fx.View("stream", T10.AddHours(1)), Fx.View("", T10)])
            .Flush();

        Assert.Equal(DeadLetterReasons.MissingClientId, Assert.Single(h.DeadLetters).Reason);
    }

    [Fact]
    public void Accept_MixOfEveryReason_EachRowEndsInExactlyOnePlace()
    {
        var buy = Fx.Buy("buyer", T10, "T-1", 10m);
        Row[] rows =
        [
            Fx.View("ok", T10), Fx.View("", T10), Fx.View("bad-ts", T10) with { Timestamp = "yesterday" },
            Fx.View("bad-name", T10) with { EventName = "clicked" }, Fx.View("bad-data", T10) with { EventData = "[" },
            buy with { ClientId = "bad-buy", EventData = "{\"revenue\":1}" }, Fx.View("bot", T10) with { UserAgent = "curl/8.0" },
            buy, buy, buy with { ClientId = "dup-tx", Timestamp = Fx.Iso(T10.AddMinutes(1)) },
            Fx.View("stream", T10.AddHours(1)), Fx.View("late", T10.AddMinutes(2)),
        ];

        var h = new ValidatorHarness().Feed(Fx.FileName, rows).Flush();

        AssertBalanced(h);
        Assert.Equal(12, h.Raw.Count);
        Assert.Equal(3, h.Valid.Count);
        Assert.Equal(
            [
                DeadLetterReasons.BotUserAgent, DeadLetterReasons.DuplicateEvent, DeadLetterReasons.DuplicateTransactionId,
                DeadLetterReasons.InvalidPurchase, DeadLetterReasons.InvalidTimestamp, DeadLetterReasons.LateEvent,
                DeadLetterReasons.MalformedEventData, DeadLetterReasons.MissingClientId, DeadLetterReasons.UnknownEventName,
            ],
            h.DeadLetters.Select(d => d.Reason).Order(StringComparer.Ordinal));
    }
}
