using System.Diagnostics;
using System.Globalization;
using System.Security;

namespace Puffy.Streaming.LocalServers;

/// <summary>
/// Debian's clickhouse-server (18.16) run as a background process on 127.0.0.1 with its own config, data and logs in
/// one directory. The server outlives the process that started it; <see cref="Attach"/> gets a handle back from
/// stored values.
/// </summary>
/// <remarks>
/// Every user needs a password (stored as SHA-256 in the users files; the passwords themselves in 0600 files of the
/// directory) and comes from 127.0.0.1 only: <see cref="WriterUser"/> (the services: reads, writes and creates the
/// tables of the analyst database, nothing else), <see cref="AnalystUser"/> (SELECT only: profile <c>readonly=1</c>,
/// the analyst database only) and <c>default</c>, the administrator. ClickHouse 18.16 has no GRANT: a user's rights
/// are its profile (read-only or not) and its <c>allow_databases</c>. The two roles are in <c>users.d/puffy.xml</c>.
/// </remarks>
public sealed class LocalClickHouse
{
    /// <summary>Where Debian's clickhouse-server package installs the server.</summary>
    public const string ServerBinary = "/usr/sbin/clickhouse-server";

    private const int Attempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(20);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>The services' user: SELECT, INSERT and CREATE in the analyst database.</summary>
    public const string WriterUser = "puffy_writer";

    /// <summary>The analysts' user: SELECT in the analyst database, nothing else.</summary>
    public const string AnalystUser = "puffy_analyst";

    /// <summary>The database the writer and the analyst may use unless the start names another.</summary>
    public const string DefaultDatabase = "puffy";

    private LocalClickHouse(string directory, int httpPort, int tcpPort, int pid)
    {
        Directory = directory;
        HttpPort = httpPort;
        TcpPort = tcpPort;
        Pid = pid;
    }

    /// <summary>The server's directory: config.xml, users.xml, data, logs.</summary>
    public string Directory { get; }

    public int HttpPort { get; }

    /// <summary>The native protocol port (clickhouse-client).</summary>
    public int TcpPort { get; }

    public int Pid { get; }

    /// <summary>The file holding <see cref="WriterUser"/>'s password (mode 0600).</summary>
    public string WriterPasswordFile => PasswordFileIn(Directory, WriterUser);

    /// <summary>The file holding <see cref="AnalystUser"/>'s password (mode 0600).</summary>
    public string AnalystPasswordFile => PasswordFileIn(Directory, AnalystUser);

    /// <summary>The file holding the <c>default</c> (administrator) user's password (mode 0600).</summary>
    public string AdminPasswordFile => PasswordFileIn(Directory, "default");

    /// <summary>The HTTP interface, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseUrl => BaseUrlFor(HttpPort);

    /// <summary>A handle on a server started earlier (possibly by another process) from its stored values.</summary>
    public static LocalClickHouse Attach(string directory, int httpPort, int tcpPort, int pid) =>
        new(Path.GetFullPath(directory), httpPort, tcpPort, pid);

    /// <summary>
    /// Writes config.xml, users.xml and users.d/puffy.xml into <paramref name="directory"/> (created if missing), starts
    /// the server and returns once <c>/ping</c> answers. Without ports, free ones are chosen (and fresh ones tried if
    /// the start fails). The writer and the analyst may use <paramref name="database"/> only; passwords are those of an
    /// earlier start in the directory, else new random ones.
    /// </summary>
    public static async Task<LocalClickHouse> StartAsync(
        string directory, int? httpPort = null, int? tcpPort = null, string database = DefaultDatabase, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!File.Exists(ServerBinary))
        {
            throw new InvalidOperationException(
                $"{ServerBinary} is missing: run infra/install-servers.sh (Debian packages clickhouse-server clickhouse-client).");
        }

