using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.LocalServers;
using static Puffy.Streaming.IntegrationTests.LocalServers.LocalServersTestKit;

namespace Puffy.Streaming.IntegrationTests.LocalServers;

/// <summary>A clickhouse-server in its own directory, started in the background and stopped by PID.</summary>
public sealed class LocalClickHouseTests
{
    [Fact]
    public async Task StartAsync_AnswersQueries_StopAsyncEndsIt()
    {
        using var dir = new TempDirectory("puffy-local-clickhouse-");
        var server = await LocalClickHouse.StartAsync(dir.Path, ct: Ct);
        try
        {
            using var client = new ClickHouseClient(new ClickHouseOptions
            {
                BaseUrl = server.BaseUrl, Database = "default", MaxRetries = 0, User = "default", PasswordFile = server.AdminPasswordFile,
            });

            Assert.Equal("1", await client.QueryScalarAsync("SELECT 1", Ct));
            Assert.True(File.Exists(Path.Combine(dir.Path, "config.xml")));
        }
        finally
        {
            await server.StopAsync();
        }

        Assert.False(BackgroundProcess.IsAlive(server.Pid));
        Assert.False(await LocalClickHouse.PingAsync(server.BaseUrl, Ct));
    }

    [Fact]
    public async Task StartAsync_LowCardinalityColumn_IsAllowedByTheProfile()
    {
        using var dir = new TempDirectory("puffy-local-clickhouse-");
        var server = await LocalClickHouse.StartAsync(dir.Path, ct: Ct);
        try
        {
            using var client = new ClickHouseClient(new ClickHouseOptions
            {
                BaseUrl = server.BaseUrl, Database = "default", MaxRetries = 0, User = "default", PasswordFile = server.AdminPasswordFile,
            });

            await client.ExecuteAsync("CREATE TABLE lc (s LowCardinality(String)) ENGINE = Memory", Ct);
            await client.ExecuteAsync("INSERT INTO lc VALUES ('a')", Ct);

            Assert.Equal("a", await client.QueryScalarAsync("SELECT s FROM lc", Ct));
        }
        finally
        {
            await server.StopAsync();
        }
    }
}
