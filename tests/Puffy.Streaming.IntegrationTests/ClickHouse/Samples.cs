using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Marketing;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>Contract records with awkward values: milliseconds, cents, null vs empty strings.</summary>
internal static class Samples
{
    public static readonly DateTime T0 = new(2025, 3, 4, 10, 11, 12, 345, DateTimeKind.Utc);

    public static ValidEvent Event(int i, string? referrer = "https://www.google.com/", decimal? revenue = null, string? transactionId = null) => new(
        EventId: "ev-" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture),
        ClientId: "client-" + (i % 977).ToString(System.Globalization.CultureInfo.InvariantCulture),
        Timestamp: T0.AddMilliseconds(i * 1001L),
        EventName: transactionId is null ? EventNames.PageViewed : EventNames.CheckoutCompleted,
        PageUrl: "https://puffy.com/p?i=" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Referrer: referrer,
        UserAgent: "Mozilla/5.0 (iPhone)",
        Device: Devices.Mobile,
        EventData: transactionId is null ? null : $$"""{"transaction_id":"{{transactionId}}","revenue":{{revenue}}}""",
        TransactionId: transactionId,
        Revenue: revenue,
        SourceFile: "events_20250304.csv",
        Line: i + 2,
        StreamTime: T0.AddMilliseconds(i * 1001L + 7),
        LandingChannel: i % 2 == 0 ? Channels.OrganicSearch : null);

    public static SessionizedEvent Sessionized(ValidEvent e, bool start = true) =>
        new(e, "sess-" + e.ClientId, e.Timestamp.AddSeconds(-3).AddMilliseconds(-2), start, Channels.OrganicSearch);

    public static DeadLetter FileDeadLetter(int line) => new(
        DeadLetterReasons.MissingClientId, Severity.Warning, "client_id is empty", "events_20250304.csv", line,
        new DateOnly(2025, 3, 4), "2025-03-04T10:00:00Z,,page_viewed");

    public static DeadLetter Poison(long offset) => new(
        DeadLetterReasons.PoisonMessage, Severity.Error, "not Avro", string.Empty, 0, null, "\u0001\u0002garbage",
        SourceTopic: "puffy.raw-events.v1", SourcePartition: 3, SourceOffset: offset);

    public static PoisonMessageRow PoisonRow(long offset) => PoisonMessageRow.Of(
        "puffy.metrics.v1", 1, offset, PoisonReasons.InvalidMetric, "file.rows = -5: must be a whole number", "monitor",
        "ingestor"u8.ToArray(), [0, 0, 0, 0, 7, 1, 2], new DateTime(2026, 11, 29, 21, 0, 0, DateTimeKind.Utc));

    public static Session Session(int i) => new(
        SessionId: "sess-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ClientId: "client-1",
        Start: T0,
        End: T0.AddMinutes(12).AddMilliseconds(654),
        EventCount: 7,
        PageViews: 4,
        EmailsFilled: 1,
        AddsToCart: 1,
        CheckoutsStarted: 1,
        Purchases: 2,
        LandingPage: "https://puffy.com/?utm_source=google",
        LandingReferrer: i % 2 == 0 ? null : string.Empty,
        Channel: Channels.PaidSearch,
        Device: Devices.Desktop,
        IsConverted: true,
        Orders: 2,
        Revenue: 1234.56m,
        TransactionIds: ["tx-1", "tx-2"]);

    public static AttributedOrder Order(int i, decimal revenue = 999.99m) => new(
        TransactionId: "tx-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ClientId: "client-1",
        EventId: "ev-order-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        PurchaseTime: T0.AddDays(2),
        Revenue: revenue,
        SessionId: "sess-3",
        Touchpoints: 3,
        DaysFromFirstTouch: 2.5,
        FirstClick: new Touch(Channels.PaidSocial, "sess-1", T0.AddMilliseconds(1)),
        LastClick: new Touch(Channels.Direct, "sess-3", T0.AddDays(2).AddMinutes(-5)),
        LastNonDirect: new Touch(Channels.Email, "sess-2", T0.AddDays(1).AddMilliseconds(999)));

    public static MarketingDailyRow Marketing(string channel = Channels.PaidSearch, long sessions = 40, decimal revenue = 1000.10m) =>
        new(new DateOnly(2025, 3, 4), AttributionModels.LastNonDirect, channel, sessions, 5, 3, revenue);

    public static Alert Alert(DateOnly? day = null) =>
        new(day, "dead_letter_rate", Severity.Critical, 0.125, 0.05, "12.5% of rows dead-lettered");

    public static FileStatsRow FileStats(string file = "events_20250304.csv") => new(
        file, new DateOnly(2025, 3, 4), 1000, "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent", 990,
        new Dictionary<string, long>(StringComparer.Ordinal) { [DeadLetterReasons.MissingClientId] = 6, [DeadLetterReasons.BotUserAgent] = 4 },
        null);
}
