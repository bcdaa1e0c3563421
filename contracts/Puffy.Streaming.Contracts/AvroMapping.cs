using Puffy.Streaming.Avro;

namespace Puffy.Streaming.Contracts;

/// <summary>Maps the message records to and from generic Avro records of their schemas, field by field.</summary>
internal static class AvroMapping
{
    public static AvroRecord ToAvro(AvroSchema schema, object message) => message switch
    {
        RawEvent m => Record(schema, r =>
        {
            r["source_file"] = m.SourceFile;
            r["line"] = m.Line;
            r["file_day"] = m.FileDay;
            r["original_row"] = m.OriginalRow;
            r["parse_error"] = m.ParseError;
            r["client_id"] = m.ClientId;
            r["page_url"] = m.PageUrl;
            r["referrer"] = m.Referrer;
            r["timestamp"] = m.Timestamp;
            r["event_name"] = m.EventName;
            r["event_data"] = m.EventData;
            r["user_agent"] = m.UserAgent;
            r["stream_time"] = Utc(m.StreamTime);
        }),
        ValidEvent m => Record(schema, r =>
        {
            r["event_id"] = m.EventId;
            r["client_id"] = m.ClientId;
            r["timestamp"] = Utc(m.Timestamp);
            r["event_name"] = m.EventName;
            r["page_url"] = m.PageUrl;
            r["referrer"] = m.Referrer;
            r["user_agent"] = m.UserAgent;
            r["device"] = m.Device;
            r["event_data"] = m.EventData;
            r["transaction_id"] = m.TransactionId;
            r["revenue"] = m.Revenue;
            r["source_file"] = m.SourceFile;
            r["line"] = m.Line;
            r["stream_time"] = Utc(m.StreamTime);
            r["landing_channel"] = m.LandingChannel;
        }),
        SessionizedEvent m => Record(schema, r =>
        {
            r["event"] = ToAvro(Field(schema, "event"), m.Event);
            r["session_id"] = m.SessionId;
            r["session_start"] = Utc(m.SessionStart);
            r["is_session_start"] = m.IsSessionStart;
            r["session_channel"] = m.SessionChannel;
        }),
        DeadLetter m => Record(schema, r =>
        {
            r["reason"] = m.Reason;
            r["severity"] = Enum(Field(schema, "severity"), m.Severity);
            r["detail"] = m.Detail;
            r["source_file"] = m.SourceFile;
            r["line"] = m.Line;
            r["file_day"] = m.FileDay;
            r["original_row"] = m.OriginalRow;
            r["event_id"] = m.EventId;
            r["client_id"] = m.ClientId;
            r["timestamp"] = m.Timestamp is { } t ? Utc(t) : null;
            r["source_topic"] = m.SourceTopic;
            r["source_partition"] = m.SourcePartition;
            r["source_offset"] = m.SourceOffset;
        }),
        Session m => Record(schema, r =>
        {
            r["session_id"] = m.SessionId;
            r["client_id"] = m.ClientId;
            r["start"] = Utc(m.Start);
            r["end"] = Utc(m.End);
            r["event_count"] = m.EventCount;
            r["page_views"] = m.PageViews;
            r["emails_filled"] = m.EmailsFilled;
            r["adds_to_cart"] = m.AddsToCart;
            r["checkouts_started"] = m.CheckoutsStarted;
            r["purchases"] = m.Purchases;
            r["landing_page"] = m.LandingPage;
            r["landing_referrer"] = m.LandingReferrer;
            r["channel"] = m.Channel;
            r["device"] = m.Device;
            r["is_converted"] = m.IsConverted;
            r["orders"] = m.Orders;
            r["revenue"] = m.Revenue;
            r["transaction_ids"] = m.TransactionIds.Cast<object?>().ToList();
        }),
        AttributedOrder m => Record(schema, r =>
        {
            r["transaction_id"] = m.TransactionId;
            r["client_id"] = m.ClientId;
            r["event_id"] = m.EventId;
            r["purchase_time"] = Utc(m.PurchaseTime);
            r["revenue"] = m.Revenue;
            r["session_id"] = m.SessionId;
            r["touchpoints"] = m.Touchpoints;
            r["days_from_first_touch"] = m.DaysFromFirstTouch;
            var touch = Field(schema, "first_click");
            r["first_click"] = Touch(touch, m.FirstClick);
            r["last_click"] = Touch(touch, m.LastClick);
            r["last_non_direct"] = Touch(touch, m.LastNonDirect);
        }),
        Metric m => Record(schema, r =>
        {
            r["day"] = m.Day;
            r["name"] = m.Name;
            r["dimension"] = m.Dimension;
            r["value"] = m.Value;
            r["source"] = m.Source;
        }),
        Alert m => Record(schema, r =>
        {
            r["day"] = m.Day;
            r["rule"] = m.Rule;
            r["severity"] = Enum(Field(schema, "severity"), m.Severity);
            r["observed"] = m.Observed;
            r["threshold"] = m.Threshold;
            r["message"] = m.Message;
        }),
        StreamMark m => Record(schema, r =>
        {
            r["kind"] = new AvroEnum(Field(schema, "kind"), MarkSymbols[(int)m.Kind]);
            r["producer"] = m.Producer;
            r["time"] = Utc(m.Time);
            r["tie"] = m.Tie;
            r["seq"] = m.Seq;
            r["partitions"] = m.Partitions;
            r["file"] = m.File;
            r["file_day"] = m.FileDay;
            r["rows"] = m.Rows;
        }),
        _ => throw new ArgumentException($"{message.GetType().Name} is not a message type", nameof(message)),
    };

