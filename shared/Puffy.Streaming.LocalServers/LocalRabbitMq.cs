using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Puffy.Streaming.LocalServers;

/// <summary>
/// Debian's rabbitmq-server (3.10) as a background process on 127.0.0.1, with its node name, Erlang cookie, data,
/// logs and configuration in one directory, so several can run side by side. It takes 7–12 s on a 2-core machine
/// until it answers AMQP (an Erlang VM boot; the management plugin adds little); the Erlang port mapper (epmd) it
/// starts on first use is shared by all nodes and stays running.
/// </summary>
public sealed class LocalRabbitMq
{
    /// <summary>The server script of Debian's rabbitmq-server package (the /usr/sbin wrapper insists on the rabbitmq user).</summary>
    public const string ServerBinary = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    private const int Attempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    // AMQP 0-9-1 protocol header; a ready broker answers with a Connection.Start method frame (frame type 1).
    private static readonly byte[] ProtocolHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();

    private LocalRabbitMq(string directory, int port, int managementPort, int pid)
    {
        Directory = directory;
        Port = port;
        ManagementPort = managementPort;
        Pid = pid;
    }

    public string Directory { get; }

    /// <summary>The AMQP port; the user is guest/guest.</summary>
    public int Port { get; }

    /// <summary>The management plugin's HTTP port (UI and API, guest/guest), or 0 when it is off.</summary>
    public int ManagementPort { get; }

    /// <summary>The PID of the server script, which leads the process group of the Erlang VM.</summary>
    public int Pid { get; }

    public string NodeName => NodeNameFor(Port);

    public string LogFile => Path.Combine(Directory, "rabbitmq.out");

    public static LocalRabbitMq Attach(string directory, int port, int managementPort, int pid) =>
        new(Path.GetFullPath(directory), port, managementPort, pid);

    /// <summary>
    /// Starts rabbitmq-server in <paramref name="directory"/> (created if missing) and returns once it answers the
    /// AMQP handshake. With <paramref name="management"/>, the management plugin (UI and HTTP API) runs too, which
    /// adds a second or two to the start. Without <paramref name="port"/>, free ports are chosen.
    /// </summary>
    public static async Task<LocalRabbitMq> StartAsync(string directory, int? port = null, bool management = false, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!File.Exists(ServerBinary))
            throw new InvalidOperationException($"{ServerBinary} is missing: run infra/install-servers.sh (Debian package rabbitmq-server).");

        var dir = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(dir);
        var failure = string.Empty;
        for (var attempt = 0; attempt < (port is null ? Attempts : 1); attempt++)
        {
            var (server, error, exited) = await StartOnceAsync(dir, port ?? FreePorts.Next(), management ? FreePorts.Next() : 0, ct);
            if (server is not null)
                return server;
            failure = error;
            if (!exited)
                break;
        }

        throw new InvalidOperationException(failure);
    }

    /// <summary>True when a broker on the port answers the AMQP protocol header with Connection.Start.</summary>
    public static async Task<bool> PingAsync(int port, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(ProtocolHeader, timeout.Token);
            var first = new byte[1];
            return await stream.ReadAsync(first, timeout.Token) == 1 && first[0] == 1;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>SIGTERM to the server's process group (RabbitMQ shuts down cleanly on it), SIGKILL if it takes too long.</summary>
    public async Task StopAsync()
    {
        if (BackgroundProcess.IsAlive(Pid) && IsRabbitMq(Pid))
            await BackgroundProcess.StopAsync(Pid, StopGrace);
    }

    private static async Task<(LocalRabbitMq? Server, string Error, bool Exited)> StartOnceAsync(string dir, int port, int managementPort, CancellationToken ct)
    {
        var home = Path.Combine(dir, "home");
        System.IO.Directory.CreateDirectory(home);
        var cookie = Path.Combine(home, ".erlang.cookie");
        if (!File.Exists(cookie))
        {
            // Erlang refuses a cookie file others can read; a unique cookie keeps this node apart from any other.
            File.WriteAllText(cookie, Guid.NewGuid().ToString("N"));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        }

        var config = Path.Combine(dir, "rabbitmq.conf");
        var lines = new List<string> { string.Create(CultureInfo.InvariantCulture, $"listeners.tcp.1 = 127.0.0.1:{port}") };
        if (managementPort > 0)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"management.tcp.port = {managementPort}"));
            lines.Add("management.tcp.ip = 127.0.0.1");
        }

        File.WriteAllLines(config, lines);
        var plugins = Path.Combine(dir, "enabled_plugins");
        File.WriteAllText(plugins, managementPort > 0 ? "[rabbitmq_management].\n" : "[].\n");

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOME"] = home,
            ["RABBITMQ_NODENAME"] = NodeNameFor(port),
            ["RABBITMQ_NODE_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_DIST_PORT"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(dir, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(dir, "log"),
            ["RABBITMQ_CONFIG_FILE"] = config,
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = plugins,
            ["RABBITMQ_PID_FILE"] = Path.Combine(dir, "rabbitmq.pid"),
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(dir, "rabbitmq-env.conf"), // none: ignore /etc/rabbitmq's
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        };

        var elapsed = Stopwatch.StartNew();
        var log = Path.Combine(dir, "rabbitmq.out");
        var pid = BackgroundProcess.Start(ServerBinary, [], log, dir, environment);
        while (elapsed.Elapsed < StartTimeout)
        {
            if (!BackgroundProcess.IsAlive(pid))
                return (null, Describe("rabbitmq-server exited while starting", dir, port), true);
            if (await PingAsync(port, ct))
                return (new LocalRabbitMq(dir, port, managementPort, pid), string.Empty, false);
            await Task.Delay(PollInterval, ct);
        }

        await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(5));
        return (null, Describe($"rabbitmq-server did not answer on AMQP within {StartTimeout.TotalSeconds:0} s", dir, port), false);
    }

    private static string NodeNameFor(int port) => string.Create(CultureInfo.InvariantCulture, $"puffy-{port}@localhost");

    private static string Describe(string problem, string dir, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"{problem} (port {port}, directory {dir}).{LogTail.Of(Path.Combine(dir, "rabbitmq.out"))}");

    private static bool IsRabbitMq(int pid) => BackgroundProcess.CommandName(pid) is "rabbitmq-server" or "beam.smp";
}
