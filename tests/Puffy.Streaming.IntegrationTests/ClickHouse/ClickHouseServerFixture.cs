using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

[CollectionDefinition(Name)]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "ClickHouse server";
}

/// <summary>
/// Starts Debian's ClickHouse server (18.16) as a child process with its own config in a temp dir, on free ports of
/// 127.0.0.1, and stops it on dispose. With <c>CLICKHOUSE_URL</c> set, uses that server instead (e.g. a current
/// ClickHouse from the compose stack), so the same tests check both versions.
/// </summary>
public sealed class ClickHouseServerFixture : IAsyncLifetime
{
    public const string ServerBinary = "/usr/sbin/clickhouse-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;
    private string? _dir;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The repository's DDL folder, infra/clickhouse.</summary>
    public static string SchemaFolder { get; } = Path.Combine(FindRepoRoot(), "infra", "clickhouse");

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("CLICKHOUSE_URL") is { Length: > 0 } external)
        {
            BaseUrl = new Uri(external.EndsWith('/') ? external : external + "/");
            return;
        }

        if (!File.Exists(ServerBinary))
        {
            throw new InvalidOperationException(
                $"ClickHouse server not found at {ServerBinary}. Install it (apt-get install clickhouse-server clickhouse-client) " +
                "or point CLICKHOUSE_URL at a running server. These tests do not skip.");
        }

        // A free port can be taken between probing and binding; try again with fresh ports.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException e)
            {
                last = e;
                await StopAsync();
            }
        }

        throw new InvalidOperationException("ClickHouse server did not start", last);
    }

    /// <summary>A client for a fresh database name (not yet created) derived from <paramref name="prefix"/>.</summary>
    public ClickHouseClient CreateClient(string prefix, Action<ClickHouseOptions>? configure = null)
    {
        var options = new ClickHouseOptions
        {
            BaseUrl = BaseUrl,
            Database = UniqueDatabase(prefix),
            MaxRetries = 2,
            RetryDelay = TimeSpan.FromMilliseconds(100),
        };
        configure?.Invoke(options);
        return new ClickHouseClient(options);
    }

    public static string UniqueDatabase(string prefix) =>
        "t_" + new string(prefix.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant() + "_" + Guid.NewGuid().ToString("N")[..10];

    private async Task StartAsync()
    {
        _dir = Directory.CreateTempSubdirectory("puffy-clickhouse-").FullName;
        var httpPort = FreePort();
        var tcpPort = FreePort();
        while (tcpPort == httpPort)
            tcpPort = FreePort();
        var config = Path.Combine(_dir, "config.xml");
        var users = Path.Combine(_dir, "users.xml");
        await File.WriteAllTextAsync(config, ConfigXml(_dir, httpPort, tcpPort, users));
        await File.WriteAllTextAsync(users, UsersXml);

        var start = new ProcessStartInfo(ServerBinary)
        {
            WorkingDirectory = _dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--config-file=" + config);
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + ServerBinary);
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        BaseUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}/"));
        using var ping = new ClickHouseClient(new ClickHouseOptions { BaseUrl = BaseUrl, MaxRetries = 0, Timeout = TimeSpan.FromSeconds(2) });
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"clickhouse-server exited with {_process.ExitCode}: {Diagnostics()}");
            if (await ping.PingAsync())
                return;
            await Task.Delay(50); // polling the readiness endpoint, not synchronising a test
        }

        throw new InvalidOperationException($"clickhouse-server did not answer /ping within {StartTimeout}: {Diagnostics()}");
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        while (_output.Count > 50)
            _output.TryDequeue(out _);
    }

    private string Diagnostics()
    {
        var errorLog = _dir is null ? null : Path.Combine(_dir, "server.err.log");
        var tail = errorLog is not null && File.Exists(errorLog) ? string.Join('\n', File.ReadLines(errorLog).TakeLast(20)) : string.Empty;
        return string.Join('\n', _output) + "\n" + tail;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ConfigXml(string dir, int httpPort, int tcpPort, string users) => $"""
        <?xml version="1.0"?>
        <yandex>
          <logger>
            <level>information</level>
            <log>{dir}/server.log</log>
            <errorlog>{dir}/server.err.log</errorlog>
            <console>0</console>
          </logger>
          <http_port>{httpPort}</http_port>
          <tcp_port>{tcpPort}</tcp_port>
          <listen_host>127.0.0.1</listen_host>
          <path>{dir}/data/</path>
          <tmp_path>{dir}/tmp/</tmp_path>
          <user_files_path>{dir}/user_files/</user_files_path>
          <format_schema_path>{dir}/format_schemas/</format_schema_path>
          <users_config>{users}</users_config>
          <default_profile>default</default_profile>
          <default_database>default</default_database>
          <timezone>UTC</timezone>
          <mark_cache_size>268435456</mark_cache_size>
          <max_concurrent_queries>100</max_concurrent_queries>
        </yandex>
        """;

    private const string UsersXml = """
        <?xml version="1.0"?>
        <yandex>
          <profiles>
            <default>
              <max_memory_usage>4000000000</max_memory_usage>
              <load_balancing>random</load_balancing>
            </default>
          </profiles>
          <users>
            <default>
              <password></password>
              <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
              </networks>
              <profile>default</profile>
              <quota>default</quota>
            </default>
          </users>
          <quotas>
            <default>
              <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
              </interval>
            </default>
          </quotas>
        </yandex>
        """;

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Puffy.Streaming.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Puffy.Streaming.sln)");
    }

    private async Task StopAsync()
    {
        if (_process is { } p)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await p.WaitForExitAsync(timeout.Token);
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }

            p.Dispose();
            _process = null;
        }

        if (_dir is { } dir)
        {
            for (var attempt = 0; attempt < 5 && Directory.Exists(dir); attempt++)
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                    await Task.Delay(100);
                }
            }

            _dir = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
