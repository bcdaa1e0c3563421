using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

[CollectionDefinition(Name)]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "ClickHouse server";
}

/// <summary>
/// Starts Debian's ClickHouse server (18.16) through <see cref="LocalClickHouse"/> with its own config in a temp dir,
/// on free ports of 127.0.0.1, and stops it on dispose. With <c>CLICKHOUSE_URL</c> set, uses that server instead
/// (e.g. a current ClickHouse from the compose stack; put an administrator's user and password in the URL), so the
/// same tests check both versions. The tests' clients log in as the administrator (<c>default</c>, with its password):
/// they create a database each, which the services' writer may not.
/// </summary>
public sealed class ClickHouseServerFixture : IAsyncLifetime
{
    public const string ServerBinary = LocalClickHouse.ServerBinary;

    private LocalClickHouse? _server;
    private string? _dir;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The local server (null with <c>CLICKHOUSE_URL</c>): its users and password files.</summary>
    public LocalClickHouse? Local => _server;

    /// <summary>The server's URL with the administrator's user and password in it, for the command line's <c>--clickhouse</c>.</summary>
    public string Url => _server is null
        ? BaseUrl.ToString()
        : new UriBuilder(BaseUrl) { UserName = "default", Password = Uri.EscapeDataString(LocalSecret.Read(_server.AdminPasswordFile)!) }.Uri.ToString();

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
                $"ClickHouse server not found at {ServerBinary}. Run infra/install-servers.sh (Debian packages clickhouse-server " +
                "clickhouse-client) or point CLICKHOUSE_URL at a running server. These tests do not skip.");
        }

        _dir = Directory.CreateTempSubdirectory("puffy-clickhouse-").FullName;
        try
        {
            _server = await LocalClickHouse.StartAsync(_dir);
        }
        catch (InvalidOperationException)
        {
            await StopAsync();
            throw;
        }

        BaseUrl = _server.BaseUrl;
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
            User = _server is null ? null : "default",
            PasswordFile = _server?.AdminPasswordFile,
        };
        configure?.Invoke(options);
        return new ClickHouseClient(options);
    }

    /// <summary>A uniquely named database for one test (created by whatever writes to it first), dropped when disposed.</summary>
    public TemporaryDatabase Temporary(string prefix) => new(this, UniqueDatabase(prefix));

    public sealed class TemporaryDatabase(ClickHouseServerFixture server, string name) : IAsyncDisposable
    {
        public string Name => name;

        public async ValueTask DisposeAsync()
        {
            using var client = server.CreateClient("cleanup", o => o.Database = "default");
            await client.ExecuteAsync("DROP DATABASE IF EXISTS " + name, CancellationToken.None);
        }
    }

    public static string UniqueDatabase(string prefix) =>
        "t_" + new string(prefix.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant() + "_" + Guid.NewGuid().ToString("N")[..10];

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Puffy.Streaming.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Puffy.Streaming.sln)");
    }

    private async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            _server = null;
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
