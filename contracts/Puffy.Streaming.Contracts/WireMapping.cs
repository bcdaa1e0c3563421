using System.Numerics;
using Avro;
using Wire = puffy.streaming.v1;

namespace Puffy.Streaming.Contracts;

/// <summary>
/// Copies the contract's message records to and from their generated Avro specific records, field by field. Times are
/// UTC milliseconds, days are Avro dates, money is an Avro decimal of scale 8 (as the schemas say).
/// </summary>
public static class WireMapping
{
    private const int MoneyScale = 8;
    private static readonly BigInteger[] PowersOfTen = Enumerable.Range(0, MoneyScale + 1).Select(i => BigInteger.Pow(10, i)).ToArray();

    public static Wire.RawEvent ToRecord(RawEvent m) => new()
    {
        SourceFile = m.SourceFile,
        Line = m.Line,
        FileDay = Day(m.FileDay),
        OriginalRow = m.OriginalRow,
        ParseError = m.ParseError,
        ClientId = m.ClientId,
        PageUrl = m.PageUrl,
        Referrer = m.Referrer,
        Timestamp = m.Timestamp,
        EventName = m.EventName,
        EventData = m.EventData,
        UserAgent = m.UserAgent,
        StreamTime = Utc(m.StreamTime),
        OversizedBytes = m.OversizedBytes,
    };

    public static RawEvent FromRecord(Wire.RawEvent r) =>
        new(r.SourceFile, r.Line, Day(r.FileDay), r.OriginalRow, r.ParseError, r.ClientId, r.PageUrl, r.Referrer, r.Timestamp,
            r.EventName, r.EventData, r.UserAgent, Utc(r.StreamTime), r.OversizedBytes);

    public static Wire.ValidEvent ToRecord(ValidEvent m) => new()
    {
        EventId = m.EventId,
        ClientId = m.ClientId,
        Timestamp = Utc(m.Timestamp),
        EventName = m.EventName,
        PageUrl = m.PageUrl,
        Referrer = m.Referrer,
        UserAgent = m.UserAgent,
        Device = m.Device,
        EventData = m.EventData,
        TransactionId = m.TransactionId,
        Revenue = m.Revenue is { } revenue ? Money(revenue) : null,
        SourceFile = m.SourceFile,
        Line = m.Line,
        StreamTime = Utc(m.StreamTime),
        LandingChannel = m.LandingChannel,
    };

    public static ValidEvent FromRecord(Wire.ValidEvent r) =>
        new(r.EventId, r.ClientId, Utc(r.Timestamp), r.EventName, r.PageUrl, r.Referrer, r.UserAgent, r.Device, r.EventData,
            r.TransactionId, r.Revenue is { } revenue ? Money(revenue) : null, r.SourceFile, r.Line, Utc(r.StreamTime), r.LandingChannel);

    public static Wire.SessionizedEvent ToRecord(SessionizedEvent m) => new()
    {
        Event = ToRecord(m.Event),
        SessionId = m.SessionId,
        SessionStart = Utc(m.SessionStart),
        IsSessionStart = m.IsSessionStart,
        SessionChannel = m.SessionChannel,
    };

    public static SessionizedEvent FromRecord(Wire.SessionizedEvent r) =>
        new(FromRecord(r.Event), r.SessionId, Utc(r.SessionStart), r.IsSessionStart, r.SessionChannel);

    public static Wire.DeadLetter ToRecord(DeadLetter m) => new()
    {
        Reason = m.Reason,
        Severity = Severity(m.Severity),
        Detail = m.Detail,
        SourceFile = m.SourceFile,
        Line = m.Line,
        FileDay = Day(m.FileDay),
        OriginalRow = m.OriginalRow,
        EventId = m.EventId,
        ClientId = m.ClientId,
        Timestamp = m.Timestamp is { } t ? Utc(t) : null,
        SourceTopic = m.SourceTopic,
        SourcePartition = m.SourcePartition,
        SourceOffset = m.SourceOffset,
    };

