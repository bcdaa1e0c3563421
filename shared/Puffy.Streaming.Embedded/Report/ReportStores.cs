using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded.Report;

/// <summary>
/// The report's figures straight from a run's <see cref="RunSummary"/>: the same figures the run writes to puffy.db
/// (its run-level tables come from this summary, its row tables from the same pipeline calls), without reading the
/// database back, so <c>puffy run</c> can render its report while the database is still being finished.
/// <see cref="SqliteReport"/> over that puffy.db gives the same model (tested).
/// </summary>
public static class RunReport
{
    public static ReportModel Load(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        // As file_stats stores them: a count for every reason of the vocabulary.
        var files = summary.Files.Values
            .Select(f => new FileQuality(f.File, f.Day, f.Columns, f.Rows, f.Valid, f.DeadLetteredTotal,
                DeadLetterReasons.All.ToDictionary(r => r, r => f.DeadLettered.GetValueOrDefault(r), StringComparer.Ordinal)))
            .ToList();
        var marketing = summary.MarketingDaily
            .Where(r => r.Model == AttributionModels.LastClick)
            .Select(r => new MarketingRow(r.Day, r.Channel, r.Sessions, r.ConvertedSessions, r.Orders, r.Revenue))
            .ToList();
        var attribution = summary.Attribution.ToDictionary(
            m => m.Key, m => (IReadOnlyDictionary<string, decimal>)new Dictionary<string, decimal>(m.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        var alerts = summary.Alerts
            .Select(a => new ReportAlert(a.Day, a.Rule, RunSummary.SeverityText(a.Severity), a.Observed, a.Threshold, a.Message))
            .ToList();
        return ReportBuilder.Build(new ReportInput(files, marketing, summary.Sessions, summary.ConvertedSessions,
            summary.Orders, summary.Revenue, summary.ZeroRevenueOrders, attribution, alerts));
    }
}

/// <summary>Reads the report's figures from the SQLite database of <c>puffy run</c> (out/puffy.db).</summary>
public static class SqliteReport
{
    public static ReportModel Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"no SQLite database at {path}", path);
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();

        var files = new List<FileQuality>();
        foreach (var r in Rows(db, "SELECT * FROM file_stats"))
        {
            var reasons = r.Where(kv => kv.Key.StartsWith("dl_", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[3..], kv => Convert.ToInt64(kv.Value, CultureInfo.InvariantCulture));
            files.Add(new FileQuality((string)r["file"]!, r["day"] is string d ? ParseDay(d) : null, (string)r["columns"]!,
                Long(r["rows"]), Long(r["valid"]), Long(r["dead_lettered"]), reasons));
        }

        // Money is summed in cents: SQLite keeps REAL, and a sum of doubles is not exact to the cent.
        var marketing = Rows(db, $"SELECT day, channel, sessions, converted_sessions, orders, CAST(ROUND(revenue * 100) AS INTEGER) AS cents FROM marketing_daily WHERE model = '{AttributionModels.LastClick}'")
            .Select(r => new MarketingRow(ParseDay((string)r["day"]!), (string)r["channel"]!, Long(r["sessions"]), Long(r["converted_sessions"]), Long(r["orders"]), Cents(r["cents"])))
            .ToList();

        var sessions = Rows(db, "SELECT count(*) AS n, coalesce(sum(is_converted), 0) AS converted FROM sessions")[0];
        var orders = Rows(db, "SELECT count(*) AS n, coalesce(sum(CAST(ROUND(revenue * 100) AS INTEGER)), 0) AS cents, coalesce(sum(is_zero_revenue), 0) AS zero FROM orders")[0];

        var attribution = new Dictionary<string, IReadOnlyDictionary<string, decimal>>(StringComparer.Ordinal);
        foreach (var model in AttributionModels.All)
        {
            var column = ChannelColumn(model);
            attribution[model] = Rows(db, $"SELECT {column} AS channel, sum(CAST(ROUND(revenue * 100) AS INTEGER)) AS cents FROM orders GROUP BY {column}")
                .ToDictionary(r => (string)r["channel"]!, r => Cents(r["cents"]), StringComparer.Ordinal);
        }

        var alerts = Rows(db, "SELECT day, rule, severity, observed, threshold, message FROM alerts")
            .Select(r => new ReportAlert(r["day"] is string d && d != "unknown" ? ParseDay(d) : null, (string)r["rule"]!, (string)r["severity"]!,
                Convert.ToDouble(r["observed"], CultureInfo.InvariantCulture), Convert.ToDouble(r["threshold"], CultureInfo.InvariantCulture), (string)r["message"]!))
            .ToList();

        return ReportBuilder.Build(new ReportInput(files, marketing, Long(sessions["n"]), Long(sessions["converted"]),
            Long(orders["n"]), Cents(orders["cents"]), Long(orders["zero"]), attribution, alerts));
    }

    internal static string ChannelColumn(string model) => model switch
    {
        AttributionModels.FirstClick => "first_click_channel",
        AttributionModels.LastClick => "last_click_channel",
        AttributionModels.LastNonDirect => "last_non_direct_channel",
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
    };

    internal static DateOnly ParseDay(string day) => DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static long Long(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private static decimal Cents(object? value) => Long(value) / 100m;

    private static List<Dictionary<string, object?>> Rows(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // fixed statements of this class
        cmd.CommandText = sql;
#pragma warning restore CA2100
        using var reader = cmd.ExecuteReader();
        var rows = new List<Dictionary<string, object?>>();
        while (reader.Read())
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }

        return rows;
    }
}

/// <summary>Reads the report's figures from the ClickHouse analyst tables, every query with FINAL.</summary>
public static class ClickHouseReport
{
    public static async Task<ReportModel> ReadAsync(ClickHouseClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var files = new List<FileQuality>();
        foreach (var r in await client.QueryJsonEachRowAsync(
                     $"SELECT *, ifNull(toString(day), '') AS day_text FROM {client.Qualify(Tables.FileStats)} FINAL", cancellationToken))
        {
            var reasons = r.EnumerateObject().Where(p => p.Name.StartsWith("dl_", StringComparison.Ordinal)).ToDictionary(p => p.Name[3..], p => Int(p.Value));
            var day = r.GetProperty("day_text").GetString();
            files.Add(new FileQuality(r.GetProperty("file").GetString()!, string.IsNullOrEmpty(day) ? null : SqliteReport.ParseDay(day), r.GetProperty("columns").GetString()!,
                Int(r.GetProperty("rows")), Int(r.GetProperty("valid")), Int(r.GetProperty("dead_lettered")), reasons));
        }

        var marketing = (await client.QueryJsonEachRowAsync(
                $"SELECT toString(day) AS day_text, channel, sessions, converted_sessions, orders, revenue FROM {client.Qualify(Tables.MarketingDaily)} FINAL WHERE model = {ClickHouseClient.Quote(AttributionModels.LastClick)}",
                cancellationToken))
            .Select(r => new MarketingRow(SqliteReport.ParseDay(r.GetProperty("day_text").GetString()!), r.GetProperty("channel").GetString()!,
                Int(r.GetProperty("sessions")), Int(r.GetProperty("converted_sessions")), Int(r.GetProperty("orders")), SummaryQueries.Decimal(r.GetProperty("revenue"))))
            .ToList();

        var sessions = (await client.QueryJsonEachRowAsync($"SELECT count() AS n, sum(is_converted) AS converted FROM {client.Qualify(Tables.Sessions)} FINAL", cancellationToken))[0];
        var (orders, revenue, zero) = await SummaryQueries.OrdersAsync(client, cancellationToken);
        if (orders == 0)
            revenue = 0m;

        var attribution = new Dictionary<string, IReadOnlyDictionary<string, decimal>>(StringComparer.Ordinal);
        foreach (var model in AttributionModels.All)
            attribution[model] = await SummaryQueries.AttributionAsync(client, model, cancellationToken);

        var alerts = (await client.QueryJsonEachRowAsync(
                $"SELECT toString(day) AS day_text, day = toDate('1970-01-01') AS no_day, rule, severity, observed, threshold, message FROM {client.Qualify(Tables.Alerts)} FINAL",
                cancellationToken))
            .Select(a => new ReportAlert(
                Int(a.GetProperty("no_day")) == 1 ? null : SqliteReport.ParseDay(a.GetProperty("day_text").GetString()!),
                a.GetProperty("rule").GetString()!, a.GetProperty("severity").GetString()!,
                a.GetProperty("observed").GetDouble(), a.GetProperty("threshold").GetDouble(), a.GetProperty("message").GetString()!))
            .ToList();

        return ReportBuilder.Build(new ReportInput(files, marketing, Int(sessions.GetProperty("n")), Int(sessions.GetProperty("converted")),
            orders, revenue, zero, attribution, alerts));
    }

    private static long Int(JsonElement e) => e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
