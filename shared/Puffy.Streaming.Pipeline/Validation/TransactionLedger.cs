namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>A purchase that competes for its transaction id: its event time and event id order it (§2: earliest wins, ties by id).</summary>
public readonly record struct TransactionCandidate(long Ticks, UInt128 Id) : IComparable<TransactionCandidate>
{
    public DateTime Time => new(Ticks, DateTimeKind.Utc);

    public int CompareTo(TransactionCandidate other) => Ticks != other.Ticks ? Ticks.CompareTo(other.Ticks) : Id.CompareTo(other.Id);

    public static bool operator <(TransactionCandidate a, TransactionCandidate b) => a.CompareTo(b) < 0;

    public static bool operator >(TransactionCandidate a, TransactionCandidate b) => a.CompareTo(b) > 0;

    public static bool operator <=(TransactionCandidate a, TransactionCandidate b) => a.CompareTo(b) <= 0;

    public static bool operator >=(TransactionCandidate a, TransactionCandidate b) => a.CompareTo(b) >= 0;
}

/// <summary>
/// Where the validator decides <c>duplicate_transaction_id</c>, which crosses clients and so partitions. Every purchase that
/// enters a reorder buffer (it passed the row checks and is not late) is registered as a candidate for its transaction id,
/// and each buffer tells the ledger how far it has registered (its watermark: no later candidate of that partition can be
/// earlier). A candidate's fate is decided only once every partition has registered past it
/// (<see cref="RegisteredThrough"/>): then all candidates that could precede it are known, and the accepted ones follow from
/// them alone — in (time, id) order, a candidate is accepted when no accepted one of its transaction id lies within the
/// de-duplication window before it — exactly what one validator deciding every event in that order accepts.
/// </summary>
public interface ITransactionLedger
{
    /// <summary>Every candidate with an event time before this is registered, on every partition.</summary>
    DateTime RegisteredThrough { get; }

    /// <summary>A purchase entered this partition's reorder buffer.</summary>
    void Register(string transactionId, TransactionCandidate candidate);

    /// <summary>This partition will register no candidate before <paramref name="watermark"/> any more.</summary>
    void Through(DateTime watermark);

    /// <summary>This partition will ask about nothing before <paramref name="decided"/> any more (what lets the ledger forget).</summary>
    void Settled(DateTime decided);

    /// <summary>
    /// Decides <paramref name="candidate"/> (before <see cref="RegisteredThrough"/>): <paramref name="accepted"/> is the accepted
    /// purchase that makes it a duplicate, or null when it is accepted itself. False when the ledger cannot tell yet (its
    /// view of the transaction id is being fetched): ask again later.
    /// </summary>
    bool TryDecide(string transactionId, TransactionCandidate candidate, out TransactionCandidate? accepted);

    /// <summary>
    /// For a late purchase at <paramref name="watermark"/> (before <see cref="RegisteredThrough"/>): the purchase of its transaction
    /// id accepted before the watermark and still remembered there (within the de-duplication window), or null. False when
    /// the ledger cannot tell yet.
    /// </summary>
    bool TryAcceptedBefore(string transactionId, DateTime watermark, out TransactionCandidate? accepted);
}

/// <summary>The decision rule over one transaction id's candidates, shared by every ledger.</summary>
public static class TransactionCandidates
{
    /// <summary>The accepted candidate that precedes <paramref name="candidate"/> within <paramref name="window"/>, or null (accepted).</summary>
    public static TransactionCandidate? Decide(IReadOnlyList<TransactionCandidate> sorted, TransactionCandidate candidate, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var last = LastAcceptedBefore(sorted, c => c < candidate, window);
        return last is { } a && a.Ticks >= candidate.Ticks - window.Ticks ? a : null;
    }

    /// <summary>The last candidate accepted before <paramref name="watermark"/>, if it is within <paramref name="window"/> of it.</summary>
    public static TransactionCandidate? AcceptedBefore(IReadOnlyList<TransactionCandidate> sorted, DateTime watermark, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var last = LastAcceptedBefore(sorted, c => c.Ticks < watermark.Ticks, window);
        return last is { } a && a.Ticks >= watermark.Ticks - window.Ticks ? a : null;
    }

    private static TransactionCandidate? LastAcceptedBefore(IReadOnlyList<TransactionCandidate> sorted, Func<TransactionCandidate, bool> before, TimeSpan window)
    {
        TransactionCandidate? last = null;
        foreach (var c in sorted)
        {
            if (!before(c))
                break;
            // A remembered transaction id is forgotten once the window has passed it: the next candidate is accepted afresh.
            if (last is not { } a || a.Ticks < c.Ticks - window.Ticks)
                last = c;
        }

        return last;
    }

