namespace Puffy.Streaming.Contracts;

// Messages exchanged by the five services. Each is keyed on its topic as documented in Topics.
// Times are UTC DateTime values with millisecond precision. Evolution rule: only add fields that
// have a default; never rename, retype or remove one (bump the topic version instead).

/// <summary>One CSV row as read by the ingestor (topic <see cref="Topics.RawEvents"/>).</summary>
/// <param name="SourceFile">File name (no directory) the row came from.</param>
/// <param name="Line">1-based line number where the row starts (the header is line 1).</param>
/// <param name="FileDay">The day in the file name (<c>YYYYMMDD</c>), if it has one.</param>
/// <param name="OriginalRow">The row's text exactly as read, for dead letters.</param>
/// <param name="ParseError">Set when the row could not be split into the header's fields.</param>
/// <param name="Referrer">Null when the file has no referrer column (UNKNOWN), which differs from empty.</param>
/// <param name="StreamTime">Largest valid event time read so far in replay order, this row included.</param>
/// <param name="OversizedBytes">Set when the row's text was longer than the row size limit: its size in UTF-8 bytes.
/// <paramref name="OriginalRow"/> then holds only its beginning and no field is set.</param>
public sealed record RawEvent(
    string SourceFile,
    long Line,
    DateOnly? FileDay,
    string OriginalRow,
    string? ParseError,
    string? ClientId,
    string? PageUrl,
    string? Referrer,
    string? Timestamp,
    string? EventName,
    string? EventData,
    string? UserAgent,
    DateTime StreamTime,
    long? OversizedBytes = null)
{
    public const int SchemaVersion = 1;

    /// <summary>
    /// A row whose text, timestamp and page url stay in the file's bytes (valid UTF-8: <paramref name="originalRowUtf8"/>,
    /// and <paramref name="timestampUtf8"/> and <paramref name="pageUrlUtf8"/> within it) until something asks for
    /// <see cref="OriginalRow"/>, <see cref="Timestamp"/> or <see cref="PageUrl"/>: most rows are never dead-lettered, so
    /// their text need not become a string, and the row checks read the timestamp's and page url's bytes
    /// (<see cref="TryGetTimestampUtf8"/>, <see cref="TryGetPageUrlUtf8"/>). Only for a reader that keeps those bytes
    /// unchanged until the row is decided (the embedded pipeline does, per file).
    /// </summary>
    /// <param name="pageUrlUtf8">Null when the file has no page url column.</param>
    /// <remarks>A factory, not a second constructor: serializers (the validator's stored state is JSON) take the one constructor.</remarks>
    public static RawEvent FromUtf8(string sourceFile, long line, DateOnly? fileDay, ReadOnlyMemory<byte> originalRowUtf8, string? clientId,
        ReadOnlyMemory<byte>? pageUrlUtf8, string? referrer, ReadOnlyMemory<byte> timestampUtf8, string? eventName, string? eventData,
        string? userAgent, DateTime streamTime) =>
        new(sourceFile, line, fileDay, null!, null, clientId, null, referrer, null, eventName, eventData, userAgent, streamTime)
        {
            _row = new Utf8Text(originalRowUtf8),
            _timestamp = new Utf8Text(timestampUtf8),
            _pageUrl = new Utf8Text(pageUrlUtf8, null),
        };

    private Utf8Text _row = new(OriginalRow);
    private Utf8Text _timestamp = new(Timestamp);
    private Utf8Text _pageUrl = new(PageUrl);

    /// <summary>The page url's text as read (decoded on first use when the row was made from its bytes).</summary>
    public string? PageUrl
    {
        get => _pageUrl.Text;
        init => _pageUrl = new Utf8Text(value);
    }

    /// <summary>The page url's UTF-8 bytes when the row was made from its bytes (<see cref="FromUtf8"/>) and has the column.</summary>
    public bool TryGetPageUrlUtf8(out ReadOnlySpan<byte> utf8) => _pageUrl.TryGetUtf8(out utf8);

    /// <summary>The row's text exactly as read (decoded on first use when the row was made from its bytes).</summary>
    public string OriginalRow
    {
        get => _row.Text!;
        init => _row = new Utf8Text(value);
    }

    /// <summary>The timestamp's text as read (decoded on first use when the row was made from its bytes).</summary>
    public string? Timestamp
    {
        get => _timestamp.Text;
        init => _timestamp = new Utf8Text(value);
    }

    /// <summary>The timestamp's UTF-8 bytes when the row was made from its bytes (<see cref="FromUtf8"/>), to read without a string.</summary>
    public bool TryGetTimestampUtf8(out ReadOnlySpan<byte> utf8) => _timestamp.TryGetUtf8(out utf8);

    /// <summary>The row's UTF-8 bytes when it was made from them (<see cref="FromUtf8"/>), to copy or write without a string.</summary>
    public bool TryGetOriginalRowUtf8(out ReadOnlySpan<byte> utf8) => _row.TryGetUtf8(out utf8);
}

