using System.Globalization;
using System.Text.Json;

namespace Puffy.Streaming.ClickHouse;

/// <summary>
/// Read-side figures over the analyst tables. Every query reads with FINAL, so rows written more than once
/// (redelivery) count once even before ClickHouse has merged them away.
/// </summary>
public static class SummaryQueries
{
    /// <summary>Rows per table, deduplicated.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> CountsAsync(ClickHouseClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var sql = string.Join(
            "\nUNION ALL\n",
            Tables.All.Select(t => $"SELECT {ClickHouseClient.Quote(t)} AS table_name, count() AS n FROM {client.Qualify(t)} FINAL"));
        var rows = await client.QueryJsonEachRowAsync(sql, cancellationToken);
        return rows.ToDictionary(r => r.GetProperty("table_name").GetString()!, r => r.GetProperty("n").GetInt64(), StringComparer.Ordinal);
    }

    /// <summary>Dead letters per reason code, deduplicated.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> DeadLetterReasonsAsync(ClickHouseClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var rows = await client.QueryJsonEachRowAsync(
            $"SELECT reason, count() AS n FROM {client.Qualify(Tables.DeadLetters)} FINAL GROUP BY reason ORDER BY reason", cancellationToken);
        return rows.ToDictionary(r => r.GetProperty("reason").GetString()!, r => r.GetProperty("n").GetInt64(), StringComparer.Ordinal);
    }

    /// <summary>Orders, their revenue and zero-revenue orders, deduplicated.</summary>
    public static async Task<(long Orders, decimal Revenue, long ZeroRevenueOrders)> OrdersAsync(ClickHouseClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var rows = await client.QueryJsonEachRowAsync(
            $"SELECT count() AS orders, sum(revenue) AS revenue, sum(is_zero_revenue) AS zero FROM {client.Qualify(Tables.Orders)} FINAL",
            cancellationToken);
        var r = rows[0];
        return (r.GetProperty("orders").GetInt64(), Decimal(r.GetProperty("revenue")), r.GetProperty("zero").GetInt64());
    }

    /// <summary>Revenue per channel under one attribution model (first, last, last_non_direct), deduplicated.</summary>
    public static async Task<IReadOnlyDictionary<string, decimal>> AttributionAsync(ClickHouseClient client, string model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var column = model switch
        {
            Contracts.AttributionModels.FirstClick => "first_click_channel",
            Contracts.AttributionModels.LastClick => "last_click_channel",
            Contracts.AttributionModels.LastNonDirect => "last_non_direct_channel",
            _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
        };
        var rows = await client.QueryJsonEachRowAsync(
            $"SELECT {column} AS channel, sum(revenue) AS revenue FROM {client.Qualify(Tables.Orders)} FINAL GROUP BY channel ORDER BY channel",
            cancellationToken);
        return rows.ToDictionary(r => r.GetProperty("channel").GetString()!, r => Decimal(r.GetProperty("revenue")), StringComparer.Ordinal);
    }

    /// <summary>A Decimal column's value from JSON output: a number on 18.16, a number or string on newer servers.</summary>
    public static decimal Decimal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDecimal(),
        JsonValueKind.String => decimal.Parse(value.GetString()!, NumberStyles.Number, CultureInfo.InvariantCulture),
        _ => throw new FormatException($"expected a decimal, got {value.ValueKind}"),
    };
}
