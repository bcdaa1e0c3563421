using System.Globalization;
using Puffy.Streaming.Pipeline.Validation;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>
/// The transaction ledger of a partition-parallel validator (<see cref="ITransactionLedger"/>), shared through Redis by every
/// instance: one set of candidates per transaction id (<c>{prefix}:tx:{id}</c>, members "ticks id" — adding one twice
/// changes nothing, so redelivered input is harmless), and how far each input partition has registered
/// (<c>{prefix}:through</c>). A partition publishes its new candidates before the watermark that covers them, in one
/// transaction under its lease. An instance reads every partition's watermark first and the candidate sets after it, so
/// the sets it reads hold every candidate before the lowest watermark: decisions below it are final wherever they are
/// made. Lookups are batched: a decision the local view cannot answer yet is fetched with the next
/// <see cref="RefreshAsync"/>, once per poll, not per event.
/// </summary>
public sealed class RedisTransactionLedger(IDatabase db, string keyPrefix, int partitions, TimeSpan window)
{
    private readonly RedisKey _through = keyPrefix + ":through";
    private readonly RedisKey _settled = keyPrefix + ":settled";
    private readonly RedisKey _newest = keyPrefix + ":tx-newest";
    private readonly Dictionary<string, (List<TransactionCandidate> Sorted, DateTime Complete)> _known = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wanted = new(StringComparer.Ordinal);
    private DateTime _registeredThrough = DateTime.MinValue;
    private readonly IDatabase _db = db;
    private readonly TimeSpan _window = window;

    private static readonly LuaScript Forget = LuaScript.Prepare("""
        local old = redis.call('ZRANGEBYSCORE', @newest, '-inf', '(' .. @before, 'LIMIT', 0, 10000)
        for _, tx in ipairs(old) do
            redis.call('DEL', @prefix .. tx)
            redis.call('ZREM', @newest, tx)
        end
        return #old
        """);

    /// <summary>The lowest watermark over every partition, as last read.</summary>
    public DateTime RegisteredThrough => _registeredThrough;

    /// <summary>The partitions whose watermark, as last read, is the lowest (those decisions wait for).</summary>
    public IReadOnlyList<int> Slowest { get; private set; } = [];

    /// <summary>Transaction ids waiting to be fetched.</summary>
    public int Wanted => _wanted.Count;

    private RedisKey Candidates(string transactionId) => $"{keyPrefix}:tx:{transactionId}";

    /// <summary>The view of one input partition, whose candidates and watermark only the holder of <paramref name="lease"/> publishes.</summary>
    public Partition For(int partition, PartitionLease lease) => new(this, partition, lease);

    /// <summary>
    /// Reads every partition's watermark, then the candidates of the transaction ids decisions wait for: those asked about
    /// and not known yet, and those of every purchase <paramref name="views"/> (the partitions this instance owns) registered
    /// and has not decided whose time the lowest watermark has passed, so a poll's decisions need no further round trip. A
    /// partition that never published counts as not started: nothing waiting on the ledger is decided before every
    /// partition has.
    /// </summary>
    public async Task RefreshAsync(IEnumerable<Partition> views)
    {
        ArgumentNullException.ThrowIfNull(views);
        var lowest = await LowestAsync(_through);
        _registeredThrough = lowest;
        _known.Clear();
        foreach (var view in views)
        {
            foreach (var (tx, ticks) in view.Undecided)
            {
                if (ticks < lowest.Ticks)
                    _wanted.Add(tx);
            }
        }

        if (_wanted.Count == 0)
            return;
        var wanted = _wanted.ToList();
        _wanted.Clear();
        var batch = _db.CreateBatch();
        var reads = wanted.Select(tx => batch.SetMembersAsync(Candidates(tx))).ToList();
        batch.Execute();
        for (var i = 0; i < wanted.Count; i++)
        {
            var sorted = (await reads[i]).Select(m => Parse(wanted[i], m!)).ToList();
            sorted.Sort();
            _known[wanted[i]] = (sorted, lowest);
        }
    }

    // The lowest of every partition's value in a hash of ticks; a partition without one counts as not started.
    private async Task<DateTime> LowestAsync(RedisKey key)
    {
        var values = await _db.HashGetAllAsync(key);
        var lowest = DateTime.MaxValue.Ticks;
        var slowest = new List<int>();
        for (var p = 0; p < partitions; p++)
        {
            var value = values.FirstOrDefault(e => (int)e.Name == p).Value;
            var ticks = value.HasValue ? long.Parse((string)value!, CultureInfo.InvariantCulture) : DateTime.MinValue.Ticks;
            if (ticks < lowest)
            {
                lowest = ticks;
                slowest.Clear();
            }

            if (ticks == lowest)
                slowest.Add(p);
        }

        if (key == _through)
            Slowest = slowest;
        return new DateTime(lowest, DateTimeKind.Utc);
    }

    /// <summary>
    /// Forgets the transaction ids no decision can reach any more: every partition has settled what lies before the window
    /// of their newest candidate. Atomic (a script), so a candidate added meanwhile is never deleted with an old id. Returns
    /// how many were forgotten.
    /// </summary>
    public async Task<int> ForgetAsync()
    {
        var before = TransactionCandidates.ForgetBefore(await LowestAsync(_settled), _window);
        if (before == DateTime.MinValue)
            return 0;
        var result = await _db.ScriptEvaluateAsync(Forget, new { newest = _newest, before = (long)ToScore(before), prefix = keyPrefix + ":tx:" });
        return (int)result;
    }

