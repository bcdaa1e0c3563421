using System.Globalization;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Classification;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>Outcome of the row-local checks: a rejection with reason, or a candidate event with its id.</summary>
public readonly record struct RowVerdict(string? Reason, string? Detail, ValidEvent? Event, UInt128 Id)
{
    public bool IsRejected => Reason is not null;
}

/// <summary>
/// The checks of semantics §2 that need nothing but the row itself, in the contract's order:
/// oversized_row, unparseable_row, missing_client_id, invalid_timestamp, unknown_event_name, malformed_event_data,
/// invalid_purchase, bot_user_agent. The stateful ones (duplicates, lateness) live in <see cref="ValidatorCore"/>.
/// </summary>
public static class RowChecks
{
    public static RowVerdict Check(RawEvent raw, FieldTally? fields = null)
    {
        if (raw.OversizedBytes is { } size)
            return Reject(DeadLetterReasons.OversizedRow, string.Create(CultureInfo.InvariantCulture, $"the row is {size:N0} bytes, more than the row size limit"));
        if (raw.ParseError is not null)
            return Reject(DeadLetterReasons.UnparseableRow, raw.ParseError);

        fields?.ObserveColumns(raw);

        // Parsed ahead of the client id check (rejections keep the contract's order) so that the file's time
        // tally covers every row that has a timestamp; from its bytes when the row kept them there, so that it
        // becomes a string only in a rejection's detail.
        var timeFromBytes = raw.TryGetTimestampUtf8(out var timeUtf8);
        var hasTime = timeFromBytes ? EventTime.TryParse(timeUtf8, out var time) : EventTime.TryParse(raw.Timestamp, out time);
        if (hasTime)
            fields?.ObserveTime(time, raw.FileDay);

        if (string.IsNullOrWhiteSpace(raw.ClientId))
            return Reject(DeadLetterReasons.MissingClientId, "client id is empty");

        if (!hasTime)
            return Reject(DeadLetterReasons.InvalidTimestamp, $"'{raw.Timestamp}' is not an ISO-8601 UTC timestamp");
        if (!EventTime.IsPlausibleFor(time, raw.FileDay))
            return Reject(DeadLetterReasons.InvalidTimestamp,
                $"{EventTime.Iso(time)} lies more than 24 h outside the file's day {raw.FileDay:yyyy-MM-dd}");

        var name = raw.EventName;
        if (name == EventNames.PurchaseAlias)
            name = EventNames.CheckoutCompleted;
        else if (name is not (EventNames.PageViewed or EventNames.EmailFilledOnPopup or EventNames.ProductAddedToCart
                 or EventNames.CheckoutStarted or EventNames.CheckoutCompleted))
            return Reject(DeadLetterReasons.UnknownEventName, $"unknown event name '{raw.EventName}'");

        var isPurchase = name == EventNames.CheckoutCompleted;
        string? transactionId = null;
        decimal? revenue = null;
        var data = raw.EventData;
        if (!string.IsNullOrWhiteSpace(data))
        {
            if (!isPurchase)
            {
                // Only the shape matters here: check it with a forward-only reader, no document.
                var shape = CheckObject(data);
                if (shape is not null)
                    return Reject(DeadLetterReasons.MalformedEventData, shape);
            }
            else
            {
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(data);
                }
                catch (JsonException e)
                {
                    return Reject(DeadLetterReasons.MalformedEventData, $"event_data is not valid JSON: {e.Message}");
                }

                using (doc)
                {
                    if (doc.RootElement.ValueKind != JsonValueKind.Object)
                        return Reject(DeadLetterReasons.MalformedEventData, NotAnObject(doc.RootElement.ValueKind));
                    fields?.ObservePurchase(doc.RootElement);
                    var problem = ReadPurchase(doc.RootElement, out transactionId, out revenue);
                    if (problem is not null)
                        return Reject(DeadLetterReasons.InvalidPurchase, problem);
                }
            }
        }
        else if (isPurchase)
        {
            return Reject(DeadLetterReasons.InvalidPurchase, "purchase without event_data (no transaction_id, no revenue)");
        }

        var (bot, device) = UserAgents.Traits(raw.UserAgent);
        if (bot is not null)
            return Reject(DeadLetterReasons.BotUserAgent, BotDetails[bot]);

