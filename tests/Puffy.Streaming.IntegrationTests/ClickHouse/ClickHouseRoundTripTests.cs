using System.Text.Json;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>Each table's row comes back with exactly the values written: times to the millisecond, money to the cent, null vs empty.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseRoundTripTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    private static string? Str(JsonElement row, string name) => row.GetProperty(name) is { ValueKind: JsonValueKind.Null } ? null : row.GetProperty(name).GetString();

    private static long Int(JsonElement row, string name) => row.GetProperty(name).GetInt64();

    private static IEnumerable<long> Ints(JsonElement row, params string[] names) => names.Select(n => Int(row, n));

    private static decimal Money(JsonElement row, string name) => SummaryQueries.Decimal(row.GetProperty(name));

    /// <summary>Rebuilds a UTC DateTime from the DateTime column and its milliseconds column.</summary>
    private static DateTime Time(JsonElement row, string column) =>
        DateTime.UnixEpoch.AddSeconds(Int(row, column + "_s")).AddMilliseconds(Int(row, column + "_ms"));

    [Fact]
    public async Task Events_SessionizedAndPlain_ReadBackExactly()
    {
        var writer = new ClickHouseWriter(Client);
        var purchase = Samples.Sessionized(Samples.Event(1, referrer: null, revenue: 1234.05m, transactionId: "tx-9"));
        var emptyReferrer = Samples.Event(2, referrer: string.Empty);
        await writer.AddAsync(purchase, Ct);
        await writer.AddAsync(emptyReferrer, Ct);
        await writer.FlushAsync(Ct);

        var rows = await Client.QueryJsonEachRowAsync(
            $"""
            SELECT event_id, session_id, toUInt32(session_start) AS session_start_s, session_start_ms, is_session_start, session_channel,
                   client_id, toString(ts) AS ts_text, toUInt32(ts) AS ts_s, ts_ms, toString(day) AS day, event_name, page_url, referrer,
                   user_agent, device, event_data, transaction_id, revenue, source_file, line,
                   toUInt32(stream_time) AS stream_time_s, stream_time_ms, landing_channel
            FROM {Client.Qualify(Tables.Events)} FINAL ORDER BY event_id
            """, Ct);

        Assert.Equal(2, rows.Count);
        var (p, e) = (rows[0], rows[1]);
        var v = purchase.Event;
        Assert.Equal(v.EventId, Str(p, "event_id"));
        Assert.Equal(purchase.SessionId, Str(p, "session_id"));
        Assert.Equal(purchase.SessionStart, Time(p, "session_start"));
        Assert.Equal(1, Int(p, "is_session_start"));
        Assert.Equal(Channels.OrganicSearch, Str(p, "session_channel"));
        Assert.Equal(v.ClientId, Str(p, "client_id"));
        Assert.Equal("2025-03-04 10:11:13", Str(p, "ts_text"));
        Assert.Equal(v.Timestamp, Time(p, "ts"));
        Assert.Equal(346, Int(p, "ts_ms"));
        Assert.Equal("2025-03-04", Str(p, "day"));
        Assert.Equal(EventNames.CheckoutCompleted, Str(p, "event_name"));
        Assert.Equal(v.PageUrl, Str(p, "page_url"));
        Assert.Null(Str(p, "referrer"));
        Assert.Equal(v.UserAgent, Str(p, "user_agent"));
        Assert.Equal(Devices.Mobile, Str(p, "device"));
        Assert.Equal(v.EventData, Str(p, "event_data"));
        Assert.Equal("tx-9", Str(p, "transaction_id"));
        Assert.Equal(1234.05m, Money(p, "revenue"));
        Assert.Equal("events_20250304.csv", Str(p, "source_file"));
        Assert.Equal(3, Int(p, "line"));
        Assert.Equal(v.StreamTime, Time(p, "stream_time"));
        Assert.Null(Str(p, "landing_channel"));

        // Written before sessionization: empty session, empty (not null) referrer, null revenue.
        Assert.Equal(emptyReferrer.EventId, Str(e, "event_id"));
        Assert.Equal(string.Empty, Str(e, "session_id"));
        Assert.Equal(0, Int(e, "is_session_start"));
        Assert.Equal(string.Empty, Str(e, "referrer"));
        Assert.Equal(JsonValueKind.Null, e.GetProperty("revenue").ValueKind);
        Assert.Null(Str(e, "transaction_id"));
        Assert.Null(Str(e, "event_data"));
        Assert.Equal(Channels.OrganicSearch, Str(e, "landing_channel"));
    }

    [Fact]
    public async Task DeadLetters_FileRowAndPoisonMessages_ReadBackExactly()
    {
        var writer = new ClickHouseWriter(Client);
        var withTime = Samples.FileDeadLetter(17) with { EventId = "ev-x", ClientId = "c-1", Timestamp = Samples.T0 };
        await writer.AddAsync(withTime, Ct);
        await writer.AddAsync(Samples.Poison(100), Ct);
        await writer.AddAsync(Samples.Poison(101), Ct);
        await writer.FlushAsync(Ct);

        var rows = await Client.QueryJsonEachRowAsync(
            $"""
            SELECT source_file, line, reason, source_key, severity, detail, toString(file_day) AS file_day, original_row, event_id, client_id,
                   toUInt32(ts) AS ts_s, ts_ms, source_topic, source_partition, source_offset
            FROM {Client.Qualify(Tables.DeadLetters)} FINAL ORDER BY source_file, line, source_key
            """, Ct);

        Assert.Equal(3, rows.Count);
        var (p1, p2, f) = (rows[0], rows[1], rows[2]);
        Assert.Equal(string.Empty, Str(p1, "source_file"));
        Assert.Equal(DeadLetterReasons.PoisonMessage, Str(p1, "reason"));
        Assert.Equal("puffy.raw-events.v1/3/100", Str(p1, "source_key"));
        Assert.Equal("puffy.raw-events.v1/3/101", Str(p2, "source_key"));
        Assert.Equal("error", Str(p1, "severity"));
        Assert.Equal("\u0001\u0002garbage", Str(p1, "original_row"));
        Assert.Null(Str(p1, "file_day"));
        Assert.Null(Str(p1, "event_id"));
        Assert.Equal(JsonValueKind.Null, p1.GetProperty("ts_s").ValueKind);
        Assert.Equal(JsonValueKind.Null, p1.GetProperty("ts_ms").ValueKind);
        Assert.Equal("puffy.raw-events.v1", Str(p1, "source_topic"));
        Assert.Equal(3, Int(p1, "source_partition"));
        Assert.Equal(100, Int(p1, "source_offset"));

        Assert.Equal("events_20250304.csv", Str(f, "source_file"));
        Assert.Equal(17, Int(f, "line"));
        Assert.Equal(DeadLetterReasons.MissingClientId, Str(f, "reason"));
        Assert.Equal(string.Empty, Str(f, "source_key"));
        Assert.Equal("warning", Str(f, "severity"));
        Assert.Equal("client_id is empty", Str(f, "detail"));
        Assert.Equal("2025-03-04", Str(f, "file_day"));
        Assert.Equal(withTime.OriginalRow, Str(f, "original_row"));
        Assert.Equal("ev-x", Str(f, "event_id"));
        Assert.Equal("c-1", Str(f, "client_id"));
        Assert.Equal(Samples.T0, Time(f, "ts"));
        Assert.Null(Str(f, "source_topic"));
        Assert.Equal(JsonValueKind.Null, f.GetProperty("source_partition").ValueKind);
    }

    [Fact]
    public async Task Sessions_Row_ReadsBackExactly()
    {
        var writer = new ClickHouseWriter(Client);
        var s = Samples.Session(2);
        await writer.AddAsync(s, Ct);
        await writer.AddAsync(Samples.Session(3) with { TransactionIds = [], Revenue = 0.1m, IsConverted = false }, Ct);
        await writer.FlushAsync(Ct);

        var rows = await Client.QueryJsonEachRowAsync(
            $"""
            SELECT session_id, client_id, toUInt32(start) AS start_s, start_ms, toUInt32(end) AS end_s, end_ms, toString(day) AS day,
                   event_count, page_views, emails_filled, adds_to_cart, checkouts_started, purchases, landing_page, landing_referrer,
                   channel, device, is_converted, orders, revenue, transaction_ids
            FROM {Client.Qualify(Tables.Sessions)} FINAL ORDER BY session_id
            """, Ct);

        Assert.Equal(2, rows.Count);
        var r = rows[0];
        Assert.Equal("sess-2", Str(r, "session_id"));
        Assert.Equal("client-1", Str(r, "client_id"));
        Assert.Equal(s.Start, Time(r, "start"));
        Assert.Equal(s.End, Time(r, "end"));
        Assert.Equal(999, Int(r, "end_ms"));
        Assert.Equal("2025-03-04", Str(r, "day"));
        Assert.Equal([7L, 4, 1, 1, 1, 2], Ints(r, "event_count", "page_views", "emails_filled", "adds_to_cart", "checkouts_started", "purchases"));
        Assert.Equal(s.LandingPage, Str(r, "landing_page"));
        Assert.Null(Str(r, "landing_referrer"));
        Assert.Equal(Channels.PaidSearch, Str(r, "channel"));
        Assert.Equal(Devices.Desktop, Str(r, "device"));
        Assert.Equal(1, Int(r, "is_converted"));
        Assert.Equal(2, Int(r, "orders"));
        Assert.Equal(1234.56m, Money(r, "revenue"));
        Assert.Equal(["tx-1", "tx-2"], r.GetProperty("transaction_ids").EnumerateArray().Select(x => x.GetString()));

        var other = rows[1];
        Assert.Equal(string.Empty, Str(other, "landing_referrer"));
        Assert.Equal(0.10m, Money(other, "revenue"));
        Assert.Equal(0, other.GetProperty("transaction_ids").GetArrayLength());
        Assert.Equal(0, Int(other, "is_converted"));
    }

    [Fact]
    public async Task Orders_Row_ReadsBackEveryModelsTouch()
    {
        var writer = new ClickHouseWriter(Client);
        var o = Samples.Order(1);
        await writer.AddAsync(o, Ct);
        await writer.AddAsync(Samples.Order(2, revenue: 0m), Ct);
        await writer.FlushAsync(Ct);

        var rows = await Client.QueryJsonEachRowAsync(
            $"""
            SELECT transaction_id, client_id, event_id, toUInt32(purchase_time) AS purchase_time_s, purchase_time_ms, toString(day) AS day,
                   revenue, is_zero_revenue, session_id, touchpoints, days_from_first_touch,
                   first_click_channel, first_click_session_id, toUInt32(first_click_session_start) AS first_click_session_start_s, first_click_session_start_ms,
                   last_click_channel, last_click_session_id, toUInt32(last_click_session_start) AS last_click_session_start_s, last_click_session_start_ms,
                   last_non_direct_channel, last_non_direct_session_id, toUInt32(last_non_direct_session_start) AS last_non_direct_session_start_s, last_non_direct_session_start_ms
            FROM {Client.Qualify(Tables.Orders)} FINAL ORDER BY transaction_id
            """, Ct);

        Assert.Equal(2, rows.Count);
        var r = rows[0];
        Assert.Equal("tx-1", Str(r, "transaction_id"));
        Assert.Equal("client-1", Str(r, "client_id"));
        Assert.Equal("ev-order-1", Str(r, "event_id"));
        Assert.Equal(o.PurchaseTime, Time(r, "purchase_time"));
        Assert.Equal("2025-03-06", Str(r, "day"));
        Assert.Equal(999.99m, Money(r, "revenue"));
        Assert.Equal(0, Int(r, "is_zero_revenue"));
        Assert.Equal("sess-3", Str(r, "session_id"));
        Assert.Equal(3, Int(r, "touchpoints"));
        Assert.Equal(2.5, r.GetProperty("days_from_first_touch").GetDouble());
        foreach (var (prefix, touch) in new[] { ("first_click", o.FirstClick), ("last_click", o.LastClick), ("last_non_direct", o.LastNonDirect) })
        {
            Assert.Equal(touch.Channel, Str(r, prefix + "_channel"));
            Assert.Equal(touch.SessionId, Str(r, prefix + "_session_id"));
            Assert.Equal(touch.SessionStart, Time(r, prefix + "_session_start"));
        }

        Assert.Equal(0m, Money(rows[1], "revenue"));
        Assert.Equal(1, Int(rows[1], "is_zero_revenue"));
        Assert.Equal((2L, 999.99m, 1L), await SummaryQueries.OrdersAsync(Client, Ct));
        Assert.Equal(999.99m, (await SummaryQueries.AttributionAsync(Client, AttributionModels.LastNonDirect, Ct))[Channels.Email]);
    }

    [Fact]
    public async Task MarketingAlertsAndFileStats_ReadBackExactly()
    {
        var writer = new ClickHouseWriter(Client);
        await writer.AddAsync(Samples.Marketing(), Ct);
        await writer.AddAsync(Samples.Alert(), Ct);
        await writer.AddAsync(Samples.Alert(new DateOnly(2025, 3, 5)), Ct);
        await writer.AddAsync(Samples.FileStats(), Ct);
        await writer.AddAsync(Samples.FileStats("broken.csv") with { Day = null, Error = "no header", Rows = 0, Valid = 0, DeadLettered = new Dictionary<string, long>(), Unreadable = true }, Ct);
        await writer.FlushAsync(Ct);

        var m = await SingleRowAsync($"SELECT toString(day) AS day, model, channel, sessions, converted_sessions, orders, revenue, conversion_rate FROM {Client.Qualify(Tables.MarketingDaily)} FINAL");
        Assert.Equal("2025-03-04", Str(m, "day"));
        Assert.Equal(AttributionModels.LastNonDirect, Str(m, "model"));
        Assert.Equal(Channels.PaidSearch, Str(m, "channel"));
        Assert.Equal([40L, 5, 3], Ints(m, "sessions", "converted_sessions", "orders"));
        Assert.Equal(1000.10m, Money(m, "revenue"));
        Assert.Equal(3.0 / 40, m.GetProperty("conversion_rate").GetDouble());

        var alerts = await Client.QueryJsonEachRowAsync($"SELECT rule, toUInt16(day) AS day_number, severity, observed, threshold, message FROM {Client.Qualify(Tables.Alerts)} FINAL ORDER BY day", Ct);
        // An alert without a day is stored as Date 0 (18.16 prints it 0000-00-00, newer servers 1970-01-01).
        Assert.Equal([0L, new DateOnly(2025, 3, 5).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber], alerts.Select(a => Int(a, "day_number")));
        var a = alerts[0];
        Assert.Equal("dead_letter_rate", Str(a, "rule"));
        Assert.Equal("critical", Str(a, "severity"));
        Assert.Equal(0.125, a.GetProperty("observed").GetDouble());
        Assert.Equal(0.05, a.GetProperty("threshold").GetDouble());
        Assert.Equal("12.5% of rows dead-lettered", Str(a, "message"));

        var files = await Client.QueryJsonEachRowAsync(
            $"SELECT file, toString(day) AS day, rows, columns, valid, dead_lettered, error, unreadable, dl_missing_client_id, dl_bot_user_agent, dl_late_event FROM {Client.Qualify(Tables.FileStats)} FINAL ORDER BY file", Ct);
        var (broken, f) = (files[0], files[1]);
        Assert.Equal("events_20250304.csv", Str(f, "file"));
        Assert.Equal("2025-03-04", Str(f, "day"));
        Assert.Equal([1000L, 990, 10, 6, 4, 0], Ints(f, "rows", "valid", "dead_lettered", "dl_missing_client_id", "dl_bot_user_agent", "dl_late_event"));
        Assert.Equal(Samples.FileStats().Columns, Str(f, "columns"));
        Assert.Null(Str(f, "error"));
        Assert.Null(Str(broken, "day"));
        Assert.Equal("no header", Str(broken, "error"));
        Assert.Equal([0L, 1], new[] { f, broken }.Select(r => Int(r, "unreadable")));
    }

    private static readonly string[] PoisonTextColumns = ["source_topic", "reason", "detail", "found_by", "message_key", "excerpt_base64", "received"];

    [Fact]
    public async Task PoisonMessages_Row_ReadsBackWithItsPositionAndExcerpt()
    {
        var writer = new ClickHouseWriter(Client);
        await writer.AddAsync(Samples.PoisonRow(17), Ct);
        await writer.FlushAsync(Ct);

        var p = await SingleRowAsync(
            $"SELECT source_topic, source_partition, source_offset, reason, detail, found_by, message_key, excerpt_base64, bytes, toString(received) AS received FROM {Client.Qualify(Tables.PoisonMessages)} FINAL");
        Assert.Equal(["puffy.metrics.v1", PoisonReasons.InvalidMetric, "file.rows = -5: must be a whole number", "monitor", "ingestor", "AAAAAAcBAg==", "2026-11-29 21:00:00"],
            PoisonTextColumns.Select(c => Str(p, c)));
        Assert.Equal([1L, 17, 7], Ints(p, "source_partition", "source_offset", "bytes"));
    }

    [Fact]
    public async Task AddAsync_RowItsTableCannotHold_IsRefusedAndTheBatchStillFlushes()
    {
        var writer = new ClickHouseWriter(Client);
        await writer.AddAsync(Samples.FileStats("good.csv"), Ct);

        var error = await Assert.ThrowsAsync<UnstorableRowException>(async () =>
            await writer.AddAsync(Samples.FileStats("forged.csv") with { Rows = -5 }, Ct));
        Assert.StartsWith("a file_stats row cannot be stored", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnstorableRowException>(async () => await writer.AddAsync(Samples.Marketing() with { Day = new DateOnly(1900, 1, 1) }, Ct));
        // The refused row was encoded half-way: nothing of it may stay between the rows around it.
        await writer.AddAsync(Samples.FileStats("later.csv"), Ct);
        await writer.FlushAsync(Ct);

        var files = await Client.QueryJsonEachRowAsync($"SELECT file, rows FROM {Client.Qualify(Tables.FileStats)} FINAL ORDER BY file", Ct);
        Assert.Equal(["good.csv", "later.csv"], files.Select(f => Str(f, "file")));
        Assert.All(files, f => Assert.Equal(Samples.FileStats().Rows, Int(f, "rows")));
        Assert.Equal(0, writer.Pending);
    }

    [Fact]
    public async Task InsertAsync_JsonEachRow_SendsTimesAsSecondsAndDecimalsAsNumbers()
    {
        await Client.InsertAsync(Tables.Orders, [
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["transaction_id"] = "tx-json", ["client_id"] = "c", ["event_id"] = "e", ["purchase_time"] = Samples.T0,
                ["purchase_time_ms"] = RowBinaryWriter.MillisecondPart(Samples.T0), ["day"] = DateOnly.FromDateTime(Samples.T0),
                ["revenue"] = 19.99m, ["is_zero_revenue"] = false, ["session_id"] = "s", ["touchpoints"] = 1, ["days_from_first_touch"] = 0.25,
                ["version"] = 1UL,
            },
        ], Ct);

        var r = await SingleRowAsync($"SELECT toUInt32(purchase_time) AS purchase_time_s, purchase_time_ms, toString(day) AS day, revenue, days_from_first_touch, first_click_channel FROM {Client.Qualify(Tables.Orders)} FINAL");
        Assert.Equal(Samples.T0, Time(r, "purchase_time"));
        Assert.Equal("2025-03-04", Str(r, "day"));
        Assert.Equal(19.99m, Money(r, "revenue"));
        Assert.Equal(0.25, r.GetProperty("days_from_first_touch").GetDouble());
        Assert.Equal(string.Empty, Str(r, "first_click_channel"));
    }
}
