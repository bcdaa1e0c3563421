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
/// Transaction ids are decided by a ledger (<see cref="ITransactionLedger"/>): one of its own, or one shared with the cores
/// of other partitions of the same input, as a partition-parallel validator runs them. A purchase then waits in the buffer
/// until every partition has registered past it, and the events behind it wait too, so the output stays in order.
/// </summary>
public sealed partial class ValidatorCore
{
    private readonly ValidatorOptions options;
    private readonly ITransactionLedger _ledger;
    // Ties of (time, id) are identical rows: the one read first leaves first (a heap alone would not keep their order).
    private readonly PriorityQueue<Pending, (long Ticks, UInt128 Id, long Arrival)> _buffer = new();
    private long _arrivals;
    private readonly AcceptedIds _acceptedIds;
    private readonly Dictionary<string, FileTally> _files = new(StringComparer.Ordinal);
    // Late rows wait here until everything before the watermark they arrived at is decided (at once with a ledger of its own).
    private readonly Queue<(Pending Row, DateTime Watermark, DateTime StreamTime)> _late = new();
    private DateTime _streamTime = DateTime.MinValue;
    private FileTally? _lastTally;
    private bool _flushing;

    public ValidatorCore(ValidatorOptions options, ITransactionLedger? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        _acceptedIds = new AcceptedIds(options.DedupWindow);
        _ledger = ledger ?? new TransactionLedger(options.DedupWindow).Partition(0);
    }

    public Action<ValidEvent> OnValid { get; init; } = static _ => { };

    public Action<DeadLetter> OnDeadLetter { get; init; } = static _ => { };

    public Action<Metric> OnMetric { get; init; } = static _ => { };

    /// <summary>Events with a time before this have all been read (later ones are late).</summary>
    public DateTime Watermark => _streamTime == DateTime.MinValue ? DateTime.MinValue : _streamTime - options.AllowedLateness;

    /// <summary>
    /// Every event before this is decided: the watermark, or the first buffered event when the ledger holds it back (or
    /// <see cref="DateTime.MaxValue"/> once a flush completed).
    /// </summary>
    public DateTime DecidedThrough
    {
        get
        {
            var through = _flushing ? DateTime.MaxValue : Watermark;
            return _buffer.TryPeek(out _, out var head) && head.Ticks < through.Ticks ? new DateTime(head.Ticks, DateTimeKind.Utc) : through;
        }
    }

    public int Buffered => _buffer.Count + _late.Count;

    public int RememberedIds => _acceptedIds.Count;

    /// <summary>True while a flush waits for the ledger (other partitions) before it can decide the last purchases.</summary>
    public bool Flushing => _flushing;

    public void Accept(RawEvent raw) => Accept(raw, RowChecks.Check(raw, TallyFor(raw.SourceFile, raw.FileDay).Fields));

    /// <summary>
    /// Takes a row whose row-local checks already ran elsewhere (<see cref="RowChecks.Check"/>), so they can run on
    /// another thread; the field tally that call filled is then handed over with <see cref="EndOfFile"/>.
    /// </summary>
    public void Accept(RawEvent raw, RowVerdict verdict)
    {
        var tally = TallyFor(raw.SourceFile, raw.FileDay);
        tally.Rows++;
        AdvanceTo(raw.StreamTime);

        if (verdict.IsRejected)
        {
            DeadLetter(tally, raw, verdict.Reason!, verdict.Detail!, null, fromBuffer: false);
            return;
        }

        var ev = verdict.Event!;
        var lateBy = raw.StreamTime - options.AllowedLateness - ev.Timestamp;
        tally.Pending++;
        var pending = new Pending(ev, verdict.Id, raw, tally);
        if (lateBy > TimeSpan.Zero)
        {
            _late.Enqueue((pending, raw.StreamTime - options.AllowedLateness, raw.StreamTime));
            DecideLate();
            return;
        }

        if (ev.TransactionId is { } tx)
            _ledger.Register(tx, new TransactionCandidate(ev.Timestamp.Ticks, verdict.Id));
        _buffer.Enqueue(pending, (ev.Timestamp.Ticks, verdict.Id, _arrivals++));
    }

    /// <summary>
    /// The stream time moved on (a row or a mark of the input said so): the buffer releases what the new watermark passes.
    /// </summary>
    public void AdvanceTo(DateTime streamTime)
    {
        if (streamTime <= _streamTime)
            return;
        _streamTime = streamTime;
        _ledger.Through(Watermark);
        Release();
    }

