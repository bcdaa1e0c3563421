namespace Puffy.Streaming.Contracts;

/// <summary>Event names of the contract (semantics §1). <c>purchase</c> is accepted as an alias and normalised.</summary>
public static class EventNames
{
    public const string PageViewed = "page_viewed";
    public const string EmailFilledOnPopup = "email_filled_on_popup";
    public const string ProductAddedToCart = "product_added_to_cart";
    public const string CheckoutStarted = "checkout_started";
    public const string CheckoutCompleted = "checkout_completed";
    public const string PurchaseAlias = "purchase";

    public static IReadOnlyList<string> All { get; } =
        [PageViewed, EmailFilledOnPopup, ProductAddedToCart, CheckoutStarted, CheckoutCompleted];
}

/// <summary>Dead-letter reason codes (semantics §2 and §3), in the order they are checked.</summary>
public static class DeadLetterReasons
{
    /// <summary>The row's text is longer than the row size limit (256 KiB by default); checked first.</summary>
    public const string OversizedRow = "oversized_row";
    public const string UnparseableRow = "unparseable_row";
    public const string MissingClientId = "missing_client_id";
    public const string InvalidTimestamp = "invalid_timestamp";
    public const string UnknownEventName = "unknown_event_name";
    public const string MalformedEventData = "malformed_event_data";
    public const string InvalidPurchase = "invalid_purchase";
    public const string BotUserAgent = "bot_user_agent";
    public const string DuplicateEvent = "duplicate_event";
    public const string DuplicateTransactionId = "duplicate_transaction_id";
    public const string LateEvent = "late_event";

    /// <summary>
    /// The reason header of a message a consumer could not decode, on its copy on the dead-letter topic (Kafka services
    /// only). Not an input row: the monitor stores such messages in <c>poison_messages</c>, never in the row accounting.
    /// </summary>
    public const string PoisonMessage = "poison_message";

    /// <summary>Every reason an input row can be dead-lettered for (semantics §2 and §3).</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        OversizedRow, UnparseableRow, MissingClientId, InvalidTimestamp, UnknownEventName, MalformedEventData,
        InvalidPurchase, BotUserAgent, DuplicateEvent, DuplicateTransactionId, LateEvent,
    ];

    public static Severity SeverityOf(string reason) => reason switch
    {
        MissingClientId or LateEvent => Severity.Warning,
        BotUserAgent or DuplicateEvent => Severity.Info,
        _ => Severity.Error,
    };
}

/// <summary>Why a message on the bus is poison (semantics §2): it is not an input row, so it is counted on its own.</summary>
public static class PoisonReasons
{
    /// <summary>The bytes are not a message of the contract: bad framing, an unknown schema id, an undecodable body.</summary>
    public const string Undecodable = "undecodable";

    /// <summary>A well-formed metric the monitor rejects: unknown name or producer, unknown file, a value out of range.</summary>
    public const string InvalidMetric = "invalid_metric";

    /// <summary>A well-formed message whose values no table can hold, or that contradicts the contract (e.g. an unknown reason code).</summary>
    public const string InvalidMessage = "invalid_message";

    public static IReadOnlyList<string> All { get; } = [Undecodable, InvalidMetric, InvalidMessage];
}

public enum Severity
{
    Info,
    Warning,
    Error,
    Critical,
}

/// <summary>Marketing channels (semantics §4).</summary>
public static class Channels
{
    public const string PaidSearch = "Paid Search";
    public const string PaidSocial = "Paid Social";
    public const string Affiliates = "Affiliates";
    public const string Sms = "SMS";
    public const string Email = "Email";
    public const string Display = "Display";
    public const string PaidOther = "Paid Other";
    public const string OrganicSocial = "Organic Social";
    public const string OrganicSearch = "Organic Search";
    public const string OtherCampaign = "Other Campaign";
    public const string Referral = "Referral";
    public const string Unattributed = "Unattributed";
    public const string Direct = "Direct";

    public static IReadOnlyList<string> All { get; } =
    [
        PaidSearch, PaidSocial, Affiliates, Sms, Email, Display, PaidOther,
        OrganicSocial, OrganicSearch, OtherCampaign, Referral, Unattributed, Direct,
    ];

    /// <summary>Channels that last-non-direct attribution skips.</summary>
    public static bool IsDirectLike(string channel) => channel is Direct or Unattributed;
}

/// <summary>Device classes (semantics §6).</summary>
public static class Devices
{
    public const string Desktop = "desktop";
    public const string Mobile = "mobile";
    public const string Tablet = "tablet";
}

/// <summary>Attribution models (semantics §5).</summary>
public static class AttributionModels
{
    public const string FirstClick = "first";
    public const string LastClick = "last";
    public const string LastNonDirect = "last_non_direct";

    public static IReadOnlyList<string> All { get; } = [FirstClick, LastClick, LastNonDirect];
}
