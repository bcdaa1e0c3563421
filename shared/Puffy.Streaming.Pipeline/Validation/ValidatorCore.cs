using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Pipeline.Validation;

public sealed class ValidatorOptions
{
    /// <summary>How far behind the stream time an event may arrive before it is <c>late_event</c>.</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long (in event time) accepted event ids and transaction ids are remembered for de-duplication.</summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>
/// The validator's core. Row-local checks run on arrival; events that pass wait in a reorder buffer until the
/// watermark (stream time − allowed lateness) passes them, and leave it in (event time, event id) order. That
/// order is where the duplicate checks happen, so "earliest event wins, ties by smaller event id" holds whatever
/// the delivery order, and everything downstream sees sorted input. An event already behind the watermark on
/// arrival is late: it is checked for duplicates against what was accepted, then dead-lettered as <c>late_event</c>.
/// </summary>
public sealed partial class ValidatorCore(ValidatorOptions options)
{
    private readonly PriorityQueue<Pending, (long Ticks, UInt128 Id)> _buffer = new();
    private readonly HashSet<UInt128> _acceptedIds = [];
    private readonly Queue<(long Ticks, UInt128 Id)> _idExpiry = new();
    private readonly Dictionary<string, (DateTime Time, string EventId)> _acceptedTransactions = new(StringComparer.Ordinal);
    private readonly Queue<(long Ticks, string TransactionId)> _txExpiry = new();
    private readonly Dictionary<string, FileTally> _files = new(StringComparer.Ordinal);
    private DateTime _streamTime = DateTime.MinValue;
    private FileTally? _lastTally;

    public Action<ValidEvent> OnValid { get; init; } = static _ => { };

    public Action<DeadLetter> OnDeadLetter { get; init; } = static _ => { };

    public Action<Metric> OnMetric { get; init; } = static _ => { };

    /// <summary>Events with a time before this have all been decided.</summary>
    public DateTime Watermark => _streamTime == DateTime.MinValue ? DateTime.MinValue : _streamTime - options.AllowedLateness;

    public int Buffered => _buffer.Count;

    public int RememberedIds => _acceptedIds.Count;

    public void Accept(RawEvent raw) => Accept(raw, RowChecks.Check(raw, TallyFor(raw.SourceFile, raw.FileDay).Fields));

    /// <summary>
    /// Takes a row whose row-local checks already ran elsewhere (<see cref="RowChecks.Check"/>), so they can run on
    /// another thread; the field tally that call filled is then handed over with <see cref="EndOfFile"/>.
    /// </summary>
    public void Accept(RawEvent raw, RowVerdict verdict)
    {
        var tally = TallyFor(raw.SourceFile, raw.FileDay);
        tally.Rows++;
        if (raw.StreamTime > _streamTime)
        {
            _streamTime = raw.StreamTime;
            Release(Watermark);
        }

        if (verdict.IsRejected)
        {
            DeadLetter(tally, raw, verdict.Reason!, verdict.Detail!, null, fromBuffer: false);
            return;
        }

        var ev = verdict.Event!;
        var lateBy = raw.StreamTime - options.AllowedLateness - ev.Timestamp;
        if (lateBy > TimeSpan.Zero)
        {
            if (_acceptedIds.Contains(verdict.Id))
                DeadLetter(tally, raw, DeadLetterReasons.DuplicateEvent, "an identical event was already accepted", ev, fromBuffer: false);
            else if (ev.TransactionId is { } tx && _acceptedTransactions.TryGetValue(tx, out var first))
                DeadLetter(tally, raw, DeadLetterReasons.DuplicateTransactionId, DuplicateTxDetail(tx, first), ev, fromBuffer: false);
            else
                DeadLetter(tally, raw, DeadLetterReasons.LateEvent, string.Create(CultureInfo.InvariantCulture,
                    $"event time {EventTime.Iso(ev.Timestamp)} is {(raw.StreamTime - ev.Timestamp).TotalMinutes:0.###} min behind stream time {EventTime.Iso(raw.StreamTime)} (allowed lateness {options.AllowedLateness.TotalMinutes:0.###} min)"), ev, fromBuffer: false);
            return;
        }

        tally.Pending++;
        _buffer.Enqueue(new Pending(ev, verdict.Id, raw, tally), (ev.Timestamp.Ticks, verdict.Id));
    }

    /// <summary>Marks a file as fully read; its metrics follow once its last buffered event is decided.</summary>
    public void EndOfFile(string fileName, DateOnly? fileDay, FieldTally? fields = null)
    {
        var tally = TallyFor(fileName, fileDay);
        if (fields is not null)
            tally.Fields = fields;
        tally.ReadDone = true;
        if (tally.Pending == 0)
            Complete(tally);
    }

    /// <summary>End of replay: decides every buffered event and completes every file.</summary>
    public void Flush()
    {
        Release(DateTime.MaxValue);
        foreach (var tally in _files.Values.ToList())
        {
            tally.ReadDone = true;
            Complete(tally);
        }
    }