/// <summary>An event that passed every check of semantics §2 (topic <see cref="Topics.ValidEvents"/>).</summary>
/// <param name="LandingChannel">The channel (semantics §4) this event gives a session it starts; computed once by the
/// validator, so the sessionizer need not. Null when not computed.</param>
public sealed record ValidEvent(
    string EventId,
    string ClientId,
    DateTime Timestamp,
    string EventName,
    string? PageUrl,
    string? Referrer,
    string? UserAgent,
    string Device,
    string? EventData,
    string? TransactionId,
    decimal? Revenue,
    string SourceFile,
    long Line,
    DateTime StreamTime,
    string? LandingChannel = null)
{
    public const int SchemaVersion = 1;

    /// <summary>
    /// An event whose id is kept as its number (<see cref="HexId"/>, no prefix) until something asks for
    /// <see cref="EventId"/>: the pipeline compares, hashes and writes most ids without their text.
    /// </summary>
    /// <remarks>A factory, not a second constructor: serializers take the one constructor.</remarks>
    /// <param name="pageUrlUtf8">When set, the page url as UTF-8 bytes the event then owns (<paramref name="pageUrl"/> is
    /// ignored): its text is made only when asked for.</param>
    public static ValidEvent WithIdNumber(UInt128 eventId, string clientId, DateTime timestamp, string eventName, string? pageUrl,
        string? referrer, string? userAgent, string device, string? eventData, string? transactionId, decimal? revenue,
        string sourceFile, long line, DateTime streamTime, string? landingChannel, ReadOnlyMemory<byte>? pageUrlUtf8 = null) =>
        new(null!, clientId, timestamp, eventName, null, referrer, userAgent, device, eventData, transactionId, revenue,
            sourceFile, line, streamTime, landingChannel)
        {
            _id = new NumberedText(string.Empty, eventId),
            _pageUrl = new Utf8Text(pageUrlUtf8, pageUrl),
        };

    private NumberedText _id = new(EventId);
    private Utf8Text _pageUrl = new(PageUrl);

    /// <summary>The page url's text (decoded on first use when the event was made from its bytes).</summary>
    public string? PageUrl
    {
        get => _pageUrl.Text;
        init => _pageUrl = new Utf8Text(value);
    }

    /// <summary>The page url's UTF-8 bytes when the event was made from them (<see cref="WithIdNumber"/>).</summary>
    public bool TryGetPageUrlUtf8(out ReadOnlyMemory<byte> utf8) => _pageUrl.TryGetUtf8(out utf8);

    /// <summary>The event id's text (made on first use when the event was made from the number).</summary>
    public string EventId
    {
        get => _id.Text;
        init => _id = new NumberedText(value);
    }

    /// <summary>The event id's number when the event was made from it (<see cref="WithIdNumber"/>), to use without its text.</summary>
    public bool TryGetIdNumber(out UInt128 eventId) => _id.TryGetNumber(out eventId);

    public bool IsPurchase => TransactionId is not null;
}

/// <summary>A valid event with the session it belongs to (topic <see cref="Topics.SessionizedEvents"/>).</summary>
/// <param name="IsSessionStart">True for the session's first event (the landing).</param>
/// <param name="SessionChannel">Channel of the session, from its landing event.</param>
public sealed record SessionizedEvent(
    ValidEvent Event,
    string SessionId,
    DateTime SessionStart,
    bool IsSessionStart,
    string SessionChannel)
{
    public const int SchemaVersion = 1;

    /// <summary>An event whose session id is kept as its number (<see cref="Session.IdPrefix"/> and <see cref="HexId"/>) until something asks for <see cref="SessionId"/>.</summary>
    public static SessionizedEvent WithSessionNumber(ValidEvent ev, UInt128 sessionId, DateTime sessionStart, bool isSessionStart, string sessionChannel) =>
        new(ev, null!, sessionStart, isSessionStart, sessionChannel) { _sessionId = new NumberedText(Session.IdPrefix, sessionId) };

    private NumberedText _sessionId = new(SessionId);

    /// <summary>The session id's text (made on first use when the event was made from the number).</summary>
    public string SessionId
    {
        get => _sessionId.Text;
        init => _sessionId = new NumberedText(value);
    }

    /// <summary>The session id's number when the event was made from it (<see cref="WithSessionNumber"/>): the id is <see cref="Session.IdPrefix"/> and its hex digits.</summary>
    public bool TryGetSessionNumber(out UInt128 sessionId) => _sessionId.TryGetNumber(out sessionId);
}

