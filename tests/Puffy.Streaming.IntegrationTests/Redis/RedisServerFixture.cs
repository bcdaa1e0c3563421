using Puffy.Streaming.LocalServers;
using StackExchange.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// A real redis-server (Debian's package) started through <see cref="LocalRedis"/> on a free port in a temporary folder,
/// or the server named by <c>REDIS_URL</c> (a StackExchange.Redis configuration string: <c>host:port,user=…,password=…</c>)
/// when set. The local server wants a password: the fixture logs in as its service user. Missing binary: the fixture
/// fails with the install hint.
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

            endpoint = _server.ServiceConfiguration();
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                // The client's default connect timeout: a shorter one lets a busy machine's slow handshake mark the
                // server unselectable ("No connection is available") until the client's next reconfiguration.
                Connection = await ConnectionMultiplexer.ConnectAsync(endpoint + ",abortConnect=true");
                await ProveWritableAsync(Connection.GetDatabase());
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && (_server is null || BackgroundProcess.IsAlive(_server.Pid)))
            {
                Connection?.Dispose();
                await Task.Delay(50);
            }
        }
    }

    // Ready means what the stores do: a MULTI/EXEC transaction that writes, not only PING.
    private static async Task ProveWritableAsync(IDatabase db)
    {
        var key = "fixture-ready-" + Guid.NewGuid().ToString("N");
        var transaction = db.CreateTransaction();
        var set = transaction.StringSetAsync(key, "1");
        var delete = transaction.KeyDeleteAsync(key);
        if (!await transaction.ExecuteAsync() || !await set || !await delete)
            throw new InvalidOperationException($"Redis did not apply the readiness transaction on {key}");
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
