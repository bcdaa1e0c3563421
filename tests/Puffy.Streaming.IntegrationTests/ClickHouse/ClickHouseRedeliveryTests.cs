using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>At-least-once delivery: writing the same records again must not change what FINAL reads.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseRedeliveryTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 3, 10, 0, 0, 0, TimeSpan.Zero));

    private static async Task WriteBatchAsync(ClickHouseWriter writer)
    {
        for (var i = 0; i < 50; i++)
            await writer.AddAsync(Samples.Sessionized(Samples.Event(i, revenue: i % 10 == 0 ? 10.01m : null, transactionId: i % 10 == 0 ? "tx-" + i : null)), Ct);
        for (var i = 0; i < 5; i++)
            await writer.AddAsync(Samples.FileDeadLetter(1000 + i), Ct);
        await writer.AddAsync(Samples.Poison(7), Ct);
        for (var i = 0; i < 4; i++)
        {
            await writer.AddAsync(Samples.Session(i), Ct);
            await writer.AddAsync(Samples.Order(i), Ct);
        }

        await writer.AddAsync(Samples.Marketing(), Ct);
        await writer.AddAsync(Samples.Alert(), Ct);
        await writer.AddAsync(Samples.FileStats(), Ct);
        await writer.AddAsync(Samples.PoisonRow(17), Ct);
        await writer.FlushAsync(Ct);
    }

    [Fact]
    public async Task WriteSameBatchTwice_FinalCountsAndSumsUnchanged()
    {
        var writer = new ClickHouseWriter(Client, batchSize: 16, clock: _clock);
        await WriteBatchAsync(writer);
        var counts = await SummaryQueries.CountsAsync(Client, Ct);
        var orders = await SummaryQueries.OrdersAsync(Client, Ct);
        var reasons = await SummaryQueries.DeadLetterReasonsAsync(Client, Ct);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await WriteBatchAsync(writer);

        Assert.Equal(
            new Dictionary<string, long>(StringComparer.Ordinal)
            {
                [Tables.Events] = 50, [Tables.DeadLetters] = 6, [Tables.Sessions] = 4, [Tables.Orders] = 4,
                [Tables.MarketingDaily] = 1, [Tables.Alerts] = 1, [Tables.FileStats] = 1, [Tables.PoisonMessages] = 1,
            },
            counts);
        Assert.Equal(counts, await SummaryQueries.CountsAsync(Client, Ct));
        Assert.Equal((4L, 3999.96m, 0L), orders);
        Assert.Equal(orders, await SummaryQueries.OrdersAsync(Client, Ct));
        Assert.Equal(reasons, await SummaryQueries.DeadLetterReasonsAsync(Client, Ct));
        Assert.Equal("50.05", await Client.QueryScalarAsync($"SELECT sum(revenue) FROM {Client.Qualify(Tables.Events)} FINAL", Ct));
        Assert.Equal(0, writer.Pending);
    }

    [Fact]
    public async Task PlainEventRedeliveredAfterSessionizedOne_KeepsTheSession()
    {
        var writer = new ClickHouseWriter(Client, clock: _clock);
        var e = Samples.Event(5);
        await writer.AddAsync(e, Ct);
        await writer.FlushAsync(Ct);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await writer.AddAsync(Samples.Sessionized(e), Ct);
        await writer.FlushAsync(Ct);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await writer.AddAsync(e, Ct);
        await writer.FlushAsync(Ct);

        var row = await SingleRowAsync($"SELECT session_id FROM {Client.Qualify(Tables.Events)} FINAL");
        Assert.Equal(Samples.Sessionized(e).SessionId, row.GetProperty("session_id").GetString());
    }

    [Fact]
    public async Task SnapshotRewritten_LatestVersionWins()
    {
        var writer = new ClickHouseWriter(Client, clock: _clock);
        await writer.AddAsync(Samples.Marketing(sessions: 40, revenue: 1000.10m), Ct);
        await writer.AddAsync(Samples.FileStats() with { Valid = 1 }, Ct);
        await writer.FlushAsync(Ct);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await writer.AddAsync(Samples.Marketing(sessions: 41, revenue: 1200.00m), Ct);
        await writer.AddAsync(Samples.FileStats(), Ct);
        await writer.FlushAsync(Ct);

        var m = await SingleRowAsync($"SELECT sessions, revenue FROM {Client.Qualify(Tables.MarketingDaily)} FINAL");
        Assert.Equal(41, m.GetProperty("sessions").GetInt64());
        Assert.Equal(1200.00m, SummaryQueries.Decimal(m.GetProperty("revenue")));
        Assert.Equal("990", await Client.QueryScalarAsync($"SELECT valid FROM {Client.Qualify(Tables.FileStats)} FINAL", Ct));

        // argMax reads the same answer without FINAL.
        Assert.Equal("41", await Client.QueryScalarAsync(
            $"SELECT argMax(sessions, version) FROM {Client.Qualify(Tables.MarketingDaily)} GROUP BY day, model, channel", Ct));
    }

    [Fact]
    public async Task FailedFlush_KeepsRowsUntilARetrySucceeds()
    {
        var writer = new ClickHouseWriter(Client, clock: _clock);
        await writer.AddAsync(Samples.Session(1), Ct);
        await Client.ExecuteAsync($"DROP TABLE {Client.Qualify(Tables.Sessions)}", Ct);

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => writer.FlushAsync(Ct));
        Assert.Equal(60, error.Code);
        Assert.Equal(1, writer.Pending);

        await Client.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct);
        await writer.FlushAsync(Ct);
        Assert.Equal(0, writer.Pending);
        Assert.Equal(1, await CountFinalAsync(Tables.Sessions));
    }
}
