using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Semantics §2 (row-local reason codes and their order) and §6 (bots, device).</summary>
public sealed class RowChecksUnitTests
{
    private const string BotUa = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    private static readonly Row Good = Fx.View("client-a", Fx.Day.AddHours(10));

    private static string? ReasonOf(Row row, string file = Fx.FileName) => RowChecks.Check(row.ToRaw(file)).Reason;

    [Fact]
    public void Check_WellFormedPageView_IsValid()
    {
        var verdict = RowChecks.Check(Good.ToRaw());

        Assert.False(verdict.IsRejected);
        Assert.NotNull(verdict.Event);
        Assert.Equal(Fx.Day.AddHours(10), verdict.Event.Timestamp);
        Assert.Equal(DateTimeKind.Utc, verdict.Event.Timestamp.Kind);
    }

    [Theory]
    [InlineData(EventNames.PageViewed)]
    [InlineData(EventNames.EmailFilledOnPopup)]
    [InlineData(EventNames.ProductAddedToCart)]
    [InlineData(EventNames.CheckoutStarted)]
    public void Check_ContractEventName_IsValid(string name) =>
        Assert.Null(ReasonOf(Good with { EventName = name }));

    [Fact]
    public void Check_ParseErrorFromIngest_IsUnparseableRow()
    {
        var raw = Good.ToRaw() with { ParseError = "expected 7 fields, found 5" };

        Assert.Equal(DeadLetterReasons.UnparseableRow, RowChecks.Check(raw).Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    public void Check_EmptyOrWhitespaceClientId_IsMissingClientId(string clientId) =>
        Assert.Equal(DeadLetterReasons.MissingClientId, ReasonOf(Good with { ClientId = clientId }));

    [Theory]
    [InlineData("")]
    [InlineData("not a time")]
    [InlineData("2025-03-01 10:00:00")]
    [InlineData("2025-13-01T10:00:00.000Z")]
    [InlineData("2025-02-29T10:00:00.000Z")]
    [InlineData("2025-03-01T24:00:00.000Z")]
    [InlineData("1740823200")]
    public void Check_UnparseableTimestamp_IsInvalidTimestamp(string timestamp) =>
        Assert.Equal(DeadLetterReasons.InvalidTimestamp, ReasonOf(Good with { Timestamp = timestamp }));

    // The file's day is 2025-03-01: it starts 2025-03-01T00:00Z and ends 2025-03-02T00:00Z.
    [Theory]
    [InlineData("2025-02-28T00:00:00.000Z")] // exactly 24 h before the day starts
    [InlineData("2025-03-03T00:00:00.000Z")] // exactly 24 h after the day ends
    [InlineData("2025-03-01T00:00:00.000Z")]
    [InlineData("2025-03-01T23:59:59.999Z")]
    [InlineData("2025-03-02T12:00:00.000Z")]
    public void Check_TimestampWithin24HoursOfFileDay_IsValid(string timestamp) =>
        Assert.Null(ReasonOf(Good with { Timestamp = timestamp }));

    [Theory]
    [InlineData("2025-02-27T23:59:59.999Z")] // 1 ms more than 24 h before the day starts
    [InlineData("2025-03-03T00:00:00.001Z")] // 1 ms more than 24 h after the day ends
    [InlineData("2025-01-15T10:00:00.000Z")]
    public void Check_TimestampBeyond24HoursOfFileDay_IsInvalidTimestamp(string timestamp) =>
        Assert.Equal(DeadLetterReasons.InvalidTimestamp, ReasonOf(Good with { Timestamp = timestamp }));

    [Theory]
    [InlineData("events.csv")]
    [InlineData("export.csv")]
    public void Check_FileWithoutDayInName_HasNoWindowCheck(string file) =>
        Assert.Null(ReasonOf(Good with { Timestamp = "2020-06-15T10:00:00.000Z" }, file));

    [Fact]
    public void Check_TimestampWithoutMilliseconds_IsParsedAsUtc()
    {
        var verdict = RowChecks.Check((Good with { Timestamp = "2025-03-01T10:00:00Z" }).ToRaw());

        Assert.Null(verdict.Reason);
        Assert.Equal(Fx.Day.AddHours(10), verdict.Event!.Timestamp);
    }

    [Theory]
    [InlineData("")]
    [InlineData("page_view")]
    [InlineData("add_to_cart")]
    [InlineData("order_completed")]
    public void Check_NameOutsideContract_IsUnknownEventName(string name) =>
        Assert.Equal(DeadLetterReasons.UnknownEventName, ReasonOf(Good with { EventName = name }));

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("{broken")]
    [InlineData("not json")]
    public void Check_EventDataNotAJsonObject_IsMalformedEventData(string data) =>
        Assert.Equal(DeadLetterReasons.MalformedEventData, ReasonOf(Good with { EventData = data }));

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"popup\":\"newsletter\"}")]
    public void Check_EventDataEmptyOrObject_IsValid(string data) =>
        Assert.Null(ReasonOf(Good with { EventData = data }));

    [Fact]
    public void Check_PurchaseAlias_IsAcceptedAsPurchase()
    {
        var row = Fx.Buy("client-a", Fx.Day.AddHours(10), "T-1", 120m) with { EventName = EventNames.PurchaseAlias };

        var verdict = RowChecks.Check(row.ToRaw());

        Assert.Null(verdict.Reason);
        Assert.Equal(EventNames.CheckoutCompleted, verdict.Event!.EventName);
        Assert.True(verdict.Event.IsPurchase);
        Assert.Equal("T-1", verdict.Event.TransactionId);
        Assert.Equal(120m, verdict.Event.Revenue);
    }

    [Fact]
    public void Check_PurchaseWithZeroRevenue_IsValid()
    {
        var verdict = RowChecks.Check(Fx.Buy("client-a", Fx.Day.AddHours(10), "T-0", 0m).ToRaw());

        Assert.Null(verdict.Reason);
        Assert.Equal(0m, verdict.Event!.Revenue);
        Assert.Equal("T-0", verdict.Event.TransactionId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"revenue\":10}")]
    [InlineData("{\"transaction_id\":\"\",\"revenue\":10}")]
    [InlineData("{\"transaction_id\":null,\"revenue\":10}")]
    [InlineData("{\"transaction_id\":\"T-1\"}")]
    [InlineData("{\"transaction_id\":\"T-1\",\"revenue\":null}")]
    [InlineData("{\"transaction_id\":\"T-1\",\"revenue\":\"abc\"}")]
    [InlineData("{\"transaction_id\":\"T-1\",\"revenue\":true}")]
    [InlineData("{\"transaction_id\":\"T-1\",\"revenue\":-0.01}")]
    [InlineData("{\"transaction_id\":\"T-1\",\"revenue\":-100}")]
    public void Check_PurchaseWithoutTransactionIdOrUsableRevenue_IsInvalidPurchase(string data)
    {
        var row = Fx.Buy("client-a", Fx.Day.AddHours(10), "T-1", 1m) with { EventData = data };

        Assert.Equal(DeadLetterReasons.InvalidPurchase, ReasonOf(row));
    }

    [Fact]
    public void Check_PurchaseAliasWithoutTransactionId_IsInvalidPurchase()
    {
        var row = Good with { EventName = EventNames.PurchaseAlias, EventData = "{\"revenue\":10}" };

        Assert.Equal(DeadLetterReasons.InvalidPurchase, ReasonOf(row));
    }

    [Fact]
    public void Check_NonPurchaseWithoutTransactionId_IsValid() =>
        Assert.Null(ReasonOf(Good with { EventName = EventNames.CheckoutStarted, EventData = "{\"items\":[]}" }));

    [Theory]
    [InlineData(BotUa)]
    [InlineData("Mozilla/5.0 (compatible; BOT)")]
    [InlineData("Mozilla/5.0 (compatible; bingbot/2.0)")]
    [InlineData("SomeCrawler/1.0")]
    [InlineData("Baiduspider")]
    [InlineData("Mozilla/5.0 (compatible; Yahoo! Slurp)")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36")]
    [InlineData("Mozilla/5.0 (compatible; AhrefsBot/7.0)")]
    [InlineData("Mozilla/5.0 (compatible; SemrushBot/7~bl)")]
    [InlineData("python-requests/2.31.0")]
    [InlineData("Python-Requests/2.31.0")]
    [InlineData("curl/8.4.0")]
    [InlineData("CURL/8.4.0")]
    [InlineData("Wget/1.21.4")]
    public void Check_UserAgentWithBotMarker_IsBotUserAgent(string userAgent) =>
        Assert.Equal(DeadLetterReasons.BotUserAgent, ReasonOf(Good with { UserAgent = userAgent }));

    [Theory]
    [InlineData(Fx.DesktopUa)]
    [InlineData(Fx.IPhoneUa)]
    [InlineData("Mozilla/5.0 curly-client")]
    [InlineData("")]
    public void Check_UserAgentWithoutBotMarker_IsValid(string userAgent) =>
        Assert.Null(ReasonOf(Good with { UserAgent = userAgent }));

    // Precedence: a row failing two checks gets the reason listed first in §2.
    private static readonly Row Purchase = Fx.Buy("client-a", Fx.Day.AddHours(10), "T-1", 10m);

    private static readonly Dictionary<string, (Row Row, string Expected)> TwoFailures = new(StringComparer.Ordinal)
    {
        ["missing client + bad timestamp"] = (Good with { ClientId = "", Timestamp = "garbage" }, DeadLetterReasons.MissingClientId),
        ["missing client + bot"] = (Good with { ClientId = " ", UserAgent = BotUa }, DeadLetterReasons.MissingClientId),
        ["bad timestamp + unknown name"] = (Good with { Timestamp = "garbage", EventName = "nope" }, DeadLetterReasons.InvalidTimestamp),
        ["out of window + unknown name"] = (Good with { Timestamp = "2025-01-01T00:00:00.000Z", EventName = "nope" }, DeadLetterReasons.InvalidTimestamp),
        ["unknown name + malformed data"] = (Good with { EventName = "nope", EventData = "[1]" }, DeadLetterReasons.UnknownEventName),
        ["malformed purchase data + bot"] = (Purchase with { EventData = "[1]", UserAgent = BotUa }, DeadLetterReasons.MalformedEventData),
        ["invalid purchase + bot"] = (Purchase with { EventData = "{\"transaction_id\":\"T-1\",\"revenue\":-5}", UserAgent = BotUa }, DeadLetterReasons.InvalidPurchase),
        ["malformed data + bot"] = (Good with { EventData = "{x", UserAgent = BotUa }, DeadLetterReasons.MalformedEventData),
    };

    public static TheoryData<string> TwoFailureCases() => new(TwoFailures.Keys);

    [Theory]
    [MemberData(nameof(TwoFailureCases))]
    public void Check_RowFailingTwoChecks_GetsEarlierReason(string failures)
    {
        var (row, expected) = TwoFailures[failures];

        Assert.Equal(expected, ReasonOf(row));
    }

    [Fact]
    public void Check_ParseErrorAndEmptyClientId_IsUnparseableRow()
    {
        var raw = (Good with { ClientId = "" }).ToRaw() with { ParseError = "broken quoting" };

        Assert.Equal(DeadLetterReasons.UnparseableRow, RowChecks.Check(raw).Reason);
    }

    [Theory]
    [InlineData(DeadLetterReasons.UnparseableRow, Severity.Error)]
    [InlineData(DeadLetterReasons.MissingClientId, Severity.Warning)]
    [InlineData(DeadLetterReasons.InvalidTimestamp, Severity.Error)]
    [InlineData(DeadLetterReasons.UnknownEventName, Severity.Error)]
    [InlineData(DeadLetterReasons.MalformedEventData, Severity.Error)]
    [InlineData(DeadLetterReasons.InvalidPurchase, Severity.Error)]
    [InlineData(DeadLetterReasons.BotUserAgent, Severity.Info)]
    [InlineData(DeadLetterReasons.DuplicateEvent, Severity.Info)]
    [InlineData(DeadLetterReasons.DuplicateTransactionId, Severity.Error)]
    [InlineData(DeadLetterReasons.LateEvent, Severity.Warning)]
    public void SeverityOf_ReasonCode_MatchesSpecTable(string reason, Severity expected) =>
        Assert.Equal(expected, DeadLetterReasons.SeverityOf(reason));

    [Fact]
    public void Check_SameRowFromOtherFileAndLine_GetsSameEventId()
    {
        var a = RowChecks.Check(Good.ToRaw("events_20250301.csv", line: 2));
        var b = RowChecks.Check(Good.ToRaw("replay_20250301.csv", line: 977));

        Assert.Equal(a.Event!.EventId, b.Event!.EventId);
    }

    private static readonly Dictionary<string, Row> ContentChanges = new(StringComparer.Ordinal)
    {
        ["client id"] = Good with { ClientId = "client-b" },
        ["timestamp"] = Good with { Timestamp = Fx.Iso(Fx.Day.AddHours(10).AddMilliseconds(1)) },
        ["event name"] = Good with { EventName = EventNames.CheckoutStarted },
        ["page url"] = Good with { PageUrl = "https://puffy.com/other" },
        ["referrer"] = Good with { Referrer = "https://www.google.com/" },
        ["event data"] = Good with { EventData = "{}" },
        ["user agent"] = Good with { UserAgent = Fx.IPhoneUa },
    };

    public static TheoryData<string> ContentFields() => new(ContentChanges.Keys);

    [Theory]
    [MemberData(nameof(ContentFields))]
    public void Check_RowDifferingInOneContentField_GetsDifferentEventId(string field)
    {
        var a = RowChecks.Check(Good.ToRaw()).Event!.EventId;
        var b = RowChecks.Check(ContentChanges[field].ToRaw()).Event!.EventId;

        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", Devices.Tablet)]
    [InlineData("Mozilla/5.0 (Linux; Android 13; SM-X200 Tablet) AppleWebKit/537.36", Devices.Tablet)]
    [InlineData(Fx.IPhoneUa, Devices.Mobile)]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/133.0 Mobile Safari/537.36", Devices.Mobile)]
    [InlineData("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36", Devices.Mobile)]
    [InlineData("Opera/9.80 (J2ME/MIDP; Opera Mini) Mobi", Devices.Mobile)]
    [InlineData(Fx.DesktopUa, Devices.Desktop)]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15", Devices.Desktop)]
    [InlineData("", Devices.Desktop)]
    public void Device_UserAgent_FollowsTabletThenMobileThenDesktop(string userAgent, string expected)
    {
        Assert.Equal(expected, UserAgents.Device(userAgent));
        Assert.Equal(expected, Fx.Valid(Good with { UserAgent = userAgent }).Device);
    }
}
