using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// Everything the embedded run on the real data hands its sink (dead letters, events, sessions, orders, metrics, in
/// the order the pipeline emits them), plus the run summary the sink's run-level tables come from. Held in memory so
/// that a store benchmark times the store alone.
/// </summary>
internal sealed class RunRows
{
    private readonly List<object> _items;

    private RunRows(List<object> items, RunSummary summary)
    {
        _items = items;
        Summary = summary;
    }

    public RunSummary Summary { get; }

    /// <summary>Rows of the streamed tables (events, dead_letters, sessions, orders, metrics).</summary>
    public int StreamedRows => _items.Count;

    /// <summary>Rows of the tables written at the end (marketing_daily, alerts, file_stats).</summary>
    public int RunLevelRows => Summary.MarketingDaily.Count + Summary.Alerts.Count + Summary.Files.Count;

    public long TotalRows => StreamedRows + RunLevelRows;

    /// <summary>Per table, the rows a store must hold after <see cref="WriteTo"/> and its completion.</summary>
    public IReadOnlyDictionary<string, long> RowsPerTable()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal)
        {
            ["events"] = _items.Count(i => i is SessionizedEvent),
            ["dead_letters"] = _items.Count(i => i is DeadLetter),
            ["sessions"] = _items.Count(i => i is Session),
            ["orders"] = _items.OfType<AttributedOrder>().Select(o => o.TransactionId).Distinct(StringComparer.Ordinal).Count(),
            ["metrics"] = _items.Count(i => i is Metric),
            ["marketing_daily"] = Summary.MarketingDaily.Count,
            ["alerts"] = Summary.Alerts.Count,
            ["file_stats"] = Summary.Files.Count,
        };
        return counts;
    }

    /// <summary>Runs the embedded pipeline on the bundled data and keeps what it emits.</summary>
    public static RunRows Capture()
    {
        var capture = new CapturingSink();
        var summary = new SummaryBuilder();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), new CompositeSink(summary, capture));
        pipeline.Run(Directory.GetFiles(RealData.Folder, "*.csv"));
        if (pipeline.RowsRead != RealData.Rows)
            throw new InvalidOperationException($"expected {RealData.Rows} rows from {RealData.Folder}, read {pipeline.RowsRead}");
        return new RunRows(capture.Items, summary.Complete());
    }

    /// <summary>
    /// The rows repeated <paramref name="copies"/> times, as <c>puffy bench --scale</c> repeats the files: copy k is
    /// shifted by k times the data's span in days, and its event, client, session and transaction ids get a suffix so
    /// they stay distinct. The run-level tables stay those of the real data (a few hundred rows).
    /// </summary>
    public RunRows ScaledUp(int copies)
    {
        if (copies <= 1)
            return this;
        var days = Summary.Files.Values.Select(f => f.Day).OfType<DateOnly>().ToList();
        var span = days.Count == 0 ? 1 : days.Max().DayNumber - days.Min().DayNumber + 1;
        var items = new List<object>(_items.Count * copies);
        items.AddRange(_items);
        for (var k = 1; k < copies; k++)
        {
            var copy = new Copy(k, k * span);
            items.AddRange(_items.Select(copy.Of));
        }

        return new RunRows(items, Summary);
    }

    /// <summary>Hands every row to <paramref name="sink"/> in the order the pipeline emitted them.</summary>
    public void WriteTo(IPipelineSink sink)
    {
        foreach (var item in _items)
        {
            switch (item)
            {
                case SessionizedEvent e:
                    sink.OnEvent(e);
                    break;
                case DeadLetter d:
                    sink.OnDeadLetter(d);
                    break;
                case Session s:
                    sink.OnSession(s);
                    break;
                case AttributedOrder o:
                    sink.OnOrder(o);
                    break;
                case Metric m:
                    sink.OnMetric(m);
                    break;
            }
        }
    }

    private sealed class CapturingSink : IPipelineSink
    {
        public List<object> Items { get; } = [];

        public void OnDeadLetter(DeadLetter deadLetter) => Items.Add(deadLetter);

        public void OnEvent(SessionizedEvent sessionized) => Items.Add(sessionized);

        public void OnSession(Session session) => Items.Add(session);

        public void OnOrder(AttributedOrder order) => Items.Add(order);

        public void OnMetric(Metric metric) => Items.Add(metric);
    }

    private sealed class Copy(int k, int days)
    {
        private readonly string _suffix = "-" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public object Of(object item) => item switch
        {
            SessionizedEvent s => s with
            {
                Event = s.Event with
                {
                    EventId = Id(s.Event.EventId), ClientId = Id(s.Event.ClientId), Timestamp = Time(s.Event.Timestamp),
                    TransactionId = Id(s.Event.TransactionId), StreamTime = Time(s.Event.StreamTime),
                },
                SessionId = Id(s.SessionId), SessionStart = Time(s.SessionStart),
            },
            DeadLetter d => d with
            {
                EventId = Id(d.EventId), ClientId = Id(d.ClientId), Timestamp = d.Timestamp is { } t ? Time(t) : null,
                FileDay = d.FileDay?.AddDays(days),
            },
            Session x => x with
            {
                SessionId = Id(x.SessionId), ClientId = Id(x.ClientId), Start = Time(x.Start), End = Time(x.End),
                TransactionIds = x.TransactionIds.Select(t => Id(t)).ToList(),
            },
            AttributedOrder o => o with
            {
                TransactionId = Id(o.TransactionId), ClientId = Id(o.ClientId), EventId = Id(o.EventId),
                PurchaseTime = Time(o.PurchaseTime), SessionId = Id(o.SessionId),
                FirstClick = Touch(o.FirstClick), LastClick = Touch(o.LastClick), LastNonDirect = Touch(o.LastNonDirect),
            },
            Metric m => m with { Day = m.Day?.AddDays(days) },
            _ => throw new InvalidOperationException($"unexpected row type {item.GetType().Name}"),
        };

        private Touch Touch(Touch t) => t with { SessionId = Id(t.SessionId), SessionStart = Time(t.SessionStart) };

        private DateTime Time(DateTime t) => t.AddDays(days);

        // Empty ids (a dead letter's missing client id) stay empty, as the scale-up keeps defects as they are.
        [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(id))]
        private string? Id(string? id) => string.IsNullOrEmpty(id) ? id : id + _suffix;
    }
}
