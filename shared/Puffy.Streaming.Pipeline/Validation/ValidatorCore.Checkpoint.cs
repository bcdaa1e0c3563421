using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>An open file's tallies at a checkpoint (its rows still in the reorder buffer are stored apart).</summary>
public sealed record ValidatorFileState(
    string File,
    DateOnly? Day,
    long Rows,
    long Valid,
    long Orders,
    decimal Revenue,
    long ZeroRevenueOrders,
    bool ReadDone,
    Dictionary<string, long> DeadLettered,
    FieldTallyState Fields);

/// <summary>An accepted transaction id, remembered for <c>duplicate_transaction_id</c>.</summary>
public readonly record struct AcceptedTransaction(string TransactionId, DateTime Time, string EventId);

/// <summary>
/// What a restarted validator needs to decide exactly as if it had not stopped: the stream time, the accepted event
/// ids (the worker stores them as they are accepted), the open files' tallies and the reorder buffer's rows (re-checked
/// on restore; late ones wait again for what was decided before them). Accepted transaction ids are given back to a
/// ledger of the core's own; a shared ledger keeps them itself.
/// </summary>
public sealed partial class ValidatorCore
{
    /// <summary>The stream time (largest plausible event time read so far).</summary>
    public DateTime StreamTime => _streamTime;

    /// <summary>The open files' tallies, for a checkpoint.</summary>
    public IReadOnlyList<ValidatorFileState> OpenFiles() =>
        _files.Values.Select(t => new ValidatorFileState(t.File, t.Day, t.Rows, t.Valid, t.Orders, t.Revenue, t.ZeroRevenueOrders, t.ReadDone,
            new Dictionary<string, long>(t.DeadLettered, StringComparer.Ordinal), t.Fields.ToState())).ToList();

    /// <summary>
    /// Puts a fresh core into the state of a checkpoint: stream time, remembered ids (those older than the
    /// de-duplication window are dropped as they would have expired), open files, and the rows that were waiting in the
    /// reorder buffer (checked again, counted neither as rows nor in the field tallies a second time).
    /// </summary>
    public void Restore(
        DateTime streamTime,
        IEnumerable<(UInt128 Id, DateTime Time)> acceptedIds,
        IEnumerable<AcceptedTransaction> acceptedTransactions,
        IEnumerable<ValidatorFileState> files,
        IEnumerable<RawEvent> buffered)
    {
        ArgumentNullException.ThrowIfNull(acceptedIds);
        ArgumentNullException.ThrowIfNull(acceptedTransactions);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(buffered);
        if (_streamTime != DateTime.MinValue || _files.Count > 0 || _acceptedIds.Count > 0 || _buffer.Count > 0 || _late.Count > 0)
            throw new InvalidOperationException("only a fresh validator core can be restored");
        _streamTime = streamTime;
        foreach (var (id, time) in acceptedIds)
            _acceptedIds.Add(id, time.Ticks);

        // Accepted purchases are the candidates that matter to later decisions (a ledger of the core's own starts empty).
        foreach (var tx in acceptedTransactions)
        {
            if (!EventId.TryParse(tx.EventId, out var id))
                throw new InvalidDataException($"the accepted transaction '{tx.TransactionId}' has no valid event id: '{tx.EventId}'");
            _ledger.Register(tx.TransactionId, new TransactionCandidate(tx.Time.Ticks, id));
        }

        foreach (var f in files)
        {
            var tally = new FileTally(f.File, f.Day)
            {
                Rows = f.Rows,
                Valid = f.Valid,
                Orders = f.Orders,
                Revenue = f.Revenue,
                ZeroRevenueOrders = f.ZeroRevenueOrders,
                ReadDone = f.ReadDone,
                Fields = FieldTally.FromState(f.Fields),
            };
            foreach (var (reason, count) in f.DeadLettered)
                tally.DeadLettered[reason] = count;
            _files[f.File] = tally;
        }

        // Late rows wait for what was decided before them; the others go back into the buffer (their purchases registered again).
        foreach (var raw in buffered.OrderBy(r => r.StreamTime).ThenBy(r => r.SourceFile, StringComparer.Ordinal).ThenBy(r => r.Line))
        {
            var verdict = RowChecks.Check(raw, new FieldTally());
            if (verdict.IsRejected)
                throw new InvalidDataException($"{raw.SourceFile}:{raw.Line} was buffered but fails its checks on restore: {verdict.Reason}");
            var tally = TallyFor(raw.SourceFile, raw.FileDay);
            tally.Pending++;
            var ev = verdict.Event!;
            var pending = new Pending(ev, verdict.Id, raw, tally);
            var arrivedAt = raw.StreamTime - options.AllowedLateness;
            if (ev.Timestamp < arrivedAt)
            {
                _late.Enqueue((pending, arrivedAt, raw.StreamTime));
                continue;
            }

            if (ev.TransactionId is { } tx)
                _ledger.Register(tx, new TransactionCandidate(ev.Timestamp.Ticks, verdict.Id));
            _buffer.Enqueue(pending, (ev.Timestamp.Ticks, verdict.Id, _arrivals++));
        }

        _lastTally = null;
        _ledger.Through(Watermark);
    }
}