    public static T FromAvro<T>(AvroRecord r) => (T)FromAvro(typeof(T), r);

    private static object FromAvro(Type type, AvroRecord r)
    {
        if (type == typeof(RawEvent))
            return new RawEvent(Str(r, "source_file"), Long(r, "line"), Day(r, "file_day"), Str(r, "original_row"), Opt(r, "parse_error"),
                Opt(r, "client_id"), Opt(r, "page_url"), Opt(r, "referrer"), Opt(r, "timestamp"), Opt(r, "event_name"), Opt(r, "event_data"),
                Opt(r, "user_agent"), Time(r, "stream_time"));
        if (type == typeof(ValidEvent))
            return new ValidEvent(Str(r, "event_id"), Str(r, "client_id"), Time(r, "timestamp"), Str(r, "event_name"), Opt(r, "page_url"),
                Opt(r, "referrer"), Opt(r, "user_agent"), Str(r, "device"), Opt(r, "event_data"), Opt(r, "transaction_id"), Money(r, "revenue"),
                Str(r, "source_file"), Long(r, "line"), Time(r, "stream_time"), Opt(r, "landing_channel"));
        if (type == typeof(SessionizedEvent))
            return new SessionizedEvent((ValidEvent)FromAvro(typeof(ValidEvent), (AvroRecord)r["event"]!), Str(r, "session_id"),
                Time(r, "session_start"), (bool)r["is_session_start"]!, Str(r, "session_channel"));
        if (type == typeof(DeadLetter))
            return new DeadLetter(Str(r, "reason"), Severity(r), Str(r, "detail"), Str(r, "source_file"), Long(r, "line"), Day(r, "file_day"),
                Str(r, "original_row"), Opt(r, "event_id"), Opt(r, "client_id"), r["timestamp"] is null ? null : Time(r, "timestamp"),
                Opt(r, "source_topic"), (int?)r["source_partition"], (long?)r["source_offset"]);
        if (type == typeof(Session))
            return new Session(Str(r, "session_id"), Str(r, "client_id"), Time(r, "start"), Time(r, "end"), Int(r, "event_count"),
                Int(r, "page_views"), Int(r, "emails_filled"), Int(r, "adds_to_cart"), Int(r, "checkouts_started"), Int(r, "purchases"),
                Opt(r, "landing_page"), Opt(r, "landing_referrer"), Str(r, "channel"), Str(r, "device"), (bool)r["is_converted"]!, Int(r, "orders"),
                Money(r, "revenue") ?? 0m, ((IEnumerable<object?>)r["transaction_ids"]!).Select(x => (string)x!).ToList());
        if (type == typeof(AttributedOrder))
            return new AttributedOrder(Str(r, "transaction_id"), Str(r, "client_id"), Str(r, "event_id"), Time(r, "purchase_time"),
                Money(r, "revenue") ?? 0m, Str(r, "session_id"), Int(r, "touchpoints"), (double)r["days_from_first_touch"]!,
                Touch((AvroRecord)r["first_click"]!), Touch((AvroRecord)r["last_click"]!), Touch((AvroRecord)r["last_non_direct"]!));
        if (type == typeof(Metric))
            return new Metric(Day(r, "day"), Str(r, "name"), Str(r, "dimension"), (double)r["value"]!, Str(r, "source"));
        if (type == typeof(Alert))
            return new Alert(Day(r, "day"), Str(r, "rule"), Severity(r), (double)r["observed"]!, (double)r["threshold"]!, Str(r, "message"));
        if (type == typeof(StreamMark))
            return new StreamMark(MarkKind(r), Str(r, "producer"), Time(r, "time"), Str(r, "tie"), Long(r, "seq"), Int(r, "partitions"),
                Opt(r, "file"), Day(r, "file_day"), Long(r, "rows"));
        throw new ArgumentException($"{type.Name} is not a message type", nameof(type));
    }

