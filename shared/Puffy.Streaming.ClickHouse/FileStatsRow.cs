namespace Puffy.Streaming.ClickHouse;

/// <summary>One row of <c>file_stats</c>: what was read from a file and where its rows went.</summary>
/// <param name="Unreadable">The file could not be opened or read (<paramref name="Error"/> says why); it is read when it can be.</param>
/// <param name="DeadLettered">Dead-lettered rows by reason code (<see cref="Contracts.DeadLetterReasons"/>).</param>
public sealed record FileStatsRow(
    string File,
    DateOnly? Day,
    long Rows,
    string Columns,
    long Valid,
    IReadOnlyDictionary<string, long> DeadLettered,
    string? Error,
    bool Unreadable = false)
{
    public long DeadLetteredTotal => DeadLettered.Values.Sum();
}
