using System.Diagnostics;
using Puffy.Streaming.Cli;
using Puffy.Streaming.IntegrationTests.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.Deployment;

/// <summary>
/// The native <c>puffy run</c> (services/run, NativeAOT) as <c>./puffy</c> builds it: it publishes without a trimming
/// or AOT warning (warnings are errors) and gives exactly what the managed command line gives on the real data.
/// Publishing compiles the whole program to native code once for the class (about a minute of CPU). In the ClickHouse
/// collection for <c>run --clickhouse</c>, whose HTTP client and writer run natively too.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class NativeRunTests(NativeRunTests.Published native, ClickHouseServerFixture clickHouse) : IClassFixture<NativeRunTests.Published>
{
    private static string Root => LocalStack.RepoRoot();
    private static string RealData => Path.Combine(Root, "data", "puffy-events");

    /// <summary><c>dotnet publish</c> of services/run into a temporary folder, as the <c>./puffy</c> wrapper does.</summary>
    public sealed class Published : IAsyncLifetime
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("puffy-native-").FullName;

        public string Binary => Path.Combine(_dir, "bin", "puffy-run");

        public string Work => _dir;

        public async ValueTask InitializeAsync()
        {
            var (exit, stdout, stderr) = await RunAsync("dotnet",
                ["publish", Path.Combine(Root, "services", "run", "Puffy.Streaming.Run.csproj"), "-c", "Release", "-r", "linux-x64",
                 "-o", Path.Combine(_dir, "bin"), "-nologo", "-nodeReuse:false"], TimeSpan.FromMinutes(15));
            Assert.True(exit == 0, $"dotnet publish of services/run failed ({exit}):\n{stdout}\n{stderr}");
        }

        public ValueTask DisposeAsync()
        {
            Directory.Delete(_dir, recursive: true);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Run_RealData_SameOutputsAsTheManagedCommandLine()
    {
        var nativeOut = Path.Combine(native.Work, "out-native");
        var managedOut = Path.Combine(native.Work, "out-managed");

        var (exit, stdout, stderr) = await RunAsync(native.Binary, ["run", "--data", RealData, "--out", nativeOut, "--no-progress"], TimeSpan.FromMinutes(5));
        using var managedStdout = new StringWriter();
        using var managedStderr = new StringWriter();
        var managedExit = await CommandLine.RunAsync(["run", "--data", RealData, "--out", managedOut, "--no-progress"], managedStdout, managedStderr);

        Assert.True(exit == ExitCode.Ok, $"native run exited {exit}: {stderr}");
        Assert.Equal(managedExit, exit);
        Assert.Equal(managedStderr.ToString(), stderr);
        Assert.Equal(WithoutLastLine(managedStdout.ToString().Replace(managedOut, "OUT", StringComparison.Ordinal)),
            WithoutLastLine(stdout.Replace(nativeOut, "OUT", StringComparison.Ordinal)));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(managedOut, "summary.json"), TestContext.Current.CancellationToken),
            await File.ReadAllBytesAsync(Path.Combine(nativeOut, "summary.json"), TestContext.Current.CancellationToken));
        Assert.Equal(await TableDumpAsync(Path.Combine(managedOut, "puffy.db")), await TableDumpAsync(Path.Combine(nativeOut, "puffy.db")));
    }

    [Fact]
    public async Task Run_WithClickHouse_WritesTablesThatGiveTheRunsSummary()
    {
        await using var temporary = clickHouse.Temporary("native");
        var database = temporary.Name;
        var outDir = Path.Combine(native.Work, "out-clickhouse");
        var (exit, _, stderr) = await RunAsync(native.Binary,
            ["run", "--data", RealData, "--out", outDir, "--no-progress", "--clickhouse", clickHouse.Url, "--database", database], TimeSpan.FromMinutes(5));
        Assert.True(exit == ExitCode.Ok, $"native run --clickhouse exited {exit}: {stderr}");
        var fromClickHouse = Path.Combine(native.Work, "from-clickhouse.json");
        Assert.Equal(ExitCode.Ok, await CommandLine.RunAsync(["summary", "--from", "clickhouse", "--out", fromClickHouse, "--clickhouse", clickHouse.Url, "--database", database]));

        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(outDir, "summary.json"), TestContext.Current.CancellationToken),
            await File.ReadAllTextAsync(fromClickHouse, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Run_UnknownOption_UsageErrorAsOneLine()
    {
        var (exit, stdout, stderr) = await RunAsync(native.Binary, ["run", "--data", RealData, "--out", Path.Combine(native.Work, "x"), "--bogus"], TimeSpan.FromMinutes(1));

        Assert.Equal(ExitCode.UsageError, exit);
        Assert.Empty(stdout);
        Assert.Equal("puffy: unrecognized option '--bogus' (see 'puffy run --help')", stderr.TrimEnd());
    }

    [Fact]
    public async Task Run_FailOnWarning_ExitsWithAlertsFiredLikeTheManagedCommandLine()
    {
        string[] options = ["--no-progress", "--fail-on", "warning"];

        var (exit, _, stderr) = await RunAsync(native.Binary, ["run", "--data", RealData, "--out", Path.Combine(native.Work, "fail-native"), .. options], TimeSpan.FromMinutes(5));
        using var managedStderr = new StringWriter();
        var managedExit = await CommandLine.RunAsync(["run", "--data", RealData, "--out", Path.Combine(native.Work, "fail-managed"), .. options], TextWriter.Null, managedStderr);

        Assert.Equal(ExitCode.AlertsFired, exit);
        Assert.Equal(managedExit, exit);
        Assert.Equal(managedStderr.ToString(), stderr);
    }

    [Fact]
    public async Task Version_SameAsTheManagedCommandLine()
    {
        var (exit, stdout, _) = await RunAsync(native.Binary, ["--version"], TimeSpan.FromMinutes(1));

        Assert.Equal(ExitCode.Ok, exit);
        Assert.Equal(CommandLine.Version, stdout.TrimEnd());
    }

    private static string WithoutLastLine(string text)
    {
        var trimmed = text.TrimEnd();
        return trimmed[..trimmed.LastIndexOf('\n')];
    }

    /// <summary>Every table's rows, in a fixed order, as sqlite3 prints them.</summary>
    private static async Task<string> TableDumpAsync(string db)
    {
        string[] tables = ["events", "dead_letters", "sessions", "orders", "marketing_daily", "alerts", "metrics", "file_stats"];
        var script = string.Concat(tables.Select(t => $"SELECT * FROM {t} ORDER BY 1, 2, 3;\n"));
        var (exit, stdout, stderr) = await RunAsync("sqlite3", ["-bail", db, script], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"sqlite3 failed ({exit}): {stderr}");
        return stdout;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string program, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {timeout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