    private void Release(DateTime watermark)
    {
        while (_buffer.TryPeek(out var p, out var key) && key.Ticks < watermark.Ticks)
        {
            _buffer.Dequeue();
            Decide(p);
        }
    }

    private void Decide(Pending p)
    {
        var ev = p.Event;
        Expire(ev.Timestamp.Ticks - options.DedupWindow.Ticks);
        p.Tally.Pending--;
        if (_acceptedIds.Contains(p.Id))
        {
            DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateEvent, "an identical event was already accepted", ev, fromBuffer: true);
            return;
        }

        if (ev.TransactionId is { } tx && _acceptedTransactions.TryGetValue(tx, out var first))
        {
            DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateTransactionId, DuplicateTxDetail(tx, first), ev, fromBuffer: true);
            return;
        }

        _acceptedIds.Add(p.Id);
        _idExpiry.Enqueue((ev.Timestamp.Ticks, p.Id));
        if (ev.TransactionId is { } newTx)
        {
            _acceptedTransactions[newTx] = (ev.Timestamp, ev.EventId);
            _txExpiry.Enqueue((ev.Timestamp.Ticks, newTx));
            p.Tally.Orders++;
            p.Tally.Revenue += ev.Revenue ?? 0m;
            if (ev.Revenue == 0m)
                p.Tally.ZeroRevenueOrders++;
        }

        p.Tally.Valid++;
        OnValid(ev);
        CompleteIfDone(p.Tally);
    }

    private static string DuplicateTxDetail(string tx, (DateTime Time, string EventId) first) =>
        $"transaction_id '{tx}' was already accepted on event {first.EventId} at {EventTime.Iso(first.Time)}";

    private void Expire(long beforeTicks)
    {
        while (_idExpiry.TryPeek(out var e) && e.Ticks < beforeTicks)
        {
            _idExpiry.Dequeue();
            _acceptedIds.Remove(e.Id);
        }

        while (_txExpiry.TryPeek(out var t) && t.Ticks < beforeTicks)
        {
            _txExpiry.Dequeue();
            _acceptedTransactions.Remove(t.TransactionId);
        }
    }

    private void DeadLetter(FileTally tally, RawEvent raw, string reason, string detail, ValidEvent? ev, bool fromBuffer)
    {
        tally.DeadLettered[reason] = tally.DeadLettered.GetValueOrDefault(reason) + 1;
        OnDeadLetter(new DeadLetter(reason, DeadLetterReasons.SeverityOf(reason), detail, raw.SourceFile, raw.Line,
            raw.FileDay, raw.OriginalRow, ev?.EventId, string.IsNullOrWhiteSpace(raw.ClientId) ? null : raw.ClientId, ev?.Timestamp));
        if (fromBuffer)
            CompleteIfDone(tally);
    }

    private void CompleteIfDone(FileTally tally)
    {
        if (tally.ReadDone && tally.Pending == 0)
            Complete(tally);
    }

    private FileTally TallyFor(string file, DateOnly? day)
    {
        if (_lastTally is { } last && ReferenceEquals(last.File, file))
            return last;
        if (!_files.TryGetValue(file, out var tally))
        {
            tally = new FileTally(file, day);
            _files[file] = tally;
        }

        return _lastTally = tally;
    }

    private void Complete(FileTally t)
    {
        if (!_files.Remove(t.File))
            return;
        if (ReferenceEquals(_lastTally, t))
            _lastTally = null;
        OnMetric(new Metric(t.Day, MetricNames.FileValid, string.Empty, t.Valid, t.File));
        foreach (var (reason, count) in t.DeadLettered.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            OnMetric(new Metric(t.Day, MetricNames.FileDeadLettered, reason, count, t.File));
        OnMetric(new Metric(t.Day, MetricNames.FileOrders, string.Empty, t.Orders, t.File));
        OnMetric(new Metric(t.Day, MetricNames.FileRevenue, string.Empty, (double)t.Revenue, t.File));
        OnMetric(new Metric(t.Day, MetricNames.FileZeroRevenueOrders, string.Empty, t.ZeroRevenueOrders, t.File));
        foreach (var m in t.Fields.ToMetrics(t.Day, t.File))
            OnMetric(m);
        OnMetric(new Metric(t.Day, MetricNames.FileComplete, string.Empty, t.Rows, t.File));
    }

    // A value, not an object: the buffer holds a few dozen rows, and every row passes through it.
    private readonly record struct Pending(ValidEvent Event, UInt128 Id, RawEvent Raw, FileTally Tally);

    private sealed class FileTally(string file, DateOnly? day)
    {
        public string File { get; } = file;
        public DateOnly? Day { get; } = day;
        public long Rows { get; set; }
        public long Valid { get; set; }
        public long Orders { get; set; }
        public decimal Revenue { get; set; }
        public long ZeroRevenueOrders { get; set; }
        public int Pending { get; set; }
        public bool ReadDone { get; set; }
        public Dictionary<string, long> DeadLettered { get; } = new(StringComparer.Ordinal);
        public FieldTally Fields { get; set; } = new();
    }
}