    /// <summary>Decides what the ledger held back and can tell now (its view of the other partitions moved on).</summary>
    public void Advance()
    {
        Release();
        if (_flushing && _buffer.Count == 0 && _late.Count == 0)
        {
            _flushing = false;
            foreach (var tally in _files.Values.ToList())
            {
                tally.ReadDone = true;
                Complete(tally);
            }
        }
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

    /// <summary>
    /// End of replay: decides every buffered event and completes every file. True when done; false while purchases wait
    /// for the ledger (other partitions still reading): <see cref="Advance"/> finishes it once they can be decided.
    /// <paramref name="endOfStream"/> is the replay's last stream time: every event of it was at or before that, so this
    /// partition has registered every candidate it had (a later replay's events are expected after it).
    /// </summary>
    public bool Flush(DateTime endOfStream)
    {
        _flushing = true;
        var end = endOfStream > _streamTime ? endOfStream : _streamTime;
        _ledger.Through(end == DateTime.MaxValue ? end : end.AddTicks(1));
        Advance();
        return !_flushing;
    }

    /// <summary>End of the input: decides every buffered event and completes every file.</summary>
    public void Flush()
    {
        if (!Flush(DateTime.MaxValue))
            throw new InvalidOperationException("the transaction ledger is shared with other partitions: flush with the replay's end and advance until done");
    }

    private void Release()
    {
        var watermark = _flushing ? DateTime.MaxValue : Watermark;
        while (_buffer.TryPeek(out var p, out var key) && key.Ticks < watermark.Ticks)
        {
            TransactionCandidate? accepted = null;
            // An event id already accepted is decided here, whatever its transaction id.
            if (p.Event.TransactionId is { } tx && !_acceptedIds.Contains(p.Id, key.Ticks)
                && (key.Ticks >= _ledger.RegisteredThrough.Ticks || !_ledger.TryDecide(tx, new TransactionCandidate(key.Ticks, key.Id), out accepted)))
                break;
            _buffer.Dequeue();
            Decide(p, accepted);
        }

        DecideLate();
        var settled = DecidedThrough;
        if (_late.TryPeek(out var waiting) && waiting.Watermark < settled)
            settled = waiting.Watermark;
        _ledger.Settled(settled);
    }

    private void DecideLate()
    {
        while (_late.TryPeek(out var late))
        {
            // What was accepted when the row arrived: everything before the watermark then, on every partition.
            var (p, watermark, streamTime) = late;
            if (DecidedThrough < watermark)
                return;
            TransactionCandidate? accepted = null;
            var ev = p.Event;
            if (ev.TransactionId is { } tx && !_acceptedIds.Contains(p.Id, ev.Timestamp.Ticks)
                && (watermark > _ledger.RegisteredThrough || !_ledger.TryAcceptedBefore(tx, watermark, out accepted)))
                return;
            _late.Dequeue();
            p.Tally.Pending--;
            if (_acceptedIds.Contains(p.Id, ev.Timestamp.Ticks))
                DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateEvent, "an identical event was already accepted", ev, fromBuffer: true);
            else if (accepted is { } first)
                DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateTransactionId, DuplicateTxDetail(ev.TransactionId!, first), ev, fromBuffer: true);
            else
                DeadLetter(p.Tally, p.Raw, DeadLetterReasons.LateEvent, string.Create(CultureInfo.InvariantCulture,
                    $"event time {EventTime.Iso(ev.Timestamp)} is {(streamTime - ev.Timestamp).TotalMinutes:0.###} min behind stream time {EventTime.Iso(streamTime)} (allowed lateness {options.AllowedLateness.TotalMinutes:0.###} min)"), ev, fromBuffer: true);
        }
    }

    private void Decide(Pending p, TransactionCandidate? accepted)
    {
        var ev = p.Event;
        _acceptedIds.Forget(ev.Timestamp.Ticks - options.DedupWindow.Ticks);
        p.Tally.Pending--;
        // A duplicate event is told before a duplicate transaction id; the usual case (neither) costs one set operation.
        if (accepted is { } first && !_acceptedIds.Contains(p.Id, ev.Timestamp.Ticks))
        {
            DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateTransactionId, DuplicateTxDetail(ev.TransactionId!, first), ev, fromBuffer: true);
            return;
        }

        if (accepted is not null || !_acceptedIds.Add(p.Id, ev.Timestamp.Ticks))
        {
            DeadLetter(p.Tally, p.Raw, DeadLetterReasons.DuplicateEvent, "an identical event was already accepted", ev, fromBuffer: true);
            return;
        }

        if (ev.TransactionId is not null)
        {
            p.Tally.Orders++;
            p.Tally.Revenue += ev.Revenue ?? 0m;
            if (ev.Revenue == 0m)
                p.Tally.ZeroRevenueOrders++;
        }

        p.Tally.Valid++;
        OnValid(ev);
        CompleteIfDone(p.Tally);
    }

    private static string DuplicateTxDetail(string tx, TransactionCandidate first) =>
        $"transaction_id '{tx}' was already accepted on event {EventId.ToText(first.Id)} at {EventTime.Iso(first.Time)}";

    private void DeadLetter(FileTally tally, RawEvent raw, string reason, string detail, ValidEvent? ev, bool fromBuffer)
    {
        tally.DeadLettered[reason] = tally.DeadLettered.GetValueOrDefault(reason) + 1;
        var severity = DeadLetterReasons.SeverityOf(reason);
        var clientId = string.IsNullOrWhiteSpace(raw.ClientId) ? null : raw.ClientId;
        // A row still in the file's bytes keeps its UTF-8 (a copy: the file's buffer serves a later file once this one is decided).
        OnDeadLetter(raw.TryGetOriginalRowUtf8(out var row)
            ? Contracts.DeadLetter.FromUtf8Row(reason, severity, detail, raw.SourceFile, raw.Line, raw.FileDay, row.ToArray(), ev?.EventId, clientId, ev?.Timestamp)
            : new DeadLetter(reason, severity, detail, raw.SourceFile, raw.Line, raw.FileDay, raw.OriginalRow, ev?.EventId, clientId, ev?.Timestamp));
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
