using System.Text.Json;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>
/// Per-file counts of how often each tracked field was observed and how often it was null, so the monitor can
/// tell when a field turns all-null (semantics §8). CSV columns count when the column exists (empty = null);
/// purchase fields count on every purchase (absent or JSON null = null); item fields on every item.
/// It also counts the rows whose timestamp parses, how many of them lie within the file's day and their range, so
/// the monitor can tell a file whose rows all lie outside its day (whatever else is wrong with the rows).
/// </summary>
public sealed class FieldTally
{
    public static IReadOnlyList<string> Fields { get; } =
    [
        "page_url", "referrer", "user_agent",
        "transaction_id", "revenue", "user_email",
        "item_id", "item_name", "item_variant", "quantity", "item_price",
    ];

    private static readonly string[] PurchaseFields = ["transaction_id", "revenue", "user_email"];
    private static readonly string[] ItemFields = ["item_id", "item_name", "item_variant", "quantity", "item_price"];

    /// <summary>True for the fields counted once per item of a purchase (so possibly more often than rows).</summary>
    public static bool IsItemField(string field) => Array.IndexOf(ItemFields, field) >= 0;

    private readonly long[] _observed = new long[Fields.Count];
    private readonly long[] _null = new long[Fields.Count];
    private DateTime _first = DateTime.MaxValue;
    private DateTime _last = DateTime.MinValue;

    /// <summary>Rows whose timestamp parses.</summary>
    public long Timestamps { get; private set; }

    /// <summary>Rows whose timestamp parses and lies within the file's day [00:00, 24:00) UTC.</summary>
    public long TimestampsInDay { get; private set; }

    public long Observed(string field) => _observed[IndexOf(field)];

    public long Null(string field) => _null[IndexOf(field)];

    private static int IndexOf(string field)
    {
        for (var i = 0; i < Fields.Count; i++)
        {
            if (Fields[i] == field)
                return i;
        }

        throw new ArgumentOutOfRangeException(nameof(field), field, "not a tracked field");
    }

    internal void ObserveColumns(RawEvent raw)
    {
        // A page url kept as bytes is present (the file has the column): its length tells empty without a string.
        if (raw.TryGetPageUrlUtf8(out var page))
            Count(0, page.Length);
        else
            Count(0, raw.PageUrl);
        Count(1, raw.Referrer);
        Count(2, raw.UserAgent);
    }

    private void Count(int i, string? columnValue)
    {
        if (columnValue is not null)
            Count(i, columnValue.Length); // else the column is missing from the file: not observed at all
    }

    private void Count(int i, int length)
    {
        _observed[i]++;
        if (length == 0)
            _null[i]++;
    }

    internal void ObserveTime(DateTime utc, DateOnly? fileDay)
    {
        Timestamps++;
        if (fileDay is { } day && DateOnly.FromDateTime(utc) == day)
            TimestampsInDay++;
        if (utc < _first)
            _first = utc;
        if (utc > _last)
            _last = utc;
    }

    internal void ObservePurchase(JsonElement root)
    {
        for (var k = 0; k < PurchaseFields.Length; k++)
            CountJson(3 + k, root, PurchaseFields[k]);
        if (root.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                    continue;
                for (var k = 0; k < ItemFields.Length; k++)
                    CountJson(6 + k, item, ItemFields[k]);
            }
        }
    }

    private void CountJson(int i, JsonElement obj, string name)
    {
        _observed[i]++;
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            _null[i]++;
    }

    public IEnumerable<Metric> ToMetrics(DateOnly? day, string file)
    {
        for (var i = 0; i < Fields.Count; i++)
        {
            if (_observed[i] == 0)
                continue;
            yield return new Metric(day, MetricNames.FieldObserved, Fields[i], _observed[i], file);
            yield return new Metric(day, MetricNames.FieldNull, Fields[i], _null[i], file);
        }

        if (Timestamps == 0)
            yield break;
        yield return new Metric(day, MetricNames.FileTimestamps, string.Empty, Timestamps, file);
        yield return new Metric(day, MetricNames.FileTimestampsInDay, string.Empty, TimestampsInDay, file);
        yield return new Metric(day, MetricNames.FileFirstTimestamp, string.Empty, UnixSeconds(_first), file);
        yield return new Metric(day, MetricNames.FileLastTimestamp, string.Empty, UnixSeconds(_last), file);
    }

    /// <summary>The counts, for a checkpoint.</summary>
    public FieldTallyState ToState() => new([.. _observed], [.. _null], _first, _last, Timestamps, TimestampsInDay);

    /// <summary>A tally holding the counts of a checkpoint.</summary>
    public static FieldTally FromState(FieldTallyState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var tally = new FieldTally { _first = state.First, _last = state.Last, Timestamps = state.Timestamps, TimestampsInDay = state.TimestampsInDay };
        state.Observed.AsSpan(0, Math.Min(state.Observed.Length, Fields.Count)).CopyTo(tally._observed);
        state.Null.AsSpan(0, Math.Min(state.Null.Length, Fields.Count)).CopyTo(tally._null);
        return tally;
    }

    private static double UnixSeconds(DateTime utc) => (utc - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;
}

/// <summary>The counts of a <see cref="FieldTally"/> (per tracked field, in <see cref="FieldTally.Fields"/> order).</summary>
public sealed record FieldTallyState(long[] Observed, long[] Null, DateTime First, DateTime Last, long Timestamps, long TimestampsInDay);