    public static DeadLetter FromRecord(Wire.DeadLetter r) =>
        new(r.Reason, Severity(r.Severity), r.Detail, r.SourceFile, r.Line, Day(r.FileDay), r.OriginalRow, r.EventId, r.ClientId,
            r.Timestamp is { } t ? Utc(t) : null, r.SourceTopic, r.SourcePartition, r.SourceOffset);

    public static Wire.Session ToRecord(Session m) => new()
    {
        SessionId = m.SessionId,
        ClientId = m.ClientId,
        Start = Utc(m.Start),
        End = Utc(m.End),
        EventCount = m.EventCount,
        PageViews = m.PageViews,
        EmailsFilled = m.EmailsFilled,
        AddsToCart = m.AddsToCart,
        CheckoutsStarted = m.CheckoutsStarted,
        Purchases = m.Purchases,
        LandingPage = m.LandingPage,
        LandingReferrer = m.LandingReferrer,
        Channel = m.Channel,
        Device = m.Device,
        IsConverted = m.IsConverted,
        Orders = m.Orders,
        Revenue = Money(m.Revenue),
        TransactionIds = m.TransactionIds as IList<string> ?? [.. m.TransactionIds],
    };

    public static Session FromRecord(Wire.Session r) =>
        new(r.SessionId, r.ClientId, Utc(r.Start), Utc(r.End), r.EventCount, r.PageViews, r.EmailsFilled, r.AddsToCart,
            r.CheckoutsStarted, r.Purchases, r.LandingPage, r.LandingReferrer, r.Channel, r.Device, r.IsConverted, r.Orders,
            Money(r.Revenue), [.. r.TransactionIds]);

    public static Wire.AttributedOrder ToRecord(AttributedOrder m) => new()
    {
        TransactionId = m.TransactionId,
        ClientId = m.ClientId,
        EventId = m.EventId,
        PurchaseTime = Utc(m.PurchaseTime),
        Revenue = Money(m.Revenue),
        SessionId = m.SessionId,
        Touchpoints = m.Touchpoints,
        DaysFromFirstTouch = m.DaysFromFirstTouch,
        FirstClick = ToRecord(m.FirstClick),
        LastClick = ToRecord(m.LastClick),
        LastNonDirect = ToRecord(m.LastNonDirect),
    };

    public static AttributedOrder FromRecord(Wire.AttributedOrder r) =>
        new(r.TransactionId, r.ClientId, r.EventId, Utc(r.PurchaseTime), Money(r.Revenue), r.SessionId, r.Touchpoints,
            r.DaysFromFirstTouch, FromRecord(r.FirstClick), FromRecord(r.LastClick), FromRecord(r.LastNonDirect));

    public static Wire.Metric ToRecord(Metric m) => new()
    {
        Day = Day(m.Day),
        Name = m.Name,
        Dimension = m.Dimension,
        Value = m.Value,
        Source = m.Source,
    };

    public static Metric FromRecord(Wire.Metric r) => new(Day(r.Day), r.Name, r.Dimension, r.Value, r.Source);

    public static Wire.Alert ToRecord(Alert m) => new()
    {
        Day = Day(m.Day),
        Rule = m.Rule,
        Severity = Severity(m.Severity),
        Observed = m.Observed,
        Threshold = m.Threshold,
        Message = m.Message,
    };

    public static Alert FromRecord(Wire.Alert r) => new(Day(r.Day), r.Rule, Severity(r.Severity), r.Observed, r.Threshold, r.Message);

