using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Puffy.Streaming.LocalServers;

/// <summary>
/// Programs started detached from the calling process (own session, stdin from /dev/null, output appended to a
/// log file), so they keep running after it exits; stopped and checked later by PID alone.
/// </summary>
public static partial class BackgroundProcess
{
    private const string Setsid = "/usr/bin/setsid";
    private const string Shell = "/bin/sh";

    // The shell only redirects and execs: the program and its arguments arrive as positional parameters and are
    // never parsed as shell text. exec keeps the shell's PID, so $$ is the program's PID.
    private const string Launcher = """pidfile=$1; log=$2; shift 2; echo $$ > "$pidfile"; exec "$@" >> "$log" 2>&1 < /dev/null""";

    private const int SigKill = 9;
    private const int SigStop = 19;
    private const int SigCont = 18;
    private const int SigTerm = 15;
    private const int NoSuchProcess = 3; // ESRCH

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LaunchTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts <paramref name="fileName"/> in a new session (setsid, forked so it is not this process's child) with
    /// stdin from /dev/null and stdout and stderr appended to <paramref name="logFile"/>.
    /// </summary>
    /// <returns>The PID of the program itself.</returns>
    public static int Start(
        string fileName,
        IEnumerable<string> arguments,
        string logFile,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentException.ThrowIfNullOrEmpty(logFile);
        if (fileName.Contains('/', StringComparison.Ordinal) && !File.Exists(fileName))
            throw new FileNotFoundException($"{fileName} does not exist", fileName);

        var log = Path.GetFullPath(logFile);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var pidFile = Path.Combine(Path.GetTempPath(), "puffy-launch-" + Guid.NewGuid().ToString("N") + ".pid");
        var start = new ProcessStartInfo(Setsid)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (var arg in new[] { "--fork", Shell, "-c", Launcher, "puffy-launch", pidFile, log, fileName })
            start.ArgumentList.Add(arg);
        foreach (var arg in arguments)
            start.ArgumentList.Add(arg);
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
                start.Environment[name] = value;
        }

        try
        {
            using var launcher = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Setsid}");
            launcher.StandardInput.Close();
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                // The PID is written just before the exec: return only once the exec has happened (or the process is
                // already gone), so a caller never sees the launcher shell under the program's PID.
                if (TryReadPid(pidFile, out var pid) && HasExeced(pid))
                {
                    launcher.WaitForExit(LaunchTimeout); // setsid exits right after forking; reap it
                    return pid;
                }

                if (deadline.Elapsed > LaunchTimeout || (launcher.HasExited && launcher.ExitCode != 0))
                {
                    // A shell stuck before exec still holds the pipe: read what is there without waiting for its end.
                    var errors = launcher.StandardError.ReadToEndAsync();
                    var stderr = errors.Wait(TimeSpan.FromSeconds(1)) ? errors.Result.Trim() : "(no output)";
                    throw new InvalidOperationException($"could not start {fileName} in the background: {stderr}");
                }

                Thread.Sleep(PollInterval);
            }
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    /// <summary>
    /// True while the process exists and has not fully exited. A zombie (exited, waiting to be reaped) counts as gone
    /// only once all its threads have: when the main thread of a multi-threaded server ends first, the others still hold
    /// its open files and listening sockets for a moment, and a new server on the same port would fail to bind.
    /// </summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
            return false;
        string stat;
        try
        {
            stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true; // exists, owned by someone else
        }

        return StateOf(stat) switch
        {
            null => false,
            'Z' or 'X' or 'x' => AnyThreadRunning(pid),
            _ => true,
        };
    }

    // "pid (comm) state ...": comm may contain spaces and parentheses, the state follows the last ')'.
    private static char? StateOf(string stat)
    {
        var close = stat.LastIndexOf(')');
        return close < 0 || close + 2 >= stat.Length ? null : stat[close + 2];
    }

    private static bool AnyThreadRunning(int pid)
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task")))
            {
                string stat;
                try
                {
                    stat = File.ReadAllText(Path.Combine(task, "stat"));
                }
                catch (IOException)
                {
                    continue; // that thread is gone
                }

                if (StateOf(stat) is { } state && state is not ('Z' or 'X' or 'x'))
                    return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return false;
    }

    /// <summary>
    /// SIGTERM, then SIGKILL when the process is still alive after <paramref name="grace"/>. A process that leads
    /// its own process group (as those from <see cref="Start"/> do) is signalled with its group, so helpers it
    /// started stop too. Nothing happens when the process is already gone.
    /// </summary>
    /// <returns>True when it had to be killed.</returns>
    public static async Task<bool> StopAsync(int pid, TimeSpan grace)
    {
        if (!IsAlive(pid))
            return false;
        Signal(pid, SigTerm, group: LeadsGroup(pid));
        if (await WaitForExitAsync(pid, grace))
            return false;
        Signal(pid, SigKill, group: LeadsGroup(pid));
        await WaitForExitAsync(pid, KillTimeout);
        return true;
    }

    /// <summary>SIGKILL to the process alone, at once, as a crash would end it. Does not wait.</summary>
    public static void Kill(int pid) => Signal(pid, SigKill, group: false);

    /// <summary>SIGSTOP: the process keeps its sockets open but answers nothing, as a hung server would.</summary>
    public static void Freeze(int pid) => Signal(pid, SigStop, group: false);

    /// <summary>SIGCONT: a frozen process carries on.</summary>
    public static void Thaw(int pid) => Signal(pid, SigCont, group: false);

    /// <summary>The kernel's short name of the process (/proc/PID/comm, at most 15 characters), or null when gone.</summary>
    internal static string? CommandName(int pid)
    {
        if (pid <= 0)
            return null;
        try
        {
            return File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/comm")).TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// True once <paramref name="pid"/> is no longer the launcher shell: its command line is the program's, or the
    /// process is gone or a zombie (the exec never will happen). Before the exec the command line is
    /// <c>/bin/sh -c LAUNCHER ...</c>; in the middle of the exec the kernel has already renamed the process but shows
    /// an empty command line, so an empty one counts as "not yet" while the process is alive.
    /// </summary>
    private static bool HasExeced(int pid)
    {
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/cmdline"));
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }

        if (cmdline.Length == 0)
            return !IsAlive(pid);
        var args = System.Text.Encoding.UTF8.GetString(cmdline).Split('\0');
        return !(args.Length > 2 && args[0] == Shell && args[1] == "-c" && args[2] == Launcher);
    }

    internal static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var elapsed = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (elapsed.Elapsed >= timeout)
                return false;
            await Task.Delay(PollInterval);
        }

        return true;
    }

    private static bool TryReadPid(string file, out int pid)
    {
        pid = 0;
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (IOException)
        {
            return false;
        }

        // echo writes "PID\n" in one call: without the newline the file is still empty.
        return text.EndsWith('\n')
            && int.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out pid)
            && pid > 0;
    }

    private static bool LeadsGroup(int pid)
    {
        try
        {
            var stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 2 && fields[2] == pid.ToString(CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Signal(int pid, int signal, bool group)
    {
        // kill(0) and kill(-1) would signal this process's group or every process: never pass them through.
        ArgumentOutOfRangeException.ThrowIfLessThan(pid, 2);
        if (NativeMethods.Kill(group ? -pid : pid, signal) == 0)
            return;
        var error = Marshal.GetLastPInvokeError();
        if (error != NoSuchProcess)
        {
            throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture, $"kill({pid}, {signal}) failed: {Marshal.GetPInvokeErrorMessage(error)}"));
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);
    }
}
