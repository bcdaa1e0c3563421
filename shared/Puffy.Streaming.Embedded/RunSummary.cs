using System.Globalization;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Marketing;

namespace Puffy.Streaming.Embedded;

/// <summary>Per-file accounting: rows read, columns seen, valid, dead-lettered by reason.</summary>
public sealed class FileStats(string file, DateOnly? day)
{
    public string File { get; } = file;
    public DateOnly? Day { get; } = day;
    public long Rows { get; set; }
    public string Columns { get; set; } = string.Empty;
    public long Valid { get; set; }
    public SortedDictionary<string, long> DeadLettered { get; } = new(StringComparer.Ordinal);
    public string? Error { get; set; }

    /// <summary>The file could not be opened or read (Error says why); its rows are not known, so it counts 0 rows.</summary>
    public bool Unreadable { get; set; }

    public long DeadLetteredTotal => DeadLettered.Values.Sum();

    /// <summary>rows_read = valid + dead_lettered.</summary>
    public bool Balances => Rows == Valid + DeadLetteredTotal;
}

/// <summary>The figures of a run, as written to summary.json (key names are the file's contract).</summary>
public sealed class RunSummary
{
    public long RowsRead { get; set; }
    public SortedDictionary<string, long> RowsPerFile { get; } = new(StringComparer.Ordinal);
    public long Valid { get; set; }
    public long DeadLettered { get; set; }
    public SortedDictionary<string, long> DeadLetterReasons { get; } = new(StringComparer.Ordinal);
    public long Sessions { get; set; }
    public SortedDictionary<string, long> SessionsPerDay { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, long> SessionsPerChannel { get; } = new(StringComparer.Ordinal);
    public long ConvertedSessions { get; set; }
    public long Orders { get; set; }
    public decimal Revenue { get; set; }
    public long ZeroRevenueOrders { get; set; }
    public SortedDictionary<string, SortedDictionary<string, decimal>> Attribution { get; } = new(StringComparer.Ordinal)
    {
        [AttributionModels.FirstClick] = new(StringComparer.Ordinal),
        [AttributionModels.LastClick] = new(StringComparer.Ordinal),
        [AttributionModels.LastNonDirect] = new(StringComparer.Ordinal),
    };
    public SortedDictionary<string, long> DeviceSessions { get; } = new(StringComparer.Ordinal);
    public List<Alert> Alerts { get; } = [];

    // Not part of summary.json: the tables the embedded run writes besides it.
    public SortedDictionary<string, FileStats> Files { get; } = new(StringComparer.Ordinal);
    public IReadOnlyList<MarketingDailyRow> MarketingDaily { get; set; } = [];

    public static string Day(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "unknown";

    private static readonly string[] SeverityTexts = Enum.GetValues<Severity>().Select(v => v.ToString().ToLowerInvariant()).ToArray();

    public static string SeverityText(Severity s) => SeverityTexts[(int)s];

    /// <summary>summary.json: exactly the keys of the contract; money with 2 decimals; maps sorted by key.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("rows_read", RowsRead);
            WriteMap(w, "rows_per_file", RowsPerFile);
            w.WriteNumber("valid", Valid);
            w.WriteNumber("dead_lettered", DeadLettered);
            WriteMap(w, "dead_letter_reasons", DeadLetterReasons.Where(kv => kv.Value > 0));
            w.WriteNumber("sessions", Sessions);
            WriteMap(w, "sessions_per_day", SessionsPerDay);
            WriteMap(w, "sessions_per_channel", SessionsPerChannel);
            w.WriteNumber("converted_sessions", ConvertedSessions);
            w.WriteNumber("orders", Orders);
            w.WritePropertyName("revenue");
            w.WriteRawValue(Money(Revenue));
            w.WriteNumber("zero_revenue_orders", ZeroRevenueOrders);
            w.WriteStartObject("attribution");
            foreach (var model in AttributionModels.All)
            {
                w.WriteStartObject(model);
                foreach (var (channel, revenue) in Attribution[model].Where(kv => kv.Value != 0))
                {
                    w.WritePropertyName(channel);
                    w.WriteRawValue(Money(revenue));
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            WriteMap(w, "device_sessions", DeviceSessions);
            w.WriteStartArray("alerts");
            foreach (var a in Alerts)
            {
                w.WriteStartObject();
                w.WriteString("day", Day(a.Day));
                w.WriteString("rule", a.Rule);
                w.WriteString("severity", SeverityText(a.Severity));
                w.WriteNumber("observed", a.Observed);
                w.WriteNumber("threshold", a.Threshold);
                w.WriteString("message", a.Message);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<string, long>> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
            w.WriteNumber(k, v);
        w.WriteEndObject();
    }

    public static string Money(decimal value) => decimal.Round(value, 2, MidpointRounding.AwayFromZero).ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>Builds the <see cref="RunSummary"/> from what the pipeline emits, independently of the cores' own counters.</summary>
public sealed class SummaryBuilder : IPipelineSink
{
    // The stages run in this process: each session and order reaches the summary once.
    private readonly MarketingDaily _marketing = new() { DeliveredOnce = true };

    public RunSummary Summary { get; } = new();

    private FileStats Stats(string file)
    {
        if (_lastStats is { } last && ReferenceEquals(last.File, file))
            return last;
        if (!Summary.Files.TryGetValue(file, out var s))
            Summary.Files[file] = s = new FileStats(file, EventTime.DayFromFileName(file));
        return _lastStats = s;
    }

    public void OnFileRead(string file, DateOnly? day, long rows, string? error)
    {
        var s = Stats(file);
        s.Rows += rows;
        s.Error ??= error;
        s.Unreadable |= error is not null;
        Summary.RowsRead += rows;
        Summary.RowsPerFile[file] = Summary.RowsPerFile.GetValueOrDefault(file) + rows;
    }

    public void OnDeadLetter(DeadLetter deadLetter)
    {
        Summary.DeadLettered++;
        Summary.DeadLetterReasons[deadLetter.Reason] = Summary.DeadLetterReasons.GetValueOrDefault(deadLetter.Reason) + 1;
        var s = Stats(deadLetter.SourceFile);
        s.DeadLettered[deadLetter.Reason] = s.DeadLettered.GetValueOrDefault(deadLetter.Reason) + 1;
    }

    public void OnEvent(SessionizedEvent sessionized)
    {
        Summary.Valid++;
        Stats(sessionized.Event.SourceFile).Valid++;
    }

    private readonly Dictionary<DateOnly, long> _sessionsPerDay = [];
    private readonly Dictionary<string, long> _sessionsPerChannel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _deviceSessions = new(StringComparer.Ordinal);
    private FileStats? _lastStats;

    public void OnSession(Session session)
    {
        Summary.Sessions++;
        Increment(_sessionsPerDay, DateOnly.FromDateTime(session.Start));
        Increment(_sessionsPerChannel, session.Channel);
        Increment(_deviceSessions, session.Device);
        if (session.IsConverted)
            Summary.ConvertedSessions++;
        _marketing.Add(session);
    }

    public void OnOrder(AttributedOrder order)
    {
        Summary.Orders++;
        Summary.Revenue += order.Revenue;
        if (order.IsZeroRevenue)
            Summary.ZeroRevenueOrders++;
        foreach (var model in AttributionModels.All)
        {
            var channels = Summary.Attribution[model];
            var channel = order.For(model).Channel;
            channels[channel] = channels.GetValueOrDefault(channel) + order.Revenue;
        }

        _marketing.Add(order);
    }

    public void OnMetric(Metric metric)
    {
        if (metric.Name == MetricNames.FileSchema)
            Stats(metric.Source).Columns = metric.Dimension;
        else if (metric.Name is MetricNames.FileHeaderUnusable or MetricNames.FileUnreadable)
            Stats(metric.Source).Error ??= metric.Dimension;
    }

    public void OnAlert(Alert alert) => Summary.Alerts.Add(alert);

    /// <summary>Finalises derived parts (marketing table, alert order).</summary>
    public RunSummary Complete()
    {
        foreach (var (day, count) in _sessionsPerDay)
            Summary.SessionsPerDay[RunSummary.Day(day)] = count;
        foreach (var (channel, count) in _sessionsPerChannel)
            Summary.SessionsPerChannel[channel] = count;
        foreach (var (device, count) in _deviceSessions)
            Summary.DeviceSessions[device] = count;
        Summary.MarketingDaily = _marketing.Rows();
        Summary.Alerts.Sort((a, b) =>
        {
            var c = Nullable.Compare(a.Day, b.Day);
            return c != 0 ? c : string.CompareOrdinal(a.Rule, b.Rule);
        });
        return Summary;
    }

    private static void Increment<TKey>(Dictionary<TKey, long> map, TKey key)
        where TKey : notnull
    {
        ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(map, key, out _);
        count++;
    }
}