    private static double ToScore(DateTime t) => Math.Floor((t - DateTime.UnixEpoch).TotalMilliseconds);

    private static string Member(TransactionCandidate c) => string.Create(CultureInfo.InvariantCulture, $"{c.Ticks:D19} {EventId.ToText(c.Id)}");

    private static TransactionCandidate Parse(string transactionId, string member)
    {
        var space = member.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && long.TryParse(member.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
               && EventId.TryParse(member.AsSpan(space + 1), out var id)
            ? new TransactionCandidate(ticks, id)
            : throw new InvalidDataException($"a candidate of transaction id '{transactionId}' in Redis is not 'ticks event-id': '{member}'");
    }

    private bool TryLookUp(string transactionId, long beforeTicks, out List<TransactionCandidate> sorted)
    {
        // What was read is complete below the watermark it was read under; a later question needs a fresh read.
        if (_known.TryGetValue(transactionId, out var known) && known.Complete.Ticks >= beforeTicks)
        {
            sorted = known.Sorted;
            return true;
        }

        _wanted.Add(transactionId);
        sorted = [];
        return false;
    }

    /// <summary>One input partition's side of the ledger: what it registered since it last published, and its watermark.</summary>
    public sealed class Partition : ITransactionLedger
    {
        private readonly RedisTransactionLedger _ledger;
        private readonly int _partition;
        private readonly PartitionLease _lease;
        private readonly List<(string TransactionId, TransactionCandidate Candidate)> _registered = [];
        private readonly List<(string TransactionId, long Ticks)> _undecided = [];
        private DateTime _through = DateTime.MinValue;
        private DateTime _published = DateTime.MinValue;
        private DateTime _settled = DateTime.MinValue;
        private DateTime _settledPublished = DateTime.MinValue;

        internal Partition(RedisTransactionLedger ledger, int partition, PartitionLease lease)
        {
            _ledger = ledger;
            _partition = partition;
            _lease = lease;
        }

        public DateTime RegisteredThrough => _ledger._registeredThrough;

        /// <summary>This partition's purchases registered and not decided yet.</summary>
        internal IReadOnlyList<(string TransactionId, long Ticks)> Undecided => _undecided;

        public void Register(string transactionId, TransactionCandidate candidate)
        {
            _registered.Add((transactionId, candidate));
            _undecided.Add((transactionId, candidate.Ticks));
        }

        public void Through(DateTime watermark)
        {
            if (watermark > _through)
                _through = watermark;
        }

        public void Settled(DateTime decided)
        {
            if (decided > _settled)
                _settled = decided;
        }

        public bool TryDecide(string transactionId, TransactionCandidate candidate, out TransactionCandidate? accepted)
        {
            accepted = null;
            if (!_ledger.TryLookUp(transactionId, candidate.Ticks + 1, out var sorted))
                return false;
            accepted = TransactionCandidates.Decide(sorted, candidate, _ledger._window);
            var at = _undecided.IndexOf((transactionId, candidate.Ticks));
            if (at >= 0)
                _undecided.RemoveAt(at);
            return true;
        }

        public bool TryAcceptedBefore(string transactionId, DateTime watermark, out TransactionCandidate? accepted)
        {
            accepted = null;
            if (!_ledger.TryLookUp(transactionId, watermark.Ticks, out var sorted))
                return false;
            accepted = TransactionCandidates.AcceptedBefore(sorted, watermark, _ledger._window);
            return true;
        }

        /// <summary>
        /// Publishes the candidates registered since the last call, then the watermark that covers them, in one transaction
        /// on the condition that this instance still holds the partition's lease (<see cref="PartitionLeaseLostException"/>
        /// otherwise). A watermark published before a restart may be higher than the one restored: every candidate below it
        /// was published then, and the restarted partition registers the same ones again.
        /// </summary>
        public async Task PublishAsync()
        {
            if (_registered.Count == 0 && _through <= _published && _settled <= _settledPublished)
                return;
            var batch = _ledger._db.CreateTransaction();
            batch.AddCondition(_lease.Held);
            var writes = new List<Task>();
            foreach (var group in _registered.GroupBy(r => r.TransactionId, StringComparer.Ordinal))
            {
                writes.Add(batch.SetAddAsync(_ledger.Candidates(group.Key), group.Select(r => (RedisValue)Member(r.Candidate)).ToArray()));
                writes.Add(batch.SortedSetAddAsync(_ledger._newest, group.Key, ToScore(group.Max(r => r.Candidate.Time)), SortedSetWhen.GreaterThan));
            }

            var (through, settled) = (_through, _settled);
            writes.Add(batch.HashSetAsync(_ledger._through, _partition, through.Ticks.ToString(CultureInfo.InvariantCulture)));
            writes.Add(batch.HashSetAsync(_ledger._settled, _partition, settled.Ticks.ToString(CultureInfo.InvariantCulture)));
            if (!await batch.ExecuteAsync())
            {
                await _lease.EnsureHeldAsync(_ledger._db);
                throw new CheckpointNotAppliedException($"{_ledger._through}: partition {_partition}'s candidates were not published");
            }

            await Task.WhenAll(writes);
            _registered.Clear();
            _published = through;
            _settledPublished = settled;
        }
    }
}
