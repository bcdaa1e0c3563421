namespace Puffy.Streaming.Testing;

/// <summary>
/// What a stand-in server recorded, one item per request, and a wait until enough has arrived. A request is recorded
/// before it is answered, so a client that has finished sending has its requests here.
/// </summary>
/// <param name="measure">How much the requests so far amount to (their number, or e.g. the log events they carry).</param>
internal sealed class RecordedRequests<T>(Func<IReadOnlyList<T>, int> measure, string unit)
{
    // Only a guard against a hanging test; a passing test never waits on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly List<T> _items = [];
    private (int Count, TaskCompletionSource Done)? _waiter;

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_gate)
            {
                return [.. _items];
            }
        }
    }

    public void Add(T item)
    {
        lock (_gate)
        {
            _items.Add(item);
            if (_waiter is { } waiter && measure(_items) >= waiter.Count)
            {
                _waiter = null;
                waiter.Done.SetResult();
            }
        }
    }

    /// <summary>Completes once the requests amount to at least <paramref name="count"/>; returns all that arrived.</summary>
    public async Task<IReadOnlyList<T>> WaitForAsync(int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (measure(_items) >= count)
                done.SetResult();
            else
                _waiter = (count, done);
        }

        try
        {
            await done.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            var items = Items;
            throw new TimeoutException($"Expected {count} {unit}, got {measure(items)} in {items.Count} requests.");
        }

        return Items;
    }
}
