using Puffy.Streaming.LocalServers;
using static Puffy.Streaming.IntegrationTests.LocalServers.LocalServersTestKit;

namespace Puffy.Streaming.IntegrationTests.LocalServers;

/// <summary>Programs started detached: arguments passed verbatim, output in the log, stopped by PID.</summary>
public sealed class BackgroundProcessTests
{
    [Fact]
    public async Task Start_ArgumentWithSpace_LogsItAndStopAsyncEndsTheProcess()
    {
        using var dir = new TempDirectory("puffy-bg-");
        var log = Path.Combine(dir.Path, "out.log");

        var pid = BackgroundProcess.Start("/bin/sh", ["-c", "echo \"$1\"; sleep 60", "sh", "a b"], log);
        try
        {
            await WaitUntilAsync(() => ReadShared(log).Contains('\n', StringComparison.Ordinal));
            Assert.Equal("a b\n", ReadShared(log));
            Assert.True(BackgroundProcess.IsAlive(pid));

            await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(10));

            Assert.False(BackgroundProcess.IsAlive(pid));
        }
        finally
        {
            if (BackgroundProcess.IsAlive(pid))
                BackgroundProcess.Kill(pid);
        }
    }

    [Fact]
    public async Task IsAlive_MainThreadEndedWhileAnotherRuns_StillAliveUntilTheLastThreadEnds()
    {
        using var dir = new TempDirectory("puffy-bg-");
        var log = Path.Combine(dir.Path, "out.log");
        // The main thread ends on its own (pthread_exit) while a second thread sleeps: the process's files stay open.
        const string Script = """
            import ctypes, threading, time
            threading.Thread(target=time.sleep, args=(120,)).start()
            print("ready", flush=True)
            ctypes.CDLL(None).pthread_exit(None)
            """;

        var pid = BackgroundProcess.Start("/usr/bin/python3", ["-c", Script], log);
        try
        {
            await WaitUntilAsync(() => MainThreadState(pid) == 'Z');
            Assert.Equal("ready\n", ReadShared(log));
            Assert.Equal('Z', MainThreadState(pid));

            Assert.True(BackgroundProcess.IsAlive(pid));

            BackgroundProcess.Kill(pid);
            await WaitUntilAsync(() => !BackgroundProcess.IsAlive(pid));
            Assert.False(BackgroundProcess.IsAlive(pid));
        }
        finally
        {
            if (BackgroundProcess.IsAlive(pid))
                BackgroundProcess.Kill(pid);
        }
    }

    private static char? MainThreadState(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Start_ShellTextInArguments_ReachesTheProgramLiterally()
    {
        using var dir = new TempDirectory("puffy-bg-");
        var log = Path.Combine(dir.Path, "out.log");
        var marker = Path.Combine(dir.Path, "injected");
        string[] tricky = ["$(touch " + marker + ")", "x'y\"z `id` ; |", ""];
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["PUFFY_TEST_VALUE"] = "v w" };

        var pid = BackgroundProcess.Start(
            "/bin/sh", ["-c", "printf '[%s]' \"$@\" \"$PWD\" \"$PUFFY_TEST_VALUE\"; echo", "sh", .. tricky], log, dir.Path, environment);
        await WaitUntilAsync(() => !BackgroundProcess.IsAlive(pid));

        Assert.False(BackgroundProcess.IsAlive(pid));
        Assert.Equal($"[{tricky[0]}][{tricky[1]}][][{dir.Path}][v w]\n", ReadShared(log));
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Start_Program_RunsInItsOwnSessionAndIsNotAChildOfTheCaller()
    {
        using var dir = new TempDirectory("puffy-bg-");
        var log = Path.Combine(dir.Path, "out.log");

        var pid = BackgroundProcess.Start("/bin/sleep", ["60"], log);
        try
        {
            // Start returns after the launcher's exec, so the PID already names the program: no polling needed.
            // /proc/PID/stat after the command name: state ppid pgrp session ...
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.Equal("sleep", File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n'));
            Assert.NotEqual(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[1]);
            Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[3]);
        }
        finally
        {
            BackgroundProcess.Kill(pid);
        }

        await WaitUntilAsync(() => !BackgroundProcess.IsAlive(pid));
        Assert.False(BackgroundProcess.IsAlive(pid));
    }

    [Fact]
    public void Start_Program_ReturnsOnlyAfterTheLauncherExecedIt()
    {
        using var dir = new TempDirectory("puffy-bg-");

        // Each start is a race the launcher used to lose now and then: the PID was read before the shell's exec, and
        // later in the middle of the exec (the kernel renames the process before it shows the new command line).
        for (var i = 0; i < 100; i++)
        {
            var pid = BackgroundProcess.Start("/bin/sleep", ["60"], Path.Combine(dir.Path, "out.log"));
            try
            {
                Assert.Equal("sleep", File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n'));
                Assert.Equal(["/bin/sleep", "60", ""], File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'));
            }
            finally
            {
                BackgroundProcess.Kill(pid);
            }
        }
    }

    [Fact]
    public async Task StopAsync_ProcessAlreadyGone_ReturnsFalseWithoutThrowing()
    {
        using var dir = new TempDirectory("puffy-bg-");
        var pid = BackgroundProcess.Start("/bin/true", [], Path.Combine(dir.Path, "out.log"));
        await WaitUntilAsync(() => !BackgroundProcess.IsAlive(pid));

        Assert.False(await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(1)));
        BackgroundProcess.Kill(pid);
    }
}
