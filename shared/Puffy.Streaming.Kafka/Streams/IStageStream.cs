namespace Puffy.Streaming.Kafka.Streams;

/// <summary>
/// What the stage loop (<c>StageRuntime.RunStageAsync</c>) drives: a stage's input, its state and its checkpoints. A
/// partition-parallel stage splits its input among its instances (<see cref="PartitionedStream{T, TWork}"/>); a stage whose
/// state spans its whole input runs on one elected instance while the others stand by (<see cref="SingleOwnerStream{TWork}"/>).
/// </summary>
public interface IStageStream
{
    /// <summary>The replay the latest input came from (header <c>puffy-replay</c>).</summary>
    string? ReplayId { get; }

    /// <summary>Joins the stage's consumer group.</summary>
    void Start();

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> (waiting up to <paramref name="wait"/> for the first) and hands each to the
    /// stage's work, loading its state first when this instance was just given it. Returns how many were processed.
    /// </summary>
    Task<int> PollAsync(TimeSpan wait, int maxMessages, CancellationToken cancellationToken);

    /// <summary>Waits while the stage holds back, staying in its group (every input paused, the consumer polled).</summary>
    void Idle(TimeSpan wait);

    /// <summary>Ends a hold-back.</summary>
    void Resume();

    /// <summary>Makes the outputs durable, stores the changed state with where it stands in the input, then commits.</summary>
    Task CheckpointAsync();

    /// <summary>
    /// True when an input partition has taken at least <paramref name="messages"/> messages, or <paramref name="bytes"/> bytes
    /// of message values, since its last commit, and a checkpoint may commit them. Upstream producers hold back on the
    /// committed lag (<c>LagGate</c>): a stage that commits before it reaches their limits keeps them sending while it keeps up.
    /// </summary>
    bool CheckpointDue(long messages, long bytes);

    /// <summary>
    /// <see cref="CheckpointDue"/> for one input partition: <paramref name="next"/> is the offset after the last message taken,
    /// <paramref name="committed"/> the last commit (negative when none: counted from offset 0).
    /// </summary>
    protected static bool UncommittedReaches(long next, long committed, long uncommittedBytes, long messages, long bytes) =>
        next > committed && (next - Math.Max(committed, 0) >= messages || uncommittedBytes >= bytes);
}
