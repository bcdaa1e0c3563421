namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>
/// The accepted event ids of the de-duplication window, kept in one set per slice of event time (a 32nd of the window).
/// An event id hashes the row's timestamp with its other content (semantics §1), so every copy of an event has the
/// time of the copy accepted first: a lookup goes to that time's slice alone, and a slice is dropped whole once the
/// window has passed its end. A single set needs one removal per id as it expires, and each of those misses the cache
/// on an entry written a window earlier; a slice's set is about a 32nd of the window's ids, and the slice being
/// decided stays in cache while its ids are added.
/// </summary>
internal sealed class AcceptedIds(TimeSpan window)
{
    private const int SlicesPerWindow = 32;
    private readonly long _sliceTicks = Math.Max(1, window.Ticks / SlicesPerWindow);
    private readonly Dictionary<long, HashSet<UInt128>> _slices = [];
    // Slices by start, to drop the oldest first (ids arrive in time order, but a restore or a late decision need not).
    private readonly PriorityQueue<long, long> _byStart = new();
    private readonly Stack<HashSet<UInt128>> _spare = new();
    private long _forgottenBefore = long.MinValue;
    private long _lastSlice = -1;
    private HashSet<UInt128>? _last;

    /// <summary>Ids held: those of the window, and those of its oldest slice that are already behind it.</summary>
    public int Count { get; private set; }

    /// <summary>True if the id was accepted at <paramref name="ticks"/> (the event's own time) and is not forgotten.</summary>
    public bool Contains(UInt128 id, long ticks) => ticks >= _forgottenBefore && Slice(ticks, create: false) is { } ids && ids.Contains(id);

    /// <summary>Remembers an id accepted at <paramref name="ticks"/>; false if it was already remembered.</summary>
    public bool Add(UInt128 id, long ticks)
    {
        if (ticks < _forgottenBefore)
            return true;
        if (!Slice(ticks, create: true)!.Add(id))
            return false;
        Count++;
        return true;
    }

    /// <summary>Forgets the ids accepted before <paramref name="beforeTicks"/> (never un-forgets: the limit only moves on).</summary>
    public void Forget(long beforeTicks)
    {
        if (beforeTicks <= _forgottenBefore)
            return;
        _forgottenBefore = beforeTicks;
        while (_byStart.TryPeek(out var slice, out _) && slice < beforeTicks / _sliceTicks)
        {
            _byStart.Dequeue();
            _slices.Remove(slice, out var ids);
            Count -= ids!.Count;
            ids.Clear();
            _spare.Push(ids);
            if (slice == _lastSlice)
            {
                _last = null;
                _lastSlice = -1;
            }
        }
    }

    private HashSet<UInt128>? Slice(long ticks, bool create)
    {
        var slice = ticks / _sliceTicks;
        if (slice == _lastSlice)
            return _last;
        if (!_slices.TryGetValue(slice, out var ids))
        {
            if (!create)
                return null;
            // A new set starts at the size of the slice before it, instead of growing to it by doubling.
            ids = _spare.TryPop(out var spare) ? spare : new HashSet<UInt128>(_last?.Count ?? 0);
            _slices.Add(slice, ids);
            _byStart.Enqueue(slice, slice);
        }

        _lastSlice = slice;
        return _last = ids;
    }
}
