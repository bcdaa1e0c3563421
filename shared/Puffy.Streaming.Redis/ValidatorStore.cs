using System.Globalization;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Validation;
using StackExchange.Redis;

namespace Puffy.Streaming.Redis;

/// <summary>The validator's small state: stream time, open files and which partitions ended which file.</summary>
public sealed record ValidatorState(
    DateTime StreamTime,
    IReadOnlyList<ValidatorFileState> Files,
    Dictionary<string, int[]> FileEndsFrom,
    int[] FlushesFrom);

/// <summary>Everything a checkpoint of the validator adds, changes or removes.</summary>
public sealed record ValidatorCheckpoint(
    ValidatorState State,
    IReadOnlyCollection<(UInt128 Id, DateTime Time)> NewIds,
    IReadOnlyCollection<AcceptedTransaction> NewTransactions,
    IReadOnlyCollection<(string File, long Line, DateTime StreamTime)> NewSeenRows,
    IReadOnlyCollection<RawEvent> Buffered,
    IReadOnlyCollection<(string File, long Line)> Released,
    DateOnly? ForgetBefore);

/// <summary>What a restarting validator loads.</summary>
public sealed record ValidatorRestore(
    ValidatorState? State,
    IReadOnlyList<(UInt128 Id, DateTime Time)> Ids,
    IReadOnlyList<AcceptedTransaction> Transactions,
    IReadOnlyList<(string File, long Line, DateTime StreamTime)> SeenRows,
    IReadOnlyList<RawEvent> Buffered);

/// <summary>
/// The validator's checkpoint in Redis, so a restart decides exactly as if it had not stopped. The remembered event
/// ids, transaction ids and handled rows grow with the input, so they are written as they are added, one hash per
/// day (of event time; of stream time for rows) and a day's hashes are deleted once the de-duplication window has
/// passed it; the rows waiting in the reorder buffer are written when they enter it and deleted when decided; the
/// rest (stream time, open files' tallies) is one JSON value. A checkpoint is one MULTI/EXEC transaction.
/// </summary>
public sealed class ValidatorStore(IDatabase db, string keyPrefix)
{
    private readonly RedisKey _state = keyPrefix + ":state";
    private readonly RedisKey _days = keyPrefix + ":days";
    private readonly RedisKey _buffer = keyPrefix + ":buffer";

    private RedisKey Ids(string day) => $"{keyPrefix}:ids:{day}";

    private RedisKey Transactions(string day) => $"{keyPrefix}:tx:{day}";

    private RedisKey Seen(string day) => $"{keyPrefix}:seen:{day}";

    public async Task SaveAsync(ValidatorCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var batch = db.CreateTransaction();
        var writes = new List<Task>();
        var days = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in checkpoint.NewIds.GroupBy(i => Day(i.Time)))
        {
            days.Add(group.Key);
            writes.Add(batch.HashSetAsync(Ids(group.Key), group.Select(i => new HashEntry(EventId.ToText(i.Id), i.Time.Ticks)).ToArray()));
        }

        foreach (var group in checkpoint.NewTransactions.GroupBy(t => Day(t.Time)))
        {
            days.Add(group.Key);
            writes.Add(batch.HashSetAsync(Transactions(group.Key),
                group.Select(t => new HashEntry(t.TransactionId, string.Create(CultureInfo.InvariantCulture, $"{t.Time.Ticks} {t.EventId}"))).ToArray()));
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
                writes.Add(batch.KeyDeleteAsync([Ids(day), Transactions(day), Seen(day)]));
                writes.Add(batch.SetRemoveAsync(_days, day));
            }
        }

        if (!await batch.ExecuteAsync())
            throw new CheckpointNotAppliedException($"{keyPrefix}: the checkpoint transaction was not applied");
        await Task.WhenAll(writes);
    }

    public async Task<ValidatorRestore> LoadAsync()
    {
        var json = await db.StringGetAsync(_state);
        var state = json.HasValue ? StateJson.Deserialize<ValidatorState>((string)json!) : null;
        var ids = new List<(UInt128, DateTime)>();
        var transactions = new List<AcceptedTransaction>();
        var seen = new List<(string, long, DateTime)>();
        foreach (var day in (await db.SetMembersAsync(_days)).Select(d => (string)d!))
        {
            foreach (var e in await db.HashGetAllAsync(Ids(day)))
                ids.Add((UInt128.Parse((string)e.Name!, NumberStyles.HexNumber, CultureInfo.InvariantCulture), new DateTime((long)e.Value, DateTimeKind.Utc)));
            foreach (var e in await db.HashGetAllAsync(Transactions(day)))
            {
                var value = (string)e.Value!;
                var space = value.IndexOf(' ', StringComparison.Ordinal);
                transactions.Add(new AcceptedTransaction((string)e.Name!, new DateTime(long.Parse(value[..space], CultureInfo.InvariantCulture), DateTimeKind.Utc), value[(space + 1)..]));
            }

            foreach (var e in await db.HashGetAllAsync(Seen(day)))
            {
                var (file, line) = ParseRowField((string)e.Name!);
                seen.Add((file, line, new DateTime((long)e.Value, DateTimeKind.Utc)));
            }
        }

        var buffered = (await db.HashGetAllAsync(_buffer))
            .Select(e => JsonSerializer.Deserialize<RawEvent>((string)e.Value!) ?? throw new InvalidDataException($"{_buffer}: {e.Name} is empty"))
            .ToList();
        return new ValidatorRestore(state, ids, transactions, seen, buffered);
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