/// <summary>A rejected row or message with its reason (topic <see cref="Topics.DeadLetters"/>).</summary>
/// <param name="Reason">One of <see cref="DeadLetterReasons"/>.</param>
/// <param name="SourceTopic">Set when a Kafka consumer rejected a message: where it came from.</param>
public sealed record DeadLetter(
    string Reason,
    Severity Severity,
    string Detail,
    string SourceFile,
    long Line,
    DateOnly? FileDay,
    string OriginalRow,
    string? EventId = null,
    string? ClientId = null,
    DateTime? Timestamp = null,
    string? SourceTopic = null,
    int? SourcePartition = null,
    long? SourceOffset = null)
{
    public const int SchemaVersion = 1;

    /// <summary>
    /// A rejected row whose text is kept as its UTF-8 bytes (<paramref name="originalRowUtf8"/>, which the dead letter then
    /// owns) until something asks for <see cref="OriginalRow"/>: a row's UTF-8 is about half the size of its string, and
    /// a store that takes UTF-8 writes it as it is.
    /// </summary>
    public static DeadLetter FromUtf8Row(string reason, Severity severity, string detail, string sourceFile, long line, DateOnly? fileDay,
        ReadOnlyMemory<byte> originalRowUtf8, string? eventId = null, string? clientId = null, DateTime? timestamp = null) =>
        new(reason, severity, detail, sourceFile, line, fileDay, null!, eventId, clientId, timestamp)
        {
            _row = new Utf8Text(originalRowUtf8),
        };

    private Utf8Text _row = new(OriginalRow);

    /// <summary>The row's text exactly as read (decoded on first use when the dead letter was made from its bytes).</summary>
    public string OriginalRow
    {
        get => _row.Text!;
        init => _row = new Utf8Text(value);
    }

    /// <summary>The row's UTF-8 bytes when the dead letter was made from them (<see cref="FromUtf8Row"/>).</summary>
    public bool TryGetOriginalRowUtf8(out ReadOnlySpan<byte> utf8) => _row.TryGetUtf8(out utf8);
}

/// <summary>A closed 30-minute session (topic <see cref="Topics.Sessions"/>).</summary>
public sealed record Session(
    string SessionId,
    string ClientId,
    DateTime Start,
    DateTime End,
    int EventCount,
    int PageViews,
    int EmailsFilled,
    int AddsToCart,
    int CheckoutsStarted,
    int Purchases,
    string? LandingPage,
    string? LandingReferrer,
    string Channel,
    string Device,
    bool IsConverted,
    int Orders,
    decimal Revenue,
    IReadOnlyList<string> TransactionIds)
{
    public const int SchemaVersion = 1;

    /// <summary>What a session id starts with: the pipeline's session ids are this and 32 hex digits (<see cref="HexId"/>).</summary>
    public const string IdPrefix = "s-";

    /// <summary>A session whose id is kept as its number (<see cref="IdPrefix"/> and <see cref="HexId"/>) until something asks for <see cref="SessionId"/>.</summary>
    /// <param name="landingPageUtf8">When set, the landing page as UTF-8 bytes (<paramref name="landingPage"/> is ignored):
    /// its text is made only when asked for.</param>
    public static Session WithIdNumber(UInt128 sessionId, string clientId, DateTime start, DateTime end, int eventCount, int pageViews,
        int emailsFilled, int addsToCart, int checkoutsStarted, int purchases, string? landingPage, string? landingReferrer,
        string channel, string device, bool isConverted, int orders, decimal revenue, IReadOnlyList<string> transactionIds,
        ReadOnlyMemory<byte>? landingPageUtf8 = null) =>
        new(null!, clientId, start, end, eventCount, pageViews, emailsFilled, addsToCart, checkoutsStarted, purchases, null,
            landingReferrer, channel, device, isConverted, orders, revenue, transactionIds)
        {
            _id = new NumberedText(IdPrefix, sessionId),
            _landingPage = new Utf8Text(landingPageUtf8, landingPage),
        };

    private NumberedText _id = new(SessionId);
    private Utf8Text _landingPage = new(LandingPage);

    /// <summary>The landing page's text (decoded on first use when the session was made from its bytes).</summary>
    public string? LandingPage
    {
        get => _landingPage.Text;
        init => _landingPage = new Utf8Text(value);
    }

    /// <summary>The landing page's UTF-8 bytes when the session was made from them (<see cref="WithIdNumber"/>).</summary>
    public bool TryGetLandingPageUtf8(out ReadOnlySpan<byte> utf8) => _landingPage.TryGetUtf8(out utf8);

    /// <summary>The session id's text (made on first use when the session was made from the number).</summary>
    public string SessionId
    {
        get => _id.Text;
        init => _id = new NumberedText(value);
    }

    /// <summary>The session id's number when the session was made from it (<see cref="WithIdNumber"/>).</summary>
    public bool TryGetIdNumber(out UInt128 sessionId) => _id.TryGetNumber(out sessionId);
}

