using System.Globalization;
using System.Text.Json;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded;

/// <summary>Writes what the pipeline produces into the ClickHouse analyst tables (batched, idempotent).</summary>
public sealed class ClickHouseSink(ClickHouseWriter writer) : IPipelineSink
{
    public void OnDeadLetter(DeadLetter deadLetter) => Wait(writer.AddAsync(deadLetter));

    public void OnEvent(SessionizedEvent sessionized) => Wait(writer.AddAsync(sessionized));

    public void OnSession(Session session) => Wait(writer.AddAsync(session));

    public void OnOrder(AttributedOrder order) => Wait(writer.AddAsync(order));

    public void OnAlert(Alert alert) => Wait(writer.AddAsync(alert));

    /// <summary>Writes the run-level tables (marketing, file stats) and flushes everything.</summary>
    public async Task CompleteAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(summary);
        foreach (var row in summary.MarketingDaily)
            await writer.AddAsync(row, cancellationToken);
        foreach (var f in summary.Files.Values)
            await writer.AddAsync(new FileStatsRow(f.File, f.Day, f.Rows, f.Columns, f.Valid, f.DeadLettered, f.Error, f.Unreadable), cancellationToken);
        await writer.FlushAsync(cancellationToken);
    }

    // The sink interface is synchronous; the writer only does I/O when a batch is full.
    private static void Wait(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
            pending.AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>
/// Computes <c>summary.json</c> from the ClickHouse tables, every query with FINAL so redelivered rows count once.
/// It gives the same figures as the embedded run over the same input.
/// </summary>
public static class ClickHouseSummary
{
    public static async Task<RunSummary> ReadAsync(ClickHouseClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var s = new RunSummary();
        foreach (var r in await client.QueryJsonEachRowAsync($"SELECT file, rows FROM {client.Qualify(Tables.FileStats)} FINAL", cancellationToken))
        {
            s.RowsPerFile[r.GetProperty("file").GetString()!] = Int(r.GetProperty("rows"));
            s.RowsRead += Int(r.GetProperty("rows"));
        }

        s.Valid = Int((await client.QueryJsonEachRowAsync($"SELECT count() AS n FROM {client.Qualify(Tables.Events)} FINAL", cancellationToken))[0].GetProperty("n"));
        foreach (var (reason, count) in await SummaryQueries.DeadLetterReasonsAsync(client, cancellationToken))
        {
            s.DeadLetterReasons[reason] = count;
            s.DeadLettered += count;
        }

        var sessions = client.Qualify(Tables.Sessions);
        var totals = (await client.QueryJsonEachRowAsync($"SELECT count() AS n, sum(is_converted) AS converted FROM {sessions} FINAL", cancellationToken))[0];
        s.Sessions = Int(totals.GetProperty("n"));
        s.ConvertedSessions = Int(totals.GetProperty("converted"));
        await Group(client, $"SELECT toString(day) AS k, count() AS n FROM {sessions} FINAL GROUP BY day", s.SessionsPerDay, cancellationToken);
        await Group(client, $"SELECT channel AS k, count() AS n FROM {sessions} FINAL GROUP BY channel", s.SessionsPerChannel, cancellationToken);
        await Group(client, $"SELECT device AS k, count() AS n FROM {sessions} FINAL GROUP BY device", s.DeviceSessions, cancellationToken);

        (s.Orders, s.Revenue, s.ZeroRevenueOrders) = await SummaryQueries.OrdersAsync(client, cancellationToken);
        if (s.Orders == 0)
            s.Revenue = 0m;
        foreach (var model in AttributionModels.All)
        {
            foreach (var (channel, revenue) in await SummaryQueries.AttributionAsync(client, model, cancellationToken))
                s.Attribution[model][channel] = revenue;
        }

        var alerts = await client.QueryJsonEachRowAsync(
            $"SELECT toString(day) AS day_text, day = toDate('1970-01-01') AS no_day, rule, severity, observed, threshold, message FROM {client.Qualify(Tables.Alerts)} FINAL",
            cancellationToken);
        foreach (var a in alerts)
        {
            // A day-less alert is stored as day 0 (a sort key cannot be Nullable).
            DateOnly? day = Int(a.GetProperty("no_day")) == 1 ? null : DateOnly.ParseExact(a.GetProperty("day_text").GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            s.Alerts.Add(new Alert(day, a.GetProperty("rule").GetString()!, Enum.Parse<Severity>(a.GetProperty("severity").GetString()!, ignoreCase: true),
                a.GetProperty("observed").GetDouble(), a.GetProperty("threshold").GetDouble(), a.GetProperty("message").GetString()!));
        }

        s.Alerts.Sort((x, y) =>
        {
            var c = Nullable.Compare(x.Day, y.Day);
            return c != 0 ? c : string.CompareOrdinal(x.Rule, y.Rule);
        });
        return s;
    }

    private static async Task Group(ClickHouseClient client, string sql, SortedDictionary<string, long> into, CancellationToken cancellationToken)
    {
        foreach (var r in await client.QueryJsonEachRowAsync(sql, cancellationToken))
            into[r.GetProperty("k").GetString()!] = Int(r.GetProperty("n"));
    }

    private static long Int(JsonElement e) => e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
