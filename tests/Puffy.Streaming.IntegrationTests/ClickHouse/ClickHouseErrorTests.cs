using System.Net;
using System.Net.Sockets;
using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseErrorTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    [Fact]
    public async Task Query_UnknownFunction_ThrowsWithServerCode46()
    {
        var e = await Assert.ThrowsAsync<ClickHouseException>(() => Client.QueryJsonEachRowAsync("SELECT nosuchfn()", Ct));

        Assert.Equal(46, e.Code);
        Assert.Contains("nosuchfn", e.ServerMessage, StringComparison.Ordinal);
        Assert.StartsWith("SELECT nosuchfn()", e.Sql, StringComparison.Ordinal);
        Assert.NotEqual(200, e.HttpStatus);
    }

    [Fact]
    public async Task Execute_SyntaxError_ThrowsWithServerCode62()
    {
        var e = await Assert.ThrowsAsync<ClickHouseException>(() => Client.ExecuteAsync("CREATE TABLE oops (", Ct));

        Assert.Equal(62, e.Code);
    }

    [Fact]
    public async Task Query_UnknownTable_ThrowsWithServerCode60()
    {
        var e = await Assert.ThrowsAsync<ClickHouseException>(() => Client.QueryScalarAsync($"SELECT count() FROM {Client.Qualify("no_such_table")}", Ct));

        Assert.Equal(60, e.Code);
    }

    [Fact]
    public async Task InsertRowBinary_TruncatedRow_ThrowsServerError()
    {
        var body = new RowBinaryWriter().String("only-a-name");

        var e = await Assert.ThrowsAsync<ClickHouseException>(
            () => Client.InsertRowBinaryAsync(Puffy.Streaming.ClickHouse.Tables.Alerts, ["rule", "day"], body.WrittenMemory, Ct));

        Assert.True(e.Code > 0);
    }

    [Fact]
    public async Task ServerUnreachable_RetriesThenThrowsTransportError()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        using var client = new ClickHouseClient(new ClickHouseOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{port}/"),
            Database = "nowhere",
            MaxRetries = 2,
            RetryDelay = TimeSpan.FromMilliseconds(10),
        });

        await Assert.ThrowsAsync<HttpRequestException>(() => client.ExecuteAsync("SELECT 1", Ct));
        Assert.False(await client.PingAsync(Ct));
    }
}