/// <summary>One touchpoint credited by an attribution model.</summary>
public sealed record Touch(string Channel, string SessionId, DateTime SessionStart);

/// <summary>A purchase with its 7-day attribution (topic <see cref="Topics.AttributedOrders"/>).</summary>
/// <param name="DaysFromFirstTouch">Days between the earliest touchpoint's start and the purchase.</param>
public sealed record AttributedOrder(
    string TransactionId,
    string ClientId,
    string EventId,
    DateTime PurchaseTime,
    decimal Revenue,
    string SessionId,
    int Touchpoints,
    double DaysFromFirstTouch,
    Touch FirstClick,
    Touch LastClick,
    Touch LastNonDirect)
{
    public const int SchemaVersion = 1;

    public bool IsZeroRevenue => Revenue == 0m;

    public Touch For(string model) => model switch
    {
        AttributionModels.FirstClick => FirstClick,
        AttributionModels.LastClick => LastClick,
        AttributionModels.LastNonDirect => LastNonDirect,
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
    };
}

/// <summary>A measured value for a day of data (topic <see cref="Topics.Metrics"/>).</summary>
/// <remarks>Values are snapshots: a later metric with the same (Day, Name, Dimension, Source) replaces an earlier one,
/// so redelivery never double-counts.</remarks>
/// <param name="Source">The file the value describes, or empty for day-level values.</param>
/// <param name="Dimension">Sub-key such as a reason code, channel or field name; empty when none.</param>
public sealed record Metric(DateOnly? Day, string Name, string Dimension, double Value, string Source)
{
    public const int SchemaVersion = 1;
}

/// <summary>A data-quality or business alert, raised once per (rule, day) (topic <see cref="Topics.Alerts"/>).</summary>
public sealed record Alert(DateOnly? Day, string Rule, Severity Severity, double Observed, double Threshold, string Message)
{
    public const int SchemaVersion = 1;
}

/// <summary>What a <see cref="StreamMark"/> announces.</summary>
public enum StreamMarkKind
{
    /// <summary>Nothing later on this partition sorts before the mark's position.</summary>
    Watermark,

    /// <summary>Every row of <see cref="StreamMark.File"/> was written before this mark.</summary>
    FileEnd,

    /// <summary>The producer has finished a replay: decide everything still buffered.</summary>
    Flush,
}

/// <summary>
/// An in-band progress mark on an ordered stream topic (raw, valid and sessionized events). The producer writes the
/// same mark to every partition, so a consumer merging the partitions knows how far each one has come even when a
/// partition has no records for a while. On the wire it is its own Avro record (subject
/// <c>puffy.streaming.v1.StreamMark</c>) and is told apart from the topic's records by its schema id.
/// </summary>
/// <param name="Time">Position: every later message of the partition sorts after (Time, Tie, Seq).</param>
/// <param name="Partitions">How many partitions the producer wrote this mark to.</param>
/// <param name="Rows">For <see cref="StreamMarkKind.FileEnd"/>: rows the file had.</param>
public sealed record StreamMark(
    StreamMarkKind Kind,
    string Producer,
    DateTime Time,
    string Tie,
    long Seq,
    int Partitions,
    string? File = null,
    DateOnly? FileDay = null,
    long Rows = 0)
{
    public const int SchemaVersion = 1;

    public const string Subject = "puffy.streaming.v1.StreamMark";
}
