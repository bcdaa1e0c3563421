using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>Builders for CSV text, rows, raw and valid events used by the rule tests.</summary>
internal static class Fx
{
    public const string Header = "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent";
    public const string HeaderNoReferrer = "client_id,page_url,timestamp,event_name,event_data,user_agent";
    public const string DesktopUa = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36";
    public const string IPhoneUa = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1";
    public const string FileName = "events_20250301.csv";
    public const string Shop = "https://puffy.com/";

    /// <summary>The day of <see cref="FileName"/>, 00:00 UTC.</summary>
    public static DateTime Day { get; } = new(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    public static string Iso(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string FileFor(DateTime day) => "events_" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".csv";

    /// <summary>RFC 4180 field: quoted when it holds a comma, quote or line break; quotes doubled.</summary>
    public static string Quote(string? value)
    {
        if (value is null)
            return string.Empty;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
    }

    public static string Line(params string?[] fields) => string.Join(',', fields.Select(Quote));

    public static string Csv(IEnumerable<Row> rows, bool referrerColumn = true) =>
        string.Join('\n', rows.Select(r => r.ToCsv(referrerColumn)).Prepend(referrerColumn ? Header : HeaderNoReferrer)) + "\n";

    public static string Csv(string header, params string[] lines) => string.Join('\n', lines.Prepend(header)) + "\n";

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>event_data of a purchase; the single item's price is the revenue unless told otherwise.</summary>
    public static string PurchaseData(string transactionId, decimal revenue, bool nullItemPrice = false)
    {
        var rev = revenue.ToString(CultureInfo.InvariantCulture);
        var price = nullItemPrice ? "null" : rev;
        return "{\"transaction_id\":\"" + transactionId + "\",\"revenue\":" + rev
               + ",\"items\":[{\"item_id\":\"1\",\"item_name\":\"Puffy Mattress\",\"item_variant\":\"Queen\",\"quantity\":1,\"item_price\":"
               + price + "}],\"user_email\":\"a@example.com\"}";
    }

    public static Row View(string client, DateTime t, string url = Shop, string? referrer = "") =>
        new() { ClientId = client, Timestamp = Iso(t), PageUrl = url, Referrer = referrer };

    public static Row Buy(string client, DateTime t, string transactionId, decimal revenue, string? referrer = "") =>
        new()
        {
            ClientId = client, Timestamp = Iso(t), EventName = EventNames.CheckoutCompleted,
            PageUrl = "https://puffy.com/checkouts/thank-you", Referrer = referrer, EventData = PurchaseData(transactionId, revenue),
        };

    public static ValidEvent Valid(Row row, string file = FileName)
    {
        var verdict = RowChecks.Check(row.ToRaw(file));
        return verdict.Event ?? throw new InvalidOperationException($"test row is not valid: {verdict.Reason} {verdict.Detail}");
    }

    /// <summary>First 6 hex digits (upper case) of MD5 of the UTF-8 text, as the export anonymised UTM values.</summary>
    public static string Md5Prefix(string value)
    {
#pragma warning disable CA5351 // the spec's anonymisation is MD5; this is a lookup key, not security
        var hash = MD5.HashData(Encoding.UTF8.GetBytes(value));
#pragma warning restore CA5351
        return Convert.ToHexString(hash, 0, 3);
    }
}

/// <summary>One input row; a null referrer means the file has no referrer column (UNKNOWN).</summary>
internal sealed record Row
{
    public string? ClientId { get; init; } = "client-a";
    public string? PageUrl { get; init; } = Fx.Shop;
    public string? Referrer { get; init; } = string.Empty;
    public string? Timestamp { get; init; } = Fx.Iso(Fx.Day.AddHours(10));
    public string? EventName { get; init; } = EventNames.PageViewed;
    public string? EventData { get; init; } = string.Empty;
    public string? UserAgent { get; init; } = Fx.DesktopUa;

    public string ToCsv(bool referrerColumn = true) => referrerColumn
        ? Fx.Line(ClientId, PageUrl, Referrer, Timestamp, EventName, EventData, UserAgent)
        : Fx.Line(ClientId, PageUrl, Timestamp, EventName, EventData, UserAgent);

    public RawEvent ToRaw(string file = Fx.FileName, long line = 2, DateTime? streamTime = null)
    {
        var time = streamTime ?? (EventTime.TryParse(Timestamp, out var t) ? t : DateTime.MinValue);
        return new RawEvent(file, line, EventTime.DayFromFileName(file), ToCsv(Referrer is not null), null,
            ClientId, PageUrl, Referrer, Timestamp, EventName, EventData, UserAgent, time);
    }
}

/// <summary>Ingestor + validator over in-memory files, recording what comes out.</summary>
internal sealed class ValidatorHarness
{
    private readonly IngestorCore _ingestor;
    private readonly ValidatorCore _validator;

    public ValidatorHarness(TimeSpan? allowedLateness = null, TimeSpan? dedupWindow = null)
    {
        var options = new ValidatorOptions();
        if (allowedLateness is { } l)
            options.AllowedLateness = l;
        if (dedupWindow is { } w)
            options.DedupWindow = w;
        _ingestor = new IngestorCore { OnMetric = Metrics.Add };
        _validator = new ValidatorCore(options) { OnValid = Valid.Add, OnDeadLetter = DeadLetters.Add, OnMetric = Metrics.Add };
    }

    public List<ValidEvent> Valid { get; } = [];
    public List<DeadLetter> DeadLetters { get; } = [];
    public List<Metric> Metrics { get; } = [];
    public List<RawEvent> Raw { get; } = [];

    public ValidatorHarness Feed(string file, byte[] content)
    {
        foreach (var raw in _ingestor.ReadFile(file, content))
        {
            Raw.Add(raw);
            _validator.Accept(raw);
        }

        _validator.EndOfFile(file, EventTime.DayFromFileName(file));
        return this;
    }

    public ValidatorHarness Feed(string file, IEnumerable<Row> rows, bool referrerColumn = true) =>
        Feed(file, Fx.Bytes(Fx.Csv(rows, referrerColumn)));

    public ValidatorHarness Flush()
    {
        _validator.Flush();
        return this;
    }

    public List<string> ReasonsFor(string clientId) =>
        DeadLetters.Where(d => d.ClientId == clientId).Select(d => d.Reason).ToList();
}

/// <summary>Sessionizer + attribution fed with valid events in (time, event id) order.</summary>
internal sealed class SessionHarness
{
    public SessionHarness(TimeSpan? lookback = null)
    {
        var attributionOptions = new AttributionOptions();
        if (lookback is { } l)
            attributionOptions.Lookback = l;
        Attribution = new AttributionCore(attributionOptions);
        Sessionizer = new SessionizerCore(new SessionizerOptions())
        {
            OnEvent = e =>
            {
                Events.Add(e);
                if (Attribution.Accept(e) is { } order)
                    Orders.Add(order);
            },
            OnSessionClosed = Sessions.Add,
            OnMetric = Metrics.Add,
        };
    }

    public SessionizerCore Sessionizer { get; }
    public AttributionCore Attribution { get; }
    public List<Session> Sessions { get; } = [];
    public List<SessionizedEvent> Events { get; } = [];
    public List<AttributedOrder> Orders { get; } = [];
    public List<Metric> Metrics { get; } = [];

    public static List<ValidEvent> Sorted(IEnumerable<Row> rows) =>
        rows.Select(r => Fx.Valid(r, "stream.csv")).OrderBy(e => e.Timestamp).ThenBy(e => e.EventId, StringComparer.Ordinal).ToList();

    /// <summary>Feeds the rows in sorted order without closing what is still open.</summary>
    public SessionHarness Feed(IEnumerable<Row> rows)
    {
        foreach (var ev in Sorted(rows))
            Sessionizer.Accept(ev);
        return this;
    }

    /// <summary>Feeds the rows in sorted order and flushes.</summary>
    public SessionHarness Run(IEnumerable<Row> rows)
    {
        Feed(rows);
        Sessionizer.Flush();
        return this;
    }

    public Session SessionOf(string clientId, DateTime someEventTime) =>
        Sessions.Single(s => s.ClientId == clientId && s.Start <= someEventTime && s.End >= someEventTime);
}

/// <summary>The embedded pipeline with a recording sink (which also builds the run summary).</summary>
internal sealed class PipelineHarness : IPipelineSink
{
    private readonly SummaryBuilder _summary = new();

    public PipelineHarness(PipelineOptions? options = null) => Pipeline = new EmbeddedPipeline(options ?? new PipelineOptions(), this);

    public EmbeddedPipeline Pipeline { get; }
    public List<DeadLetter> DeadLetters { get; } = [];
    public List<SessionizedEvent> Events { get; } = [];
    public List<Session> Sessions { get; } = [];
    public List<AttributedOrder> Orders { get; } = [];
    public List<Metric> Metrics { get; } = [];
    public List<Alert> Alerts { get; } = [];

    public PipelineHarness File(string name, string text)
    {
        Pipeline.RunFile(name, Fx.Bytes(text));
        return this;
    }

    public PipelineHarness File(string name, byte[] content)
    {
        Pipeline.RunFile(name, content);
        return this;
    }

    public PipelineHarness File(string name, IEnumerable<Row> rows, bool referrerColumn = true) =>
        File(name, Fx.Csv(rows, referrerColumn));

    public RunSummary Finish()
    {
        Pipeline.Finish();
        return _summary.Complete();
    }

    public IEnumerable<Alert> AlertsOf(string rule) => Alerts.Where(a => a.Rule == rule);

    public void OnFileRead(string file, DateOnly? day, long rows, string? error) => _summary.OnFileRead(file, day, rows, error);

    public void OnDeadLetter(DeadLetter deadLetter)
    {
        DeadLetters.Add(deadLetter);
        _summary.OnDeadLetter(deadLetter);
    }

    public void OnEvent(SessionizedEvent sessionized)
    {
        Events.Add(sessionized);
        _summary.OnEvent(sessionized);
    }

    public void OnSession(Session session)
    {
        Sessions.Add(session);
        _summary.OnSession(session);
    }

    public void OnOrder(AttributedOrder order)
    {
        Orders.Add(order);
        _summary.OnOrder(order);
    }

    public void OnMetric(Metric metric)
    {
        Metrics.Add(metric);
        _summary.OnMetric(metric);
    }

    public void OnAlert(Alert alert)
    {
        Alerts.Add(alert);
        _summary.OnAlert(alert);
    }
}
