using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// A real redis-server (Debian's package) started as a child process on a free port in a temporary folder, or the
/// server named by <c>REDIS_URL</c> (host:port) when set. Missing binary: the fixture fails with the install hint.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private Process? _server;
    private string? _dir;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var endpoint = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrEmpty(endpoint))
        {
            const string binary = "/usr/bin/redis-server";
            if (!File.Exists(binary))
                throw new InvalidOperationException($"{binary} is missing: run infra/install-servers.sh (Debian package redis-server)");
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _dir = Directory.CreateTempSubdirectory("puffy-redis-").FullName;
            var start = new ProcessStartInfo(binary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dir, "--save", "", "--appendonly", "no", "--logfile", Path.Combine(_dir, "redis.log") })
                start.ArgumentList.Add(arg);
            _server = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
            endpoint = "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
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
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && _server is { HasExited: false })
            {
                await Task.Delay(50);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Connection?.Dispose();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            _server.WaitForExit(5000);
        }

        _server?.Dispose();
        if (_dir is not null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}
