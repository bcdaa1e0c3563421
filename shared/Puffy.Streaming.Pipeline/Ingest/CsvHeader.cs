namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>Where each contract column sits in a file's header (semantics §1: by name, with aliases).</summary>
public sealed class CsvHeader
{
    public const string ClientId = "client_id";
    public const string PageUrl = "page_url";
    public const string Referrer = "referrer";
    public const string Timestamp = "timestamp";
    public const string EventName = "event_name";
    public const string EventData = "event_data";
    public const string UserAgent = "user_agent";

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["clientId"] = ClientId,
    };

    /// <summary>Columns without which no row can be validated.</summary>
    public static IReadOnlyList<string> Required { get; } = [ClientId, Timestamp, EventName];

    public static IReadOnlyList<string> Known { get; } = [ClientId, PageUrl, Referrer, Timestamp, EventName, EventData, UserAgent];

    private CsvHeader(IReadOnlyList<string> columns, Dictionary<string, int> index, string? problem)
    {
        Columns = columns;
        _index = index;
        Problem = problem;
    }

    private readonly Dictionary<string, int> _index;

    /// <summary>Column names as written in the file (trimmed).</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Why the header cannot be used, or null when it can.</summary>
    public string? Problem { get; }

    public bool IsUsable => Problem is null;

    public int FieldCount => Columns.Count;

    /// <summary>Index of a contract column, or -1 when the file lacks it (its values are then UNKNOWN).</summary>
    public int IndexOf(string canonical) => _index.TryGetValue(canonical, out var i) ? i : -1;

    public bool Has(string canonical) => _index.ContainsKey(canonical);

    /// <summary>The canonical name a header cell maps to (aliases resolved), or the cell itself.</summary>
    public static string Canonical(string column) => Aliases.TryGetValue(column, out var c) ? c : column;

    public static CsvHeader Unusable(string problem) => new([], new Dictionary<string, int>(), problem);

    public static CsvHeader Parse(IReadOnlyList<string> cells)
    {
        var columns = cells.Select(c => c.Trim()).ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            var canonical = Canonical(columns[i]);
            if (!index.TryAdd(canonical, i))
                return new CsvHeader(columns, index, $"column '{canonical}' appears twice in the header");
        }

        var missing = Required.Where(r => !index.ContainsKey(r)).ToList();
        var problem = missing.Count == 0
            ? null
            : $"header lacks required column(s) {string.Join(", ", missing)} (has: {string.Join(", ", columns)})";
        return new CsvHeader(columns, index, problem);
    }
}