    private static AvroRecord Record(AvroSchema schema, Action<AvroRecord> fill)
    {
        var record = new AvroRecord(schema);
        fill(record);
        return record;
    }

    /// <summary>The schema of a field, or its non-null branch when the field is optional.</summary>
    private static AvroSchema Field(AvroSchema record, string name)
    {
        var schema = record.Fields.Single(f => f.Name == name).Schema;
        return schema.Type == AvroType.Union ? schema.Branches.Single(b => b.Type != AvroType.Null) : schema;
    }

    private static AvroRecord Touch(AvroSchema schema, Touch t) => Record(schema, r =>
    {
        r["channel"] = t.Channel;
        r["session_id"] = t.SessionId;
        r["session_start"] = Utc(t.SessionStart);
    });

    private static Touch Touch(AvroRecord r) => new(Str(r, "channel"), Str(r, "session_id"), Time(r, "session_start"));

    private static AvroEnum Enum(AvroSchema schema, Severity severity) => new(schema, severity.ToString().ToLowerInvariant());

    private static readonly string[] MarkSymbols = ["watermark", "file_end", "flush"];

    private static StreamMarkKind MarkKind(AvroRecord r)
    {
        var symbol = r["kind"] is AvroEnum e ? e.Symbol : (string?)r["kind"];
        var index = Array.IndexOf(MarkSymbols, symbol);
        return index >= 0 ? (StreamMarkKind)index : throw new AvroException($"unknown stream mark kind '{symbol}'");
    }

    private static Severity Severity(AvroRecord r)
    {
        var symbol = r["severity"] switch
        {
            AvroEnum e => e.Symbol,
            string s => s,
            var other => throw new AvroException($"severity is {other?.GetType().Name ?? "null"}, not an enum symbol"),
        };
        return System.Enum.Parse<Severity>(symbol, ignoreCase: true);
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    private static string Str(AvroRecord r, string name) => (string?)r[name] ?? throw new AvroException($"{name} is null");

    private static string? Opt(AvroRecord r, string name) => (string?)r[name];

    private static long Long(AvroRecord r, string name) => (long)r[name]!;

    private static int Int(AvroRecord r, string name) => (int)r[name]!;

    private static DateTime Time(AvroRecord r, string name) =>
        DateTime.UnixEpoch.AddMilliseconds((long)r[name]!);

    private static DateOnly? Day(AvroRecord r, string name) => r[name] is int days ? AvroLogical.ToDate(days) : null;

    private static decimal? Money(AvroRecord r, string name) =>
        r[name] is { } value ? AvroLogical.ToDecimal(Field(r.Schema, name), value) : null;
}