        var dir = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(dir);
        var attempts = httpPort is null && tcpPort is null ? Attempts : 1;
        var failure = string.Empty;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var http = httpPort ?? FreePorts.Next();
            var tcp = tcpPort ?? FreePorts.Next();
            while (tcpPort is null && tcp == http)
                tcp = FreePorts.Next();
            if (tcp == http)
                throw new ArgumentException($"the HTTP and TCP ports must differ (both {http})", nameof(tcpPort));
            var (server, error) = await StartOnceAsync(dir, http, tcp, database, ct);
            if (server is not null)
                return server;
            failure = error;
        }

        throw new InvalidOperationException(failure);
    }

    /// <summary><c>GET /ping</c>: true when the server answers <c>Ok.</c>.</summary>
    public static async Task<bool> PingAsync(Uri baseUrl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        try
        {
            // No keep-alive: the server waits for open connections (up to its keep-alive timeout) when it shuts down.
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, "ping")) { Headers = { ConnectionClose = true } };
            using var response = await Http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode && body.StartsWith("Ok.", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the client's timeout: a server that accepts but does not answer is not ready
        }
    }

    /// <summary>SIGTERM (the server finishes its queries and exits), SIGKILL if it is still running after 20 s.</summary>
    public async Task StopAsync()
    {
        if (BackgroundProcess.IsAlive(Pid) && IsClickHouse(Pid))
            await BackgroundProcess.StopAsync(Pid, StopGrace);
    }

    private static async Task<(LocalClickHouse? Server, string Error)> StartOnceAsync(
        string dir, int httpPort, int tcpPort, string database, CancellationToken ct)
    {
        var config = Path.Combine(dir, "config.xml");
        var users = Path.Combine(dir, "users.xml");
        await File.WriteAllTextAsync(config, ConfigXml(dir, httpPort, tcpPort, users), ct);
        WriteUsers(dir, users, database);

        var elapsed = Stopwatch.StartNew();
        var pid = BackgroundProcess.Start(ServerBinary, ["--config-file=" + config], OutputLogIn(dir), dir);
        var baseUrl = BaseUrlFor(httpPort);
        while (elapsed.Elapsed < StartTimeout)
        {
            if (!BackgroundProcess.IsAlive(pid))
                return (null, Describe("clickhouse-server exited while starting", dir, httpPort, tcpPort));
            if (await PingAsync(baseUrl, ct) && BackgroundProcess.IsAlive(pid))
                return (new LocalClickHouse(dir, httpPort, tcpPort, pid), string.Empty);
            await Task.Delay(PollInterval, ct);
        }

        await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(5));
        return (null, Describe($"clickhouse-server did not answer /ping within {StartTimeout.TotalSeconds:0} s", dir, httpPort, tcpPort));
    }

    private static string Describe(string problem, string dir, int httpPort, int tcpPort) =>
        string.Create(CultureInfo.InvariantCulture, $"{problem} (http port {httpPort}, tcp port {tcpPort}, directory {dir}).")
        + LogTail.Of(Path.Combine(dir, "server.err.log"), OutputLogIn(dir));

    // The kernel truncates the name to 15 characters.
    private static bool IsClickHouse(int pid) =>
        BackgroundProcess.CommandName(pid) is { } name && name.StartsWith("clickhouse", StringComparison.Ordinal);

    private static Uri BaseUrlFor(int httpPort) => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}/"));

    private static string OutputLogIn(string dir) => Path.Combine(dir, "clickhouse.out.log");

    private static string PasswordFileIn(string dir, string user) => Path.Combine(dir, user + ".password");

    // users.xml (the administrator, profiles, quotas) and users.d/puffy.xml (the two roles), which the server merges.
    private static void WriteUsers(string dir, string users, string database)
    {
        string Hash(string user) => LocalSecret.Sha256Hex(LocalSecret.Ensure(PasswordFileIn(dir, user)));
        LocalSecret.Write(users, UsersXml.Replace("{admin}", Hash("default"), StringComparison.Ordinal));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "users.d"));
        LocalSecret.Write(Path.Combine(dir, "users.d", "puffy.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <users>
            {User(WriterUser, "default")}
            {User(AnalystUser, "analyst")}
              </users>
            </yandex>

            """);

        string User(string name, string profile) => $"""
                <{name}>
                  <password_sha256_hex>{Hash(name)}</password_sha256_hex>
                  <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
                  <profile>{profile}</profile>
                  <quota>default</quota>
                  <allow_databases><database>{SecurityElement.Escape(database)}</database></allow_databases>
                </{name}>
            """;
    }

    private static string ConfigXml(string dir, int httpPort, int tcpPort, string users)
    {
        var d = SecurityElement.Escape(dir);
        return $"""
            <?xml version="1.0"?>
            <yandex>
              <logger>
                <level>information</level>
                <log>{d}/server.log</log>
                <errorlog>{d}/server.err.log</errorlog>
                <console>0</console>
              </logger>
              <http_port>{httpPort}</http_port>
              <tcp_port>{tcpPort}</tcp_port>
              <listen_host>127.0.0.1</listen_host>
              <path>{d}/data/</path>
              <tmp_path>{d}/tmp/</tmp_path>
              <user_files_path>{d}/user_files/</user_files_path>
              <format_schema_path>{d}/format_schemas/</format_schema_path>
              <users_config>{SecurityElement.Escape(users)}</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>268435456</mark_cache_size>
              <max_concurrent_queries>100</max_concurrent_queries>
            </yandex>
            """;
    }

    // 18.16 needs allow_experimental_low_cardinality_type for LowCardinality columns; it lives in the server's profile
    // because current servers reject it from clients. A readonly=1 profile refuses every setting a client sends, even
    // one equal to its own value (18.16), so the analyst's profile carries the JSON output setting the reads need.
    private const string UsersXml = """
        <?xml version="1.0"?>
        <yandex>
          <profiles>
            <default>
              <max_memory_usage>4000000000</max_memory_usage>
              <load_balancing>random</load_balancing>
              <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
            </default>
            <analyst>
              <readonly>1</readonly>
              <max_memory_usage>4000000000</max_memory_usage>
              <output_format_json_quote_64bit_integers>0</output_format_json_quote_64bit_integers>
            </analyst>
          </profiles>
          <users>
            <default>
              <password_sha256_hex>{admin}</password_sha256_hex>
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
}
