using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>One message of a partition: a record, a mark, or (both null) a poison message already dead-lettered.</summary>
public readonly record struct Merged<T>(int Partition, long Offset, StreamPosition Position, T? Record, StreamMark? Mark)
    where T : class;

/// <summary>
/// A stage's work on one input partition: the state of the keys that partition carries, loaded when the partition is
/// assigned to this instance and saved at each checkpoint, so whichever instance owns the partition continues it.
/// </summary>
public interface IPartitionWork<T>
    where T : class
{
    /// <summary>The next message of the partition, in its order: a record, a mark, or (both null) poison already dead-lettered.</summary>
    void Accept(Merged<T> message);

    /// <summary>
    /// Stores what changed since the last call, and with it, in the same transaction, <paramref name="resumeAt"/>: where in the
    /// partition the state ends (null: unchanged since the last save). The stage's outputs are durable by then. False when
    /// nothing was stored because another instance owns the partition now (it took the partition's lease).
    /// </summary>
    Task<bool> SaveAsync(ResumePoint? resumeAt);

    /// <summary>
    /// Where the state loaded when the partition was opened ends: as stored with it by the last save of any owner, or null
    /// when none was stored (the consumer group's committed offset is used then). The partition resumes there, not at the
    /// group's commit: a commit can be refused, or its instance die, after the state was stored.
    /// </summary>
    ResumePoint? Stored { get; }

    /// <summary>
    /// False while what was processed has effects still to come that the state does not hold (the runtime then commits nothing
    /// past the last commit, and a restart processes it again).
    /// </summary>
    bool MayCommit => true;
}

