using Puffy.Streaming.LocalServers;
using StackExchange.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// A real redis-server (Debian's package) started through <see cref="LocalRedis"/> on a free port in a temporary folder,
/// or the server named by <c>REDIS_URL</c> (host:port) when set. Missing binary: the fixture fails with the install hint.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private LocalRedis? _server;
    private string? _dir;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var endpoint = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrEmpty(endpoint))
        {
            _dir = Directory.CreateTempSubdirectory("puffy-redis-").FullName;
            try
            {
                _server = await LocalRedis.StartAsync(_dir, appendOnly: false);
            }
            catch (InvalidOperationException)
            {
                Directory.Delete(_dir, recursive: true);
                _dir = null;
                throw;
            }

            endpoint = _server.Configuration;
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync(endpoint + ",abortConnect=true,connectTimeout=1000");
                await Connection.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && (_server is null || BackgroundProcess.IsAlive(_server.Pid)))
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Connection?.Dispose();
        if (_server is not null)
            await _server.StopAsync();
        if (_dir is not null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