    /// <summary>Adds a candidate to a sorted list (once).</summary>
    public static void Insert(List<TransactionCandidate> sorted, TransactionCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var at = sorted.BinarySearch(candidate);
        if (at < 0)
            sorted.Insert(~at, candidate);
    }

    /// <summary>
    /// How far back decisions can still look, once every partition has settled everything before <paramref name="settled"/>:
    /// a transaction id whose newest candidate is older than the result can be forgotten, as no later decision could find an
    /// accepted candidate of it within the window. One more day of margin; nothing while a flush has settled everything.
    /// </summary>
    public static DateTime ForgetBefore(DateTime settled, TimeSpan window) =>
        settled.Ticks <= window.Ticks + TimeSpan.TicksPerDay || settled == DateTime.MaxValue ? DateTime.MinValue : settled - window - TimeSpan.FromDays(1);
}

/// <summary>
/// The ledger of one process: shared by the reorder buffers of <paramref name="partitions"/> partitions (one for the embedded
/// pipeline), each through its own <see cref="Partition"/> view; what every partition registered through is held here.
/// </summary>
public sealed class TransactionLedger(TimeSpan window, int partitions = 1)
{
    private readonly Dictionary<string, List<TransactionCandidate>> _candidates = new(StringComparer.Ordinal);
    private readonly Queue<(long Ticks, string TransactionId)> _newest = new();
    private readonly DateTime[] _through = Enumerable.Repeat(DateTime.MinValue, partitions).ToArray();
    private readonly DateTime[] _settled = Enumerable.Repeat(DateTime.MinValue, partitions).ToArray();
    private DateTime _registeredThrough = DateTime.MinValue;

    /// <summary>Transaction ids remembered.</summary>
    public int Remembered => _candidates.Count;

    public DateTime RegisteredThrough => _registeredThrough;

    public ITransactionLedger Partition(int partition) => new View(this, partition);

    private void Register(string transactionId, TransactionCandidate candidate)
    {
        if (!_candidates.TryGetValue(transactionId, out var sorted))
            _candidates[transactionId] = sorted = [];
        TransactionCandidates.Insert(sorted, candidate);
        _newest.Enqueue((candidate.Ticks, transactionId));
    }

    private void Through(int partition, DateTime watermark)
    {
        if (watermark <= _through[partition])
            return;
        _through[partition] = watermark;
        var through = Earliest(_through);
        if (through > _registeredThrough)
            _registeredThrough = through;
    }

    private void Settled(int partition, DateTime decided)
    {
        if (decided <= _settled[partition])
            return;
        _settled[partition] = decided;
        var forget = TransactionCandidates.ForgetBefore(Earliest(_settled), window).Ticks;
        while (_newest.TryPeek(out var n) && n.Ticks < forget)
        {
            _newest.Dequeue();
            if (_candidates.TryGetValue(n.TransactionId, out var sorted) && sorted[^1].Ticks < forget)
                _candidates.Remove(n.TransactionId);
        }
    }

    // A loop, not Min(): LINQ enumerates an array of DateTime through an allocated enumerator, and this runs per row.
    private static DateTime Earliest(DateTime[] times)
    {
        var earliest = DateTime.MaxValue;
        foreach (var t in times)
        {
            if (t < earliest)
                earliest = t;
        }

        return earliest;
    }

    private static readonly List<TransactionCandidate> None = [];

    private List<TransactionCandidate> Of(string transactionId) =>
        _candidates.TryGetValue(transactionId, out var sorted) ? sorted : None;

    private TimeSpan Window => window;

    private sealed class View(TransactionLedger ledger, int partition) : ITransactionLedger
    {
        public DateTime RegisteredThrough => ledger._registeredThrough;

        public void Register(string transactionId, TransactionCandidate candidate) => ledger.Register(transactionId, candidate);

        public void Through(DateTime watermark) => ledger.Through(partition, watermark);

        public void Settled(DateTime decided) => ledger.Settled(partition, decided);

        public bool TryDecide(string transactionId, TransactionCandidate candidate, out TransactionCandidate? accepted)
        {
            accepted = TransactionCandidates.Decide(ledger.Of(transactionId), candidate, ledger.Window);
            return true;
        }

        public bool TryAcceptedBefore(string transactionId, DateTime watermark, out TransactionCandidate? accepted)
        {
            accepted = TransactionCandidates.AcceptedBefore(ledger.Of(transactionId), watermark, ledger.Window);
            return true;
        }
    }
}