    public static Wire.StreamMark ToRecord(StreamMark m) => new()
    {
        Kind = m.Kind switch
        {
            StreamMarkKind.Watermark => Wire.StreamMarkKind.watermark,
            StreamMarkKind.FileEnd => Wire.StreamMarkKind.file_end,
            StreamMarkKind.Flush => Wire.StreamMarkKind.flush,
            _ => throw new ArgumentOutOfRangeException(nameof(m), m.Kind, "unknown stream mark kind"),
        },
        Producer = m.Producer,
        Time = Utc(m.Time),
        Tie = m.Tie,
        Seq = m.Seq,
        Partitions = m.Partitions,
        File = m.File,
        FileDay = Day(m.FileDay),
        Rows = m.Rows,
    };

    public static StreamMark FromRecord(Wire.StreamMark r) =>
        new(r.Kind switch
            {
                Wire.StreamMarkKind.watermark => StreamMarkKind.Watermark,
                Wire.StreamMarkKind.file_end => StreamMarkKind.FileEnd,
                Wire.StreamMarkKind.flush => StreamMarkKind.Flush,
                _ => throw new AvroException($"unknown stream mark kind '{r.Kind}'"),
            },
            r.Producer, Utc(r.Time), r.Tie, r.Seq, r.Partitions, r.File, Day(r.FileDay), r.Rows);

    /// <summary>A decimal as the schemas' <c>decimal(28, 8)</c>: its value rounded to 8 places, unscaled.</summary>
    public static AvroDecimal Money(decimal value)
    {
        var rounded = decimal.Round(value, MoneyScale, MidpointRounding.ToEven);
        var scale = rounded.Scale;
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(rounded, bits);
        var mantissa = new BigInteger((uint)bits[0]) | (new BigInteger((uint)bits[1]) << 32) | (new BigInteger((uint)bits[2]) << 64);
        var unscaled = mantissa * PowersOfTen[MoneyScale - scale];
        return new AvroDecimal(rounded < 0 ? -unscaled : unscaled, MoneyScale);
    }

    /// <summary>An Avro decimal as a <see cref="decimal"/> with the schema's scale (trailing zeros kept, as written).</summary>
    public static decimal Money(AvroDecimal value)
    {
        var magnitude = BigInteger.Abs(value.UnscaledValue);
        if (magnitude >= BigInteger.One << 96 || value.Scale is < 0 or > 28)
            throw new AvroException($"decimal {value} does not fit System.Decimal");
        Span<byte> words = stackalloc byte[12];
        words.Clear();
        magnitude.TryWriteBytes(words, out _, isUnsigned: true, isBigEndian: false);
        return new decimal(
            BitConverter.ToInt32(words[..4]), BitConverter.ToInt32(words[4..8]), BitConverter.ToInt32(words[8..12]),
            value.UnscaledValue.Sign < 0, (byte)value.Scale);
    }

    private static Wire.Severity Severity(Severity severity) => severity switch
    {
        Contracts.Severity.Info => Wire.Severity.info,
        Contracts.Severity.Warning => Wire.Severity.warning,
        Contracts.Severity.Error => Wire.Severity.error,
        Contracts.Severity.Critical => Wire.Severity.critical,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "unknown severity"),
    };

    private static Severity Severity(Wire.Severity severity) => severity switch
    {
        Wire.Severity.info => Contracts.Severity.Info,
        Wire.Severity.warning => Contracts.Severity.Warning,
        Wire.Severity.error => Contracts.Severity.Error,
        Wire.Severity.critical => Contracts.Severity.Critical,
        _ => throw new AvroException($"unknown severity '{severity}'"),
    };

    private static Wire.Touch ToRecord(Touch t) => new() { Channel = t.Channel, SessionId = t.SessionId, SessionStart = Utc(t.SessionStart) };

    private static Touch FromRecord(Wire.Touch r) => new(r.Channel, r.SessionId, Utc(r.SessionStart));

    private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Utc ? t : DateTime.SpecifyKind(t, DateTimeKind.Utc);

    private static DateTime? Day(DateOnly? day) => day?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    private static DateOnly? Day(DateTime? day) => day is { } d ? DateOnly.FromDateTime(d) : null;
}
