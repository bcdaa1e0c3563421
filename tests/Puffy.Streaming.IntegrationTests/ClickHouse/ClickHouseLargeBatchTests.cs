using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseLargeBatchTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    [Fact]
    public async Task Writer_100kEvents_CountsAndSumsExactly()
    {
        const int count = 100_000;
        var writer = new ClickHouseWriter(Client, batchSize: 40_000);
        for (var i = 0; i < count; i++)
        {
            var e = Samples.Event(i, referrer: i % 3 == 0 ? null : "https://l.facebook.com/", revenue: i % 100 == 0 ? 0.01m * (i % 1000) + 0.99m : null,
                transactionId: i % 100 == 0 ? "tx-" + i : null);
            await writer.AddAsync(Samples.Sessionized(e, start: i % 7 == 0), Ct);
        }

        Assert.Equal(count % 40_000, writer.Pending); // two batches went out on their own
        await writer.FlushAsync(Ct);

        var r = await SingleRowAsync(
            $"SELECT count() AS n, uniqExact(event_id) AS ids, countIf(referrer IS NULL) AS null_referrers, sum(revenue) AS revenue, " +
            $"countIf(transaction_id IS NOT NULL) AS purchases, sum(is_session_start) AS starts FROM {Client.Qualify(Tables.Events)} FINAL");
        Assert.Equal(count, r.GetProperty("n").GetInt64());
        Assert.Equal(count, r.GetProperty("ids").GetInt64());
        Assert.Equal(33_334, r.GetProperty("null_referrers").GetInt64());
        Assert.Equal(1000, r.GetProperty("purchases").GetInt64());
        Assert.Equal(14_286, r.GetProperty("starts").GetInt64());
        Assert.Equal(ExpectedRevenue(count), SummaryQueries.Decimal(r.GetProperty("revenue")));
    }

    private static decimal ExpectedRevenue(int count)
    {
        var sum = 0m;
        for (var i = 0; i < count; i += 100)
            sum += 0.01m * (i % 1000) + 0.99m;
        return sum;
    }
}
