using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Puffy.Streaming.LocalServers;

/// <summary>
/// Debian's redis-server daemonized on 127.0.0.1 with its pid file, log and data (AOF) in one directory. The
/// server outlives the process that started it; <see cref="Attach"/> gets a handle back from stored values.
/// Nobody gets in without a password (ACL file <c>users.acl</c>, passwords in 0600 files of the directory): the
/// services log in as <see cref="ServiceUser"/>, which may run every data command but none of Redis's dangerous ones
/// (CONFIG, FLUSHALL, SHUTDOWN, ACL, DEBUG, KEYS, MONITOR, …; INFO allowed, the client reads the version with it);
/// <c>default</c> is the administrator, for SHUTDOWN and operators.
/// </summary>
public sealed partial class LocalRedis
{
    /// <summary>Where Debian's redis-server package installs the server.</summary>
    public const string ServerBinary = "/usr/bin/redis-server";

    private const int Attempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);
    private static readonly byte[] PingCommand = "*1\r\n$4\r\nPING\r\n"u8.ToArray();
    private static readonly byte[] ShutdownCommand = "*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n"u8.ToArray();

    /// <summary>The ACL user the services log in as.</summary>
    public const string ServiceUser = "puffy";

    private LocalRedis(string directory, int port, int pid)
    {
        Directory = directory;
        Port = port;
        Pid = pid;
    }

    /// <summary>The server's directory: pid file, log, append-only files.</summary>
    public string Directory { get; }

    public int Port { get; }

    /// <summary>The daemon's PID, as it wrote it to its pid file.</summary>
    public int Pid { get; }

    /// <summary>A StackExchange.Redis configuration string for the server: its endpoint, without credentials.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The file holding <see cref="ServiceUser"/>'s password (mode 0600).</summary>
    public string ServicePasswordFile => ServicePasswordFileIn(Directory);

    /// <summary>The file holding the <c>default</c> (administrator) user's password (mode 0600).</summary>
    public string AdminPasswordFile => AdminPasswordFileIn(Directory);

    /// <summary>A StackExchange.Redis configuration string that logs in as <see cref="ServiceUser"/> (holds the password: never log it).</summary>
    public string ServiceConfiguration() =>
        $"{Configuration},user={ServiceUser},password={LocalSecret.Read(ServicePasswordFile)}";

    public string LogFile => LogFileIn(Directory);

    /// <summary>A handle on a server started earlier (possibly by another process) from its stored values.</summary>
    public static LocalRedis Attach(string directory, int port, int pid) => new(Path.GetFullPath(directory), port, pid);

    /// <summary>
    /// Starts redis-server in <paramref name="directory"/> (created if missing) and returns once it answers PING.
    /// With <paramref name="appendOnly"/>, every write is appended to the AOF (fsync every second), so data outlives
    /// a killed server. Without <paramref name="port"/>, a free port is chosen (and another one tried if it was taken).
    /// The service user's password is <paramref name="servicePassword"/> when given, else the one of an earlier start
    /// in the directory, else a new random one; likewise the administrator's.
    /// </summary>
    public static async Task<LocalRedis> StartAsync(
        string directory, int? port = null, bool appendOnly = true, string? servicePassword = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!File.Exists(ServerBinary))
            throw new InvalidOperationException($"{ServerBinary} is missing: run infra/install-servers.sh (Debian package redis-server).");

        var dir = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(dir);
        var pidFile = PidFileIn(dir);
        if (ReadPid(pidFile) is { } running && BackgroundProcess.IsAlive(running) && IsRedis(running))
            throw new InvalidOperationException($"redis-server is already running in {dir} (pid {running}).");
        File.Delete(pidFile); // left behind by a killed server; readiness waits for the new one
        WriteAcl(dir, servicePassword);

        var failure = string.Empty;
        for (var attempt = 0; attempt < (port is null ? Attempts : 1); attempt++)
        {
            var (server, error, exited) = await StartOnceAsync(dir, port ?? FreePorts.Next(), appendOnly, ct);
            if (server is not null)
                return server;
            failure = error;
            if (!exited)
                break; // a server that hangs will hang on another port too
        }

        throw new InvalidOperationException(failure);
    }

    /// <summary>
    /// Sends PING over a fresh connection, without logging in: true when the server answers, with <c>+PONG</c> or (as a
    /// server that wants a password does) <c>-NOAUTH</c>.
    /// </summary>
    public static async Task<bool> PingAsync(int port, CancellationToken cancellationToken = default)
    {
        var reply = await SendAsync(port, PingCommand, cancellationToken);
        return reply.StartsWith("+PONG\r\n", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH ", StringComparison.Ordinal);
    }

    /// <summary>SHUTDOWN NOSAVE (the AOF already holds the data), then SIGTERM and SIGKILL if it does not exit.</summary>
    public async Task StopAsync()
    {
        if (!BackgroundProcess.IsAlive(Pid) || !IsRedis(Pid))
            return; // gone, or the PID now belongs to another program
        await SendAsync(Port, [.. Auth("default", LocalSecret.Read(AdminPasswordFile) ?? string.Empty), .. ShutdownCommand], CancellationToken.None);
        if (!await BackgroundProcess.WaitForExitAsync(Pid, ShutdownGrace))
            await BackgroundProcess.StopAsync(Pid, ShutdownGrace);
    }

    private static async Task<(LocalRedis? Server, string Error, bool Exited)> StartOnceAsync(string dir, int port, bool appendOnly, CancellationToken ct)
    {
        var log = LogFileIn(dir);
        var logStart = File.Exists(log) ? new FileInfo(log).Length : 0;
        var start = new ProcessStartInfo(ServerBinary)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--daemonize", "yes", "--pidfile", PidFileIn(dir), "--logfile", log, "--dir", dir,
            "--save", "", "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", "everysec", "--aclfile", AclFileIn(dir),
        ];
        foreach (var arg in args)
            start.ArgumentList.Add(arg);

        var elapsed = Stopwatch.StartNew();
        using (var launcher = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ServerBinary}"))
        {
            launcher.StandardInput.Close();
            // With --daemonize the process forks and exits at once; a non-zero exit is a configuration error.
            var stdout = launcher.StandardOutput.ReadToEndAsync(ct);
            var stderr = launcher.StandardError.ReadToEndAsync(ct);
            await launcher.WaitForExitAsync(ct);
            var output = (await stdout + await stderr).Trim();
            if (launcher.ExitCode != 0)
                return (null, Describe($"redis-server exited with {launcher.ExitCode}: {output}", dir, port), false);
        }

        int? daemon = null;
        while (elapsed.Elapsed < StartTimeout)
        {
            daemon ??= DaemonPid(log, logStart);
            if (ReadPid(PidFileIn(dir)) is { } pid && BackgroundProcess.IsAlive(pid) && await PingAsync(port, ct))
                return (new LocalRedis(dir, port, pid), string.Empty, false);
            if (daemon is { } d && !BackgroundProcess.IsAlive(d))
                return (null, Describe("redis-server exited while starting", dir, port), true);
            await Task.Delay(PollInterval, ct);
        }

        if (daemon is { } hung && IsRedis(hung))
            await BackgroundProcess.StopAsync(hung, ShutdownGrace);
        return (null, Describe($"redis-server did not answer PING within {StartTimeout.TotalSeconds:0} s", dir, port), false);
    }

    private static string Describe(string problem, string dir, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"{problem} (port {port}, directory {dir}).{LogTail.Of(LogFileIn(dir))}");

    // Redis logs "pid=N, just started" before it listens: the daemon's PID before any pid file exists.
    private static int? DaemonPid(string log, long from)
    {
        try
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var match = StartedLine().Match(reader.ReadToEnd());
            return match.Success ? int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends a command over a fresh connection and reads until <paramref name="complete"/> says the reply is whole (by
    /// default: its first line); empty when the server cannot be reached or stays silent for a second.
    /// </summary>
    private static async Task<string> SendAsync(int port, byte[] command, CancellationToken cancellationToken, Func<string, bool>? complete = null)
    {
        complete ??= static reply => reply.Contains("\r\n", StringComparison.Ordinal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(command, timeout.Token);
            var buffer = new byte[4096];
            var reply = new StringBuilder();
            while (!complete(reply.ToString()))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                    break;
                reply.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            return reply.ToString();
        }
        catch (SocketException)
        {
            return string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return string.Empty; // accepted but silent within the timeout: not ready
        }
    }

    private static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
                ? pid
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    // The ACL file holds SHA-256 hashes only; the passwords stay in their 0600 files.
    private static void WriteAcl(string dir, string? servicePassword)
    {
        var admin = LocalSecret.Ensure(AdminPasswordFileIn(dir));
        var service = LocalSecret.Ensure(ServicePasswordFileIn(dir), servicePassword);
        LocalSecret.Write(AclFileIn(dir), $"""
            user default on #{LocalSecret.Sha256Hex(admin)} ~* &* +@all
            user {ServiceUser} on #{LocalSecret.Sha256Hex(service)} ~* &* +@all -@dangerous +info

            """);
    }

    private static byte[] Auth(string user, string password)
    {
        var u = Encoding.UTF8.GetBytes(user);
        var p = Encoding.UTF8.GetBytes(password);
        return [.. "*3\r\n$4\r\nAUTH\r\n"u8, .. Bulk(u), .. Bulk(p)];

        static byte[] Bulk(byte[] value) =>
            [.. Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"${value.Length}\r\n")), .. value, .. "\r\n"u8];
    }

    private static bool IsRedis(int pid) => BackgroundProcess.CommandName(pid) is "redis-server";

    private static string PidFileIn(string dir) => Path.Combine(dir, "redis.pid");

    private static string LogFileIn(string dir) => Path.Combine(dir, "redis.log");

    private static string AclFileIn(string dir) => Path.Combine(dir, "users.acl");

    private static string ServicePasswordFileIn(string dir) => Path.Combine(dir, "service.password");

    private static string AdminPasswordFileIn(string dir) => Path.Combine(dir, "admin.password");

    [GeneratedRegex(@"pid=(\d+), just started")]
    private static partial Regex StartedLine();
}