/// <summary>
/// The stream runtime of a partition-parallel stage: any number of instances share the input topic's partitions through
/// their consumer group, and each partition is processed on its own, in its order, with its own state
/// (<see cref="IPartitionWork{T}"/>). Nothing crosses partitions, so the result is the same for any number of instances and
/// any assignment. A checkpoint makes the outputs durable (<c>flushOutputs</c>), stores each partition's changed state, then
/// commits exactly what was processed; the state carries the offset it reflects, and a partition opened again resumes at that
/// offset, so state and position never part even when a commit fails after a save. When partitions move (an instance starts, stops or dies), the revoked ones are
/// checkpointed before they are given up (inside the rebalance) and a new owner loads their state before its first message;
/// partitions lost without a revocation (this instance was expelled from the group) are dropped unsaved: their new owner
/// continues from the last checkpoint, and a save that arrives late is refused by the partition's lease.
/// </summary>
public sealed class PartitionedStream<T, TWork> : IStageStream, IDisposable
    where T : class
    where TWork : class, IPartitionWork<T>
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly string _topic;
    private readonly MessageCodec _codec;
    private readonly Func<T, StreamPosition> _positionOf;
    private readonly StreamProducer _deadLetters;
    private readonly Func<int, Task<TWork>> _open;
    private readonly Func<Task> _flushOutputs;
    private readonly Action<string> _warn;
    private readonly Action<string> _info;
    private readonly Dictionary<int, Owned> _owned = [];
    private readonly List<(Owned Owner, ConsumeResult<byte[]?, byte[]?> Result)> _batch = [];
    private readonly ReplayHeader _replay = new();

    public PartitionedStream(
        ConsumerConfig config,
        string topic,
        Func<T, StreamPosition> positionOf,
        StreamProducer producer,
        Func<int, Task<TWork>> open,
        Func<Task> flushOutputs,
        Action<string>? warn = null,
        Action<string>? info = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(producer);
        _warn = warn ?? (static _ => { });
        _info = info ?? _warn;
        var settings = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value))
        {
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Never skip silently: a position the broker no longer holds means messages were lost.
            AutoOffsetReset = AutoOffsetReset.Error,
            // Incremental rebalancing: only the partitions that move are revoked; the others go on undisturbed.
            PartitionAssignmentStrategy = config.PartitionAssignmentStrategy ?? PartitionAssignmentStrategy.CooperativeSticky,
        };
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(settings)
            .SetLogHandler(KafkaClientLog.Handler)
            .SetErrorHandler((_, e) => _warn($"Kafka consumer error on {topic}: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .SetPartitionsAssignedHandler((c, partitions) => Assigned(c, partitions))
            .SetPartitionsRevokedHandler((_, partitions) => Revoked(partitions))
            .SetPartitionsLostHandler((_, partitions) => Lost(partitions))
            .Build();
        _topic = topic;
        _codec = producer.Codec;
        _positionOf = positionOf;
        _deadLetters = producer;
        _open = open;
        _flushOutputs = flushOutputs;
    }

    /// <summary>The work of each owned partition whose state is loaded.</summary>
    public IEnumerable<(int Partition, TWork Work)> Works =>
        _owned.Where(o => o.Value.Work is not null).OrderBy(o => o.Key).Select(o => (o.Key, o.Value.Work!));

    /// <summary>The replay the latest input came from (header <c>puffy-replay</c>).</summary>
    public string? ReplayId => _replay.Current;

    /// <summary>
    /// The input is an ordered topic: each partition's records come in strictly increasing <see cref="StreamPosition"/>. A
    /// record at or behind the last one taken on its partition is then a copy (sent again by an upstream instance restarted
    /// from its checkpoint, or by one that lost the partition without knowing yet, e.g. after being frozen) and is dropped,
    /// however late it comes: the state never sees an old event after newer ones. The last position taken is stored with
    /// the state (<see cref="ResumePoint"/>).
    /// </summary>
    public bool InputInOrder { get; init; }

    /// <summary>How long an owned partition may go without a message while others move before it is logged (and again each time as long).</summary>
    public TimeSpan StallWarningAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Joins the consumer group: the group's coordinator hands this instance its share of the partitions.</summary>
    public void Start()
    {
        _consumer.Subscribe(_topic);
        _info($"Joining the consumer group on {_topic}; partitions are assigned by the group");
    }

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> (waiting up to <paramref name="wait"/> for the first) and hands each to
    /// its partition's work, in the partition's order, loading a newly assigned partition's state first. Returns how many
    /// were processed.
    /// </summary>
    public async Task<int> PollAsync(TimeSpan wait, int maxMessages, CancellationToken cancellationToken)
    {
        _batch.Clear();
        _polls++;
        ResumeAssigned();
        Batches.Consume(_consumer, wait, maxMessages, result =>
        {
            if (_owned.TryGetValue(result.Partition.Value, out var owner))
                _batch.Add((owner, result));
        }, _warn, cancellationToken);
        ResumeAssigned();
        var processed = 0;
        foreach (var (owner, result) in _batch)
        {
            // A message fetched under an ownership a rebalance has ended since is dropped: its partition was checkpointed
            // when given up and restarts from its commit (here or elsewhere). Partitions kept through the rebalance go on.
            var p = result.Partition.Value;
            if (!_owned.TryGetValue(p, out var owned) || !ReferenceEquals(owned, owner) || owned.Fenced)
                continue;
            if (owned.Work is null && !await OpenAsync(p, owned, result.Offset.Value))
                continue;
            // After a seek to the stored offset, what was fetched from the group's commit is not this state's to take.
            if (owned.SoughtInPoll == _polls || result.Offset.Value < owned.Next)
                continue;
            _replay.Observe(result.Message.Headers);
            var message = Decode(result);
            owned.Next = result.Offset.Value + 1;
            owned.UncommittedBytes += result.Message.Value?.Length ?? 0;
            owned.Quiet.Restart();
            if (InputInOrder && message.Record is not null)
            {
                if (owned.Taken is { } taken && message.Position <= taken)
                {
                    owned.Copies++;
                    continue;
                }

                owned.Taken = message.Position;
            }

            owned.Work!.Accept(message);
            processed++;
        }

        ReportCopies();
        WarnAboutQuietPartitions(processed);
        return processed;
    }

    private long _polls;

    private void ReportCopies()
    {
        foreach (var (p, owned) in _owned.Where(o => o.Value.Copies > 0))
        {
            _info(string.Create(CultureInfo.InvariantCulture,
                $"Partition {p} of {_topic}: dropped {owned.Copies} record(s) at or behind its last taken position {owned.Taken} (copies sent again upstream)"));
            owned.Copies = 0;
        }
    }

    // Loads a partition's state when its first message comes. When the state was stored at another offset than the group's
    // commit (where fetching started), the partition goes on from the stored one: ahead, what the state already reflects is
    // skipped; behind (a commit the state never saw), the partition is read again from there. False: this message is not taken.
    private async Task<bool> OpenAsync(int partition, Owned owned, long offset)
    {
        var work = await _open(partition);
        owned.Work = work;
        if (work.Stored is not { } point)
            return true;
        owned.Saved = point;
        owned.Taken = point.Taken;
        var stored = point.Offset;
        if (stored == offset)
            return true;
        _info(string.Create(CultureInfo.InvariantCulture,
            $"Partition {partition} of {_topic}: its stored state ends at offset {stored}, the group's commit at {offset}; resuming at {stored}"));
        owned.Next = stored;
        if (stored > offset)
            return false; // the messages up to it are skipped as they come (offset < Next)
        _consumer.Seek(new TopicPartitionOffset(_topic, partition, stored));
        owned.SoughtInPoll = _polls;
        return false;
    }

    private bool _paused;
    private readonly List<TopicPartition> _assignedSincePoll = [];

    // librdkafka keeps a partition's pause across a rebalance: one this instance paused while it owned it before (lost or
    // revoked during a hold-back) would come back paused and never be fetched again. Partitions newly assigned start
    // unpaused (a hold-back in progress pauses them again).
    private void ResumeAssigned()
    {
        if (_assignedSincePoll.Count == 0 || _paused)
            return;
        var assignment = _consumer.Assignment.ToHashSet();
        _consumer.Resume(_assignedSincePoll.Where(assignment.Contains).ToList());
        _assignedSincePoll.Clear();
    }

    /// <summary>
    /// Waits while the stage holds back (downstream too far behind) without leaving the group: every partition is paused
    /// and the consumer keeps being polled, which serves rebalances and heartbeats and keeps the instance inside
    /// <c>max.poll.interval.ms</c>, so a long hold-back neither stalls a rebalance nor gets the instance expelled.
    /// </summary>
    public void Idle(TimeSpan wait)
    {
        // Paused again each time: partitions assigned meanwhile start unpaused.
        _consumer.Pause(_consumer.Assignment);
        _paused = true;
        if (_consumer.Consume(wait) is { IsPartitionEOF: false } early)
        {
            // Fetched before the pause took effect: read it again after the hold-back instead of losing it.
            _consumer.Seek(early.TopicPartitionOffset);
        }
    }

    /// <summary>Ends a hold-back: fetching goes on from where each partition stopped.</summary>
    public void Resume()
    {
        if (!_paused)
            return;
        _consumer.Resume(_consumer.Assignment);
        _paused = false;
        _assignedSincePoll.Clear();
    }

    private readonly Stopwatch _sinceWarning = Stopwatch.StartNew();

    // A partition silent while the others move (its producer stopped writing to it), or silent with messages waiting in the
    // broker, is worth a line: never a silent stall.
    private void WarnAboutQuietPartitions(int processed)
    {
        if (_sinceWarning.Elapsed < StallWarningAfter)
            return;
        var quiet = _owned.Where(o => o.Value.Quiet.Elapsed >= StallWarningAfter)
            .Select(o => (Partition: o.Key, Waiting: Waiting(o.Key, o.Value))).Where(q => processed > 0 || q.Waiting > 0).OrderBy(q => q.Partition).ToList();
        if (quiet.Count == 0)
            return;
        _sinceWarning.Restart();
        _warn(string.Create(CultureInfo.InvariantCulture,
            $"Partition(s) {string.Join(", ", quiet.Select(q => q.Waiting > 0 ? $"{q.Partition} ({q.Waiting} messages waiting)" : q.Partition.ToString(CultureInfo.InvariantCulture)))} of {_topic} delivered nothing for {StallWarningAfter.TotalSeconds:0} s or more{(processed > 0 ? " while others did" : "")}{(_paused ? " (held back)" : "")}"));
    }

    // Messages the broker holds beyond what was processed (from the consumer's last fetch; 0 when unknown).
    private long Waiting(int partition, Owned owned) => Batches.Waiting(_consumer, new TopicPartition(_topic, partition), owned.Next);

    /// <summary>Makes the outputs durable, stores every owned partition's changed state, then commits what was processed.</summary>
    public Task CheckpointAsync() => CheckpointAsync([.. _owned.Keys]);

    private async Task CheckpointAsync(IReadOnlyCollection<int> partitions)
    {
        var live = partitions.Where(p => _owned.TryGetValue(p, out var o) && o.Work is not null && !o.Fenced).ToList();
        await _flushOutputs();
        var offsets = new List<TopicPartitionOffset>();
        foreach (var p in live)
        {
            var owned = _owned[p];
            // The offset travels with the state only where the state may reflect it (see IPartitionWork.MayCommit).
            var point = new ResumePoint(owned.Next, owned.Taken);
            var resumeAt = owned.Work!.MayCommit && point != owned.Saved ? point : (ResumePoint?)null;
            if (!await owned.Work.SaveAsync(resumeAt))
            {
                // Another instance owns it now and continues from the last checkpoint; this one must not commit it.
                _warn(string.Create(CultureInfo.InvariantCulture,
                    $"Partition {p} of {_topic} was taken over by another instance (its lease moved on); its state here is dropped, uncommitted"));
                owned.Fenced = true;
                continue;
            }

            owned.Saved = resumeAt ?? owned.Saved;
            if (owned.Next > owned.Committed && owned.Work!.MayCommit)
                offsets.Add(new TopicPartitionOffset(_topic, p, owned.Next));
        }

        if (offsets.Count == 0)
            return;
        try
        {
            _consumer.Commit(offsets);
        }
        catch (KafkaException e) when (e.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            // The group moved on (this instance is being reassigned or was expelled): the next poll says which partitions
            // it keeps; what was not committed is processed again by their owner, from the last checkpoint.
            _warn($"Commit on {_topic} refused while the group rebalances ({e.Error.Code}); the next poll takes the new assignment");
            _rebalancing = true;
            return;
        }

        _rebalancing = false;

        foreach (var o in offsets)
        {
            var owned = _owned[o.Partition.Value];
            owned.Committed = o.Offset.Value;
            owned.UncommittedBytes = 0;
        }
    }

    // A commit was refused because the group rebalances. Committing early again (up to ten times a second) held such a
    // rebalance off for minutes (a two-instance group on the local broker): until the group has assigned or revoked
    // something, or a commit at the regular interval goes through, nothing is due early.
    private bool _rebalancing;

    /// <inheritdoc />
    public bool CheckpointDue(long messages, long bytes) =>
        !_rebalancing && _owned.Values.Any(o => o is { Work.MayCommit: true, Fenced: false }
                                                && IStageStream.UncommittedReaches(o.Next, o.Committed, o.UncommittedBytes, messages, bytes));

    private List<TopicPartitionOffset> Assigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        _rebalancing = false;
        if (partitions.Count == 0)
            return []; // an incremental rebalance that moved nothing here
        // Each partition starts at its group's committed offset, or at the beginning when nothing was committed yet.
        var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(30));
        var start = new List<TopicPartitionOffset>();
        foreach (var c in committed)
        {
            var p = c.Partition.Value;
            _owned[p] = new Owned { Committed = c.Offset.Value, Next = c.Offset.Value };
            _assignedSincePoll.Add(c.TopicPartition);
            start.Add(new TopicPartitionOffset(c.TopicPartition, c.Offset.Value >= 0 ? c.Offset : Offset.Beginning));
        }

        _info(string.Create(CultureInfo.InvariantCulture,
            $"Assigned partition(s) {string.Join(", ", partitions.Select(p => p.Partition.Value).Order())} of {_topic}, from offsets {string.Join(", ", committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value < 0 ? "start" : c.Offset.Value.ToString(CultureInfo.InvariantCulture)))}"));
        return start;
    }

    private void Revoked(List<TopicPartitionOffset> partitions)
    {
        _rebalancing = false;
        var revoked = partitions.Select(p => p.Partition.Value).Where(_owned.ContainsKey).ToList();
        if (revoked.Count == 0)
            return;
        // Given up gracefully: the new owner must find everything processed here stored and committed.
        CheckpointAsync(revoked).GetAwaiter().GetResult();
        foreach (var p in revoked)
            _owned.Remove(p);
        _info(string.Create(CultureInfo.InvariantCulture, $"Revoked partition(s) {string.Join(", ", revoked.Order())} of {_topic}, after a checkpoint"));
    }

    private void Lost(List<TopicPartitionOffset> partitions)
    {
        _rebalancing = false;
        var lost = partitions.Select(p => p.Partition.Value).Where(_owned.ContainsKey).ToList();
        if (lost.Count == 0)
            return;
        foreach (var p in lost)
            _owned.Remove(p);
        _warn(string.Create(CultureInfo.InvariantCulture,
            $"Lost partition(s) {string.Join(", ", lost.Order())} of {_topic} (this instance left the group without handing them over); their new owner continues from the last checkpoint"));
    }

    private Merged<T> Decode(ConsumeResult<byte[]?, byte[]?> result)
    {
        var p = result.Partition.Value;
        var offset = result.Offset.Value;
        if (StreamMessages.TryDecode<T>(_codec, result.Message.Value, out var record, out var mark, out var error))
            return new Merged<T>(p, offset, mark is not null ? StreamMessages.PositionOf(mark) : _positionOf(record!), record, mark);
        _warn(string.Create(CultureInfo.InvariantCulture, $"Dead-lettering {_topic}[{p}]@{offset}: {error}"));
        _deadLetters.SendRaw(Topics.DeadLetters, DeadLetterHeaders.Route(result, DeadLetterReasons.PoisonMessage, error!));
        return new Merged<T>(p, offset, StreamPosition.Min, null, null);
    }

    public void Dispose()
    {
        // Close leaves the group, which revokes (and so checkpoints) what this instance owns.
        _consumer.Close();
        _consumer.Dispose();
    }

    private sealed class Owned
    {
        public TWork? Work { get; set; }

        public long Committed { get; set; }

        public long Next { get; set; }

        /// <summary>Bytes of the message values taken since the last commit.</summary>
        public long UncommittedBytes { get; set; }

        /// <summary>What was stored with the state by this instance's last save (or loaded with it); null before.</summary>
        public ResumePoint? Saved { get; set; }

        /// <summary>The position of the last record taken (<see cref="InputInOrder"/>).</summary>
        public StreamPosition? Taken { get; set; }

        /// <summary>Copies dropped since the last report.</summary>
        public long Copies { get; set; }

        /// <summary>The poll in which the partition was sought to its stored offset (0: never).</summary>
        public long SoughtInPoll { get; set; }

        public bool Fenced { get; set; }

        public Stopwatch Quiet { get; } = Stopwatch.StartNew();
    }
}

/// <summary>Decoding what an ordered topic carries: a contract record or a stream mark (told apart by schema id).</summary>
internal static class StreamMessages
{
    public static bool TryDecode<T>(MessageCodec codec, byte[]? value, out T? record, out StreamMark? mark, out string? error)
        where T : class
    {
        record = null;
        mark = null;
        error = null;
        if (value is null)
        {
            error = "the message has no value";
            return false;
        }

        try
        {
            if (codec.IsMark(value))
                mark = codec.Deserialize<StreamMark>(value);
            else
                record = codec.Deserialize<T>(value);
            return true;
        }
        catch (InvalidMessageException e)
        {
            // Poison: dead-lettered, and the consumer goes on. A registry that cannot answer is not caught here: the
            // failure stops the service, which restarts from its last commit instead of dead-lettering good input.
            error = e.Message;
            return false;
        }
    }

    public static StreamPosition PositionOf(StreamMark mark) => new(mark.Time, mark.Tie, mark.Seq);
}
