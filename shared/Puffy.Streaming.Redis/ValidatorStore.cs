using System.Globalization;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Validation;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>One input partition's small state: stream time, open files, the files it completed lately, and the end of a flush in progress.</summary>
public sealed record ValidatorState(
    DateTime StreamTime,
    IReadOnlyList<ValidatorFileState> Files,
    DateTime? FlushEnd,
    IReadOnlyList<string>? Completed = null);

/// <summary>Everything a checkpoint of the validator adds, changes or removes.</summary>
public sealed record ValidatorCheckpoint(
    ValidatorState State,
    IReadOnlyCollection<(UInt128 Id, DateTime Time)> NewIds,
    IReadOnlyCollection<(string File, long Line, DateTime StreamTime)> NewSeenRows,
    IReadOnlyCollection<RawEvent> Buffered,
    IReadOnlyCollection<(string File, long Line)> Released,
    DateOnly? ForgetBefore);

/// <summary>What a restarting validator loads.</summary>
public sealed record ValidatorRestore(
    ValidatorState? State,
    IReadOnlyList<(UInt128 Id, DateTime Time)> Ids,
    IReadOnlyList<(string File, long Line, DateTime StreamTime)> SeenRows,
    IReadOnlyList<RawEvent> Buffered);

/// <summary>
/// One input partition's validator checkpoint in Redis, so whichever instance owns the partition next decides exactly as
/// if nothing had stopped. The remembered event ids and handled rows grow with the input, so they are written as they are
/// added, one hash per day (of event time; of stream time for rows) and a day's hashes are deleted once the
/// de-duplication window has passed it; the rows waiting in the reorder buffer are written when they enter it and deleted
/// when decided; the rest (stream time, open files' tallies) is one JSON value. A checkpoint is one MULTI/EXEC
/// transaction, on the condition that this instance still holds the partition's lease. (Transaction ids are decided
/// across partitions: they live in the <see cref="RedisTransactionLedger"/>.)
/// </summary>
public sealed class ValidatorStore(IDatabase db, string keyPrefix, PartitionLease? lease = null)
{
    /// <summary>Where in its input the stored state ends, as of taking the lease (null: none stored, or no lease).</summary>
    public string? StoredResume => lease?.StoredResume;

    private readonly RedisKey _state = keyPrefix + ":state";
    private readonly RedisKey _days = keyPrefix + ":days";
    private readonly RedisKey _buffer = keyPrefix + ":buffer";

    private RedisKey Ids(string day) => $"{keyPrefix}:ids:{day}";

    private RedisKey Seen(string day) => $"{keyPrefix}:seen:{day}";

    /// <summary>Stores a checkpoint; under a lease, with <paramref name="resume"/>, where in its input it ends.</summary>
    public async Task SaveAsync(ValidatorCheckpoint checkpoint, string? resume = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var batch = db.CreateTransaction();
        var writes = new List<Task>();
        if (lease?.Enlist(batch, resume) is { } stored)
            writes.Add(stored);
        var days = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in checkpoint.NewIds.GroupBy(i => Day(i.Time)))
        {
            days.Add(group.Key);
            writes.Add(batch.HashSetAsync(Ids(group.Key), group.Select(i => new HashEntry(EventId.ToText(i.Id), i.Time.Ticks)).ToArray()));
        }

        foreach (var group in checkpoint.NewSeenRows.GroupBy(r => Day(r.StreamTime)))
        {
            days.Add(group.Key);
            writes.Add(batch.HashSetAsync(Seen(group.Key),
                group.Select(r => new HashEntry(RowField(r.File, r.Line), r.StreamTime.Ticks)).ToArray()));
        }

        if (days.Count > 0)
            writes.Add(batch.SetAddAsync(_days, days.Select(d => (RedisValue)d).ToArray()));
        if (checkpoint.Buffered.Count > 0)
            writes.Add(batch.HashSetAsync(_buffer, checkpoint.Buffered.Select(r => new HashEntry(RowField(r.SourceFile, r.Line), JsonSerializer.SerializeToUtf8Bytes(r))).ToArray()));
        if (checkpoint.Released.Count > 0)
            writes.Add(batch.HashDeleteAsync(_buffer, checkpoint.Released.Select(r => (RedisValue)RowField(r.File, r.Line)).ToArray()));
        writes.Add(batch.StringSetAsync(_state, StateJson.Serialize(checkpoint.State)));
        if (checkpoint.ForgetBefore is { } horizon)
        {
            var known = await db.SetMembersAsync(_days);
            foreach (var day in known.Select(d => (string)d!).Where(d => string.CompareOrdinal(d, Day(horizon)) < 0))
            {
                writes.Add(batch.KeyDeleteAsync([Ids(day), Seen(day)]));
                writes.Add(batch.SetRemoveAsync(_days, day));
            }
        }

        if (!await batch.ExecuteAsync())
        {
            if (lease is not null)
                await lease.EnsureHeldAsync(db);
            throw new CheckpointNotAppliedException($"{keyPrefix}: the checkpoint transaction was not applied");
        }

        await Task.WhenAll(writes);
    }

    public async Task<ValidatorRestore> LoadAsync()
    {
        var json = await db.StringGetAsync(_state);
        var state = json.HasValue ? StateJson.Deserialize<ValidatorState>((string)json!) : null;
        var ids = new List<(UInt128, DateTime)>();
        var seen = new List<(string, long, DateTime)>();
        foreach (var day in (await db.SetMembersAsync(_days)).Select(d => (string)d!))
        {
            foreach (var e in await db.HashGetAllAsync(Ids(day)))
                ids.Add((UInt128.Parse((string)e.Name!, NumberStyles.HexNumber, CultureInfo.InvariantCulture), new DateTime((long)e.Value, DateTimeKind.Utc)));
            foreach (var e in await db.HashGetAllAsync(Seen(day)))
            {
                var (file, line) = ParseRowField((string)e.Name!);
                seen.Add((file, line, new DateTime((long)e.Value, DateTimeKind.Utc)));
            }
        }

        var buffered = (await db.HashGetAllAsync(_buffer))
            .Select(e => JsonSerializer.Deserialize<RawEvent>((string)e.Value!) ?? throw new InvalidDataException($"{_buffer}: {e.Name} is empty"))
            .ToList();
        return new ValidatorRestore(state, ids, seen, buffered);
    }

    private static string Day(DateTime t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // A file name cannot contain a newline's escape here: the line number follows the last tab.
    private static string RowField(string file, long line) => string.Create(CultureInfo.InvariantCulture, $"{file}\t{line}");

    private static (string File, long Line) ParseRowField(string field)
    {
        var tab = field.LastIndexOf('\t');
        return (field[..tab], long.Parse(field[(tab + 1)..], CultureInfo.InvariantCulture));
    }
}
