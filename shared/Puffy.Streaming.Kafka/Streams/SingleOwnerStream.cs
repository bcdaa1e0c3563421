using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// A stage's work when its state spans its whole input: every partition of every input topic goes through one state (the
/// monitor's rules see every producer's metrics, its marketing table every session and order).
/// </summary>
public interface IWholeInputWork
{
    /// <summary>
    /// Where the state loaded when this instance took the stage over ends in each input partition: the next offset to take, as
    /// stored with the state by the last save of any instance. A partition not listed starts at the group's committed offset.
    /// </summary>
    IReadOnlyDictionary<TopicPartition, long> Stored { get; }

    /// <summary>The next message of the input (each partition in its order; partitions interleaved as they arrive).</summary>
    Task AcceptAsync(ConsumeResult<byte[]?, byte[]?> message);

    /// <summary>
    /// A checkpoint: makes the outputs durable, then stores what changed since the last one together with
    /// <paramref name="positions"/> (the next offset of each input partition) in one transaction. False when another instance
    /// runs the stage now (it took the stage's lease): then nothing is stored, and no output that would replace the new
    /// owner's (an aggregate row) is written.
    /// </summary>
    Task<bool> CheckpointAsync(IReadOnlyDictionary<TopicPartition, long> positions);
}

/// <summary>
/// The stream runtime of a stage whose state spans its whole input (<see cref="IWholeInputWork"/>): any number of instances
/// may run, and one of them, elected through the consumer group <c>{group}.owner</c>, reads every partition of the input
/// topics while the others stand by. The member the group gives partition 0 of the first input topic is the owner (that
/// partition is only an election token: it is paused and never read there); when it stops, dies or is expelled, the group
/// gives the token to a standby, which loads the state and resumes exactly where the stored state ends. A checkpoint (the
/// work's: outputs made durable, the state stored with the input positions it reflects, under the stage's lease, so an owner
/// that was expelled without noticing can no longer store anything) is followed by a commit of those positions to the group
/// <c>{group}</c>, which upstream back-pressure and <c>replay --wait</c> watch.
/// </summary>
public sealed class SingleOwnerStream<TWork> : IStageStream, IDisposable
    where TWork : class, IWholeInputWork
{
    private readonly IConsumer<byte[]?, byte[]?> _election;
    private readonly IConsumer<byte[]?, byte[]?> _input;
    private readonly IReadOnlyList<string> _topics;
    private readonly TopicPartition _token;
    private readonly string _group;
    private readonly StreamProducer _producer;
    private readonly Func<Task<TWork>> _open;
    private readonly Action<string> _warn;
    private readonly Action<string> _info;
    private readonly Dictionary<TopicPartition, long> _next = [];
    private readonly Dictionary<TopicPartition, long> _committed = [];
    private readonly Dictionary<TopicPartition, long> _uncommittedBytes = [];
    private readonly Dictionary<TopicPartition, Stopwatch> _quiet = [];
    private readonly List<ConsumeResult<byte[]?, byte[]?>> _batch = [];
    private readonly ReplayHeader _replay = new();
    private readonly Stopwatch _sinceWarning = Stopwatch.StartNew();
    private TWork? _work;
    private bool _elected;
    private bool _fenced;
    private readonly Stopwatch _fencedAt = new();
    private bool _pauseToken;
    private bool _paused;
    private bool? _reportedOwner;
    private bool _joined;

    public SingleOwnerStream(
        ConsumerConfig config,
        IReadOnlyList<string> topics,
        StreamProducer producer,
        Func<Task<TWork>> open,
        Action<string>? warn = null,
        Action<string>? info = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(topics);
        if (topics.Count == 0)
            throw new ArgumentException("a stage reads at least one topic", nameof(topics));
        _topics = topics;
        _token = new TopicPartition(topics[0], 0);
        _group = config.GroupId;
        _producer = producer ?? throw new ArgumentNullException(nameof(producer));
        _open = open;
        _warn = warn ?? (static _ => { });
        _info = info ?? _warn;

        var election = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value))
        {
            GroupId = config.GroupId + ".owner",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Latest,
            // Incremental: an instance joining as a standby does not take the token from a running owner.
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        };
        _election = new ConsumerBuilder<byte[]?, byte[]?>(election)
            .SetLogHandler(KafkaClientLog.Handler)
            .SetErrorHandler((_, e) => _warn($"Kafka consumer error in {election.GroupId}: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .SetPartitionsAssignedHandler((_, partitions) => Assigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => Revoked(partitions))
            .SetPartitionsLostHandler((_, partitions) => Lost(partitions))
            .Build();
        var input = new ConsumerConfig(config.ToDictionary(p => p.Key, p => p.Value))
        {
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Never skip silently: a position the broker no longer holds means messages were lost.
            AutoOffsetReset = AutoOffsetReset.Error,
        };
        _input = new ConsumerBuilder<byte[]?, byte[]?>(input)
            .SetLogHandler(KafkaClientLog.Handler)
            .SetErrorHandler((_, e) => _warn($"Kafka consumer error on {string.Join(", ", topics)}: {e.Code} {e.Reason}{(e.IsFatal ? " (fatal)" : "")}"))
            .Build();
    }

    /// <inheritdoc />
    public string? ReplayId => _replay.Current;

    /// <summary>True while this instance runs the stage (it holds the election token and has loaded the state).</summary>
    public bool Running => _work is not null;

    /// <summary>The work, while this instance runs the stage.</summary>
    public TWork? Work => _work;

    /// <summary>How long an input partition may hold messages without delivering any before it is logged (and again each time as long).</summary>
    public TimeSpan StallWarningAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After another instance took the lease, how long this one waits for the group to move the token before it takes the
    /// stage again (longer than the group's session timeout, after which an expelled instance learns it lost the token).
    /// </summary>
    public TimeSpan FencedGrace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for the group's committed offsets when taking the stage over.</summary>
    public TimeSpan CommittedTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public void Start()
    {
        _election.Subscribe(_token.Topic);
        _info($"Joining {_group}.owner: the instance given partition 0 of {_token.Topic} runs the stage on {string.Join(", ", _topics)}, any other stands by");
    }

    /// <inheritdoc />
    public async Task<int> PollAsync(TimeSpan wait, int maxMessages, CancellationToken cancellationToken)
    {
        // A standby spends its wait here: that is where the group hands it the token.
        PollElection(_work is null ? wait : TimeSpan.Zero);
        if (_work is null)
        {
            if (_fenced && _elected && _fencedAt.Elapsed >= FencedGrace)
            {
                // The group still gives this instance the token long after another took the lease: nobody else runs the stage.
                _warn($"{_group}: still elected {FencedGrace.TotalSeconds:0} s after another instance took the lease; taking the stage again");
                _fenced = false;
            }

            if (!_elected || _fenced)
            {
                if (_joined)
                    Report(owner: false);
                return 0;
            }

            await OpenAsync();
            Report(owner: true);
        }

        _batch.Clear();
        Batches.Consume(_input, wait, maxMessages, _batch.Add, _warn, cancellationToken);
        var processed = 0;
        foreach (var result in _batch)
        {
            var at = result.TopicPartition;
            if (result.Offset.Value < _next.GetValueOrDefault(at, long.MinValue))
                continue;
            _replay.Observe(result.Message.Headers);
            _next[at] = result.Offset.Value + 1;
            _uncommittedBytes[at] = _uncommittedBytes.GetValueOrDefault(at) + (result.Message.Value?.Length ?? 0);
            _quiet[at].Restart();
            await _work!.AcceptAsync(result);
            processed++;
        }

        WarnAboutWaiting();
        return processed;
    }

    /// <inheritdoc />
    public void Idle(TimeSpan wait)
    {
        if (_work is not null && !_paused)
        {
            _input.Pause(_input.Assignment);
            _paused = true;
        }

        PollElection(wait);
    }

    /// <inheritdoc />
    public void Resume()
    {
        if (!_paused)
            return;
        if (_work is not null)
            _input.Resume(_input.Assignment);
        _paused = false;
    }

    /// <inheritdoc />
    public async Task CheckpointAsync()
    {
        if (_work is null)
            return;
        if (!await _work.CheckpointAsync(new Dictionary<TopicPartition, long>(_next)))
        {
            // Another instance took the stage over (this one was expelled without noticing, e.g. frozen): it continues from
            // the last checkpoint. This instance gives up what it did since and waits to be given the token again.
            _warn($"{_group}: another instance runs the stage now (it took the lease); the state here is dropped, uncommitted");
            _fenced = true;
            _fencedAt.Restart();
            Release();
            return;
        }

        var offsets = _next.Where(n => n.Value > _committed.GetValueOrDefault(n.Key, long.MinValue))
            .Select(n => new TopicPartitionOffset(n.Key, n.Value)).ToList();
        if (offsets.Count == 0)
            return;
        try
        {
            _input.Commit(offsets);
        }
        catch (KafkaException e)
        {
            // The stored state carries the positions: a missed commit only delays what lag watchers see.
            _warn($"Commit on {_group} failed ({e.Error.Code} {e.Error.Reason}); the stored state keeps the positions, the next checkpoint commits them");
            _commitFailed = true;
            return;
        }

        _commitFailed = false;

        foreach (var o in offsets)
        {
            _committed[o.TopicPartition] = o.Offset.Value;
            _uncommittedBytes[o.TopicPartition] = 0;
        }
    }

    // After a failed commit only the regular interval retries: never a commit attempt on every poll.
    private bool _commitFailed;

    /// <inheritdoc />
    public bool CheckpointDue(long messages, long bytes) =>
        _work is not null && !_fenced && !_commitFailed && _next.Any(n => IStageStream.UncommittedReaches(
            n.Value, _committed.GetValueOrDefault(n.Key, long.MinValue), _uncommittedBytes.GetValueOrDefault(n.Key), messages, bytes));

    private void PollElection(TimeSpan wait)
    {
        try
        {
            // Nothing of the token partition is used: it is paused once assigned, and anything fetched before is dropped.
            _ = _election.Consume(wait);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            _warn($"Consume error in {_group}.owner: {e.Error.Code} {e.Error.Reason}");
        }

        if (_pauseToken)
        {
            _election.Pause(_election.Assignment);
            _pauseToken = false;
        }
    }

    private async Task OpenAsync()
    {
        var work = await _open();
        var partitions = _topics.SelectMany(t => Enumerable.Range(0, _producer.PartitionsOf(t)).Select(p => new TopicPartition(t, p))).ToList();
        var committed = _input.Committed(partitions, CommittedTimeout);
        var start = new List<TopicPartitionOffset>();
        var moved = new List<string>();
        foreach (var c in committed)
        {
            var tp = c.TopicPartition;
            _committed[tp] = c.Offset.Value;
            var from = work.Stored.TryGetValue(tp, out var stored) ? stored : c.Offset.Value;
            if (work.Stored.ContainsKey(tp) && stored != c.Offset.Value)
                moved.Add(string.Create(CultureInfo.InvariantCulture, $"{tp.Topic}[{tp.Partition.Value}] at {stored} (commit {(c.Offset.Value < 0 ? "none" : c.Offset.Value)})"));
            _next[tp] = from;
            _quiet[tp] = Stopwatch.StartNew();
            start.Add(new TopicPartitionOffset(tp, from >= 0 ? new Offset(from) : Offset.Beginning));
        }

        _input.Assign(start);
        _work = work;
        _paused = false;
        if (moved.Count > 0)
            _info($"{_group}: the stored state ends elsewhere than the group's commit; resuming {string.Join(", ", moved)}");
    }

    private void Release()
    {
        _work = null;
        _input.Unassign();
        _next.Clear();
        _committed.Clear();
        _uncommittedBytes.Clear();
        _quiet.Clear();
        _paused = false;
    }

    private void Report(bool owner)
    {
        if (_reportedOwner == owner)
            return;
        _reportedOwner = owner;
        _info(owner
            ? $"This instance runs the stage on {string.Join(", ", _topics)} (elected in {_group}.owner); state loaded"
            : $"Standing by: another instance of {_group}.owner runs the stage");
    }

    private List<TopicPartitionOffset> Assigned(List<TopicPartition> partitions)
    {
        _joined = true;
        if (partitions.Contains(_token))
        {
            _elected = true;
            _fenced = false; // a fresh grant of the token: the lease may be taken again
        }

        _pauseToken = true;
        return partitions.Select(p => new TopicPartitionOffset(p, Offset.End)).ToList();
    }

    private void Revoked(List<TopicPartitionOffset> partitions)
    {
        if (!partitions.Any(p => p.TopicPartition == _token))
            return;
        _elected = false;
        if (_work is null)
            return;
        // Handed over gracefully: the next owner must find everything processed here stored and committed.
        CheckpointAsync().GetAwaiter().GetResult();
        if (_work is not null)
            Release();
        _info($"{_group}: gave the stage up (handed over, or leaving the group), after a checkpoint");
        _reportedOwner = null;
    }

    private void Lost(List<TopicPartitionOffset> partitions)
    {
        if (!partitions.Any(p => p.TopicPartition == _token))
            return;
        _elected = false;
        if (_work is null)
            return;
        Release();
        _reportedOwner = null;
        _warn($"{_group}: lost the stage without handing it over (this instance left the group); the next owner continues from the last checkpoint");
    }

    // An input partition with messages waiting that delivered none for a while is worth a line: never a silent stall.
    private void WarnAboutWaiting()
    {
        if (_sinceWarning.Elapsed < StallWarningAfter || _paused)
            return;
        var stalled = _quiet.Where(q => q.Value.Elapsed >= StallWarningAfter)
            .Select(q => (Partition: q.Key, Waiting: Waiting(q.Key))).Where(q => q.Waiting > 0).ToList();
        if (stalled.Count == 0)
            return;
        _sinceWarning.Restart();
        _warn(string.Create(CultureInfo.InvariantCulture,
            $"{_group}: {string.Join(", ", stalled.Select(s => $"{s.Partition.Topic}[{s.Partition.Partition.Value}] ({s.Waiting} messages waiting)"))} delivered nothing for {StallWarningAfter.TotalSeconds:0} s or more"));
    }

    private long Waiting(TopicPartition partition) => Batches.Waiting(_input, partition, _next.GetValueOrDefault(partition));

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Close leaves the election group, which revokes the token (and so checkpoints) when this instance runs the stage.
        _election.Close();
        _election.Dispose();
        _input.Close();
        _input.Dispose();
    }
}