        // The timestamp and page url from the row's bytes when it kept them there: the page url then becomes a string
        // only if something asks for it (the event keeps a copy of its bytes; the file's buffer serves a later file).
        var pageFromBytes = raw.TryGetPageUrlUtf8(out var pageUtf8);
        var id = EventId.Compute(raw.ClientId, timeFromBytes ? EventId.IdField.Utf8(timeUtf8) : raw.Timestamp, raw.EventName,
            pageFromBytes ? EventId.IdField.Utf8(pageUtf8) : raw.PageUrl, raw.Referrer, raw.EventData, raw.UserAgent);
        var channel = pageFromBytes ? ChannelClassifier.ClassifyAscii(pageUtf8, raw.Referrer) : ChannelClassifier.Classify(raw.PageUrl, raw.Referrer);
        var ev = ValidEvent.WithIdNumber(id, raw.ClientId, time, name, pageFromBytes ? null : raw.PageUrl, raw.Referrer, raw.UserAgent,
            device, raw.EventData, transactionId, revenue, raw.SourceFile, raw.Line, raw.StreamTime, channel,
            pageFromBytes ? pageUtf8.ToArray() : (ReadOnlyMemory<byte>?)null);
        return new RowVerdict(null, null, ev, id);
    }

    private static readonly Dictionary<string, string> BotDetails =
        UserAgents.BotMarkers.ToDictionary(m => m, m => $"user agent contains '{m}'", StringComparer.Ordinal);

    private static string NotAnObject(JsonValueKind kind) => $"event_data is a JSON {kind.ToString().ToLowerInvariant()}, not an object";

    [ThreadStatic]
    private static byte[]? t_json;

    /// <summary>Null when the text is one well-formed JSON object, else what is wrong with it.</summary>
    internal static string? CheckObject(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var buffer = t_json is { } b && b.Length >= max ? b : t_json = new byte[Math.Max(max, 4096)];
        var length = Encoding.UTF8.GetBytes(text, buffer);
        var reader = new Utf8JsonReader(buffer.AsSpan(0, length), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read())
                return "event_data is not valid JSON: it holds no value";
            if (reader.TokenType != JsonTokenType.StartObject)
                return NotAnObject(reader.TokenType switch
                {
                    JsonTokenType.StartArray => JsonValueKind.Array,
                    JsonTokenType.String => JsonValueKind.String,
                    JsonTokenType.Number => JsonValueKind.Number,
                    JsonTokenType.True => JsonValueKind.True,
                    JsonTokenType.False => JsonValueKind.False,
                    _ => JsonValueKind.Null,
                });
            reader.Skip();
            if (reader.Read())
                return "event_data is not valid JSON: more than one value";
            return null;
        }
        catch (JsonException e)
        {
            return $"event_data is not valid JSON: {e.Message}";
        }
    }

    private static RowVerdict Reject(string reason, string detail) => new(reason, detail, null, default);

    /// <summary>Reads transaction_id and revenue of a purchase; returns the problem, or null when both are usable.</summary>
    internal static string? ReadPurchase(JsonElement root, out string? transactionId, out decimal? revenue)
    {
        transactionId = null;
        revenue = null;
        if (root.TryGetProperty("transaction_id", out var tx))
        {
            transactionId = tx.ValueKind switch
            {
                JsonValueKind.String => tx.GetString()?.Trim(),
                JsonValueKind.Number => tx.GetRawText(),
                _ => null,
            };
        }

        if (string.IsNullOrEmpty(transactionId))
        {
            transactionId = null;
            return "purchase without transaction_id";
        }

        if (!root.TryGetProperty("revenue", out var rev) || rev.ValueKind == JsonValueKind.Null)
            return "purchase without revenue";
        decimal value;
        if (rev.ValueKind == JsonValueKind.Number)
        {
            if (!rev.TryGetDecimal(out value))
                return $"revenue {rev.GetRawText()} is out of range";
        }
        else if (rev.ValueKind != JsonValueKind.String
                 || !decimal.TryParse(rev.GetString(), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign,
                     CultureInfo.InvariantCulture, out value))
        {
            return $"revenue {rev.GetRawText()} is not numeric";
        }

        if (value < 0)
            return $"revenue {value.ToString(CultureInfo.InvariantCulture)} is negative";
        revenue = value;
        return null;
    }
}
