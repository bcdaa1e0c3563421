using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>The command line itself: usage errors as one line, help per command, --version, output paths, progress.</summary>
public sealed class CommandLineUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Result(int Code, string Out, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static async Task<Result> Puffy(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    // A one-day export in the format of data/puffy-events: a session with a page view and an order.
    private string TinyData()
    {
        const string ua = "\"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) Mobile/15E148\"";
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "events_20250301.csv"), string.Join('\n',
            "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent",
            $"c1,https://puffy.com/?utm_source=google&utm_medium=cpc,,2025-03-01T10:00:00.000Z,page_viewed,,{ua}",
            $"c1,https://puffy.com/cart,https://puffy.com/,2025-03-01T10:05:00.000Z,checkout_completed,\"{{\"\"transaction_id\"\":\"\"T1\"\",\"\"revenue\"\":120.5}}\",{ua}"));
        return data;
    }

    private string Out => Path.Combine(_dir, "out");

    [Fact]
    public async Task RunAsync_UnknownOption_ExitsTwoWithOneLineNamingIt()
    {
        var result = await Puffy("run", "--data", TinyData(), "--out", Out, "--bogus");

        Assert.Equal(CommandLine.UsageError, result.Code);
        var line = Assert.Single(result.ErrorLines);
        Assert.Equal("puffy: unrecognized option '--bogus' (see 'puffy run --help')", line);
        Assert.Empty(result.Out);
        Assert.False(Directory.Exists(Out));
    }

    [Theory]
    [InlineData("--lateness")]
    [InlineData("--lateness", "--no-progress")]
    [InlineData("--clickhouse")]
    public async Task RunAsync_OptionMissingItsValue_ExitsTwoWithOneLineNamingIt(params string[] tail)
    {
        var result = await Puffy(["run", "--data", TinyData(), "--out", Out, .. tail]);

        Assert.Equal(CommandLine.UsageError, result.Code);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains($"'{tail[0]}' needs a value", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_OutFollowedByAnotherOption_IsMissingItsValue()
    {
        var result = await Puffy("run", "--data", TinyData(), "--out", "--no-progress");

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Contains("'--out' needs a value", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists("--no-progress"));
    }

    [Theory]
    [InlineData("run --data d --out o --lateness abc", "--lateness 'abc' is not a duration")]
    [InlineData("run --data d --out o --fail-on error", "--fail-on 'error' must be warning or critical")]
    [InlineData("stack up --partitions 0", "--partitions must be a whole number of at least 1, not '0'")]
    [InlineData("broker --partitions x", "--partitions must be a whole number of at least 1, not 'x'")]
    [InlineData("bench --scale -1", "--scale must be a whole number of at least 1, not '-1'")]
    [InlineData("bench --repeat 0", "--repeat must be a whole number of at least 1")]
    [InlineData("bench --sink csv", "--sink must be sqlite or none")]
    [InlineData("replay --data d --speed fast", "--speed 'fast' is not max, realtime or a factor")]
    [InlineData("replay --data d --timeout soon", "--timeout 'soon' is not a duration")]
    [InlineData("summary --from redis --out s.json", "--from must be clickhouse")]
    [InlineData("run --out o", "option '--data' is required")]
    [InlineData("stack", "missing command: up, down, status or restart")]
    [InlineData("stack sideways", "unknown command 'sideways'")]
    [InlineData("stack down --partitions 2", "unrecognized option '--partitions'")]
    [InlineData("", "missing command")]
    [InlineData("fly", "unknown command 'fly'")]
    public async Task RunAsync_BadValueOrShape_ExitsTwoWithOneLine(string commandLine, string expected)
    {
        var result = await Puffy(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(CommandLine.UsageError, result.Code);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("puffy: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(result.Out);
    }

    [Theory]
    [InlineData("run", "--data --out --lateness --no-progress --clickhouse --database --fail-on")]
    [InlineData("summary", "--from --out --clickhouse --database")]
    [InlineData("stack up", "--state --partitions")]
    [InlineData("stack down", "--state")]
    [InlineData("stack status", "--state")]
    [InlineData("replay", "--data --speed --wait --timeout --state --no-progress")]
    [InlineData("broker", "--partitions --brokers --bootstrap-file")]
    [InlineData("bench", "--scale --repeat --data --work --sink --stack --partitions --no-progress")]
    public async Task RunAsync_CommandHelp_ExitsZeroAndListsThatCommandsOptions(string command, string options)
    {
        var result = await Puffy([.. command.Split(' '), "--help"]);

        Assert.Equal(CommandLine.Ok, result.Code);
        Assert.Contains($"puffy {command} [options]", result.Out, StringComparison.Ordinal);
        foreach (var option in options.Split(' '))
            Assert.Contains(option, result.Out, StringComparison.Ordinal);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task RunAsync_Help_ListsEveryCommand()
    {
        var result = await Puffy("--help");

        Assert.Equal(CommandLine.Ok, result.Code);
        foreach (var command in new[] { "run", "summary", "stack", "replay", "broker", "bench" })
            Assert.Contains($"  {command} ", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Help_DocumentsEveryExitCode()
    {
        var root = await Puffy("--help");
        var run = await Puffy("run", "--help");

        Assert.Contains("0 ok, 1 failed, 2 usage error", root.Out, StringComparison.Ordinal);
        Assert.Contains("3 alerts fired (run --fail-on)", root.Out, StringComparison.Ordinal);
        Assert.Contains("--fail-on <warning|critical>", run.Out, StringComparison.Ordinal);
        Assert.Contains("Exit with code 3", run.Out, StringComparison.Ordinal);
    }

    // TinyData plus a header-only file (empty_file, critical) and a file with a zero-revenue order (a warning).
    private string DataWithAlerts(bool critical, bool warning)
    {
        var data = TinyData();
        const string header = "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent";
        if (critical)
            File.WriteAllText(Path.Combine(data, "events_20250302.csv"), header + "\n");
        if (warning)
        {
            File.WriteAllText(Path.Combine(data, "events_20250303.csv"), string.Join('\n', header,
                "c9,https://puffy.com/?utm_source=google&utm_medium=cpc,https://puffy.com/,2025-03-03T10:00:00.000Z,checkout_completed,\"{\"\"transaction_id\"\":\"\"T9\"\",\"\"revenue\"\":0}\",Mozilla/5.0"));
        }

        return data;
    }

    [Theory]
    [InlineData("critical", true, true, CommandLine.AlertsFired)]
    [InlineData("critical", false, true, CommandLine.Ok)]
    [InlineData("warning", false, true, CommandLine.AlertsFired)]
    [InlineData("warning", true, false, CommandLine.AlertsFired)]
    [InlineData("warning", false, false, CommandLine.Ok)]
    public async Task Run_FailOn_ExitsThreeWhenAnAlertOfAtLeastThatSeverityFired(string failOn, bool critical, bool warning, int expected)
    {
        var result = await Puffy("run", "--data", DataWithAlerts(critical, warning), "--out", Out, "--no-progress", "--fail-on", failOn);

        Assert.Equal(expected, result.Code);
        // Every output is written first, whatever the exit code.
        Assert.True(File.Exists(Path.Combine(Out, "summary.json")));
        Assert.True(File.Exists(Path.Combine(Out, "puffy.db")));
        Assert.Contains("wrote ", result.Out, StringComparison.Ordinal);
        if (expected == CommandLine.Ok)
        {
            Assert.Empty(result.Error);
            return;
        }

        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("puffy: 1 alert(s) at or above " + failOn + " fired (", line, StringComparison.Ordinal);
        Assert.EndsWith($"exit code 3 (--fail-on {failOn})", line, StringComparison.Ordinal);
        Assert.Contains(critical ? "empty_file" : "zero_revenue_orders", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AlertsWithoutFailOn_ExitsZero()
    {
        var result = await Puffy("run", "--data", DataWithAlerts(critical: true, warning: true), "--out", Out, "--no-progress");

        Assert.Equal(CommandLine.Ok, result.Code);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task Run_RealDataFailOnCritical_ExitsThreeNamingTheCriticalAlerts()
    {
        var result = await Puffy("run", "--data", RepoPaths.RealData, "--out", Out, "--no-progress", "--fail-on", "critical");

        Assert.Equal(CommandLine.AlertsFired, result.Code);
        Assert.Equal("puffy: 7 alert(s) at or above critical fired (duplicate_transaction_id x4, missing_client_id_rate x2, schema_change); "
                     + "exit code 3 (--fail-on critical)", Assert.Single(result.ErrorLines));
        Assert.True(File.Exists(Path.Combine(Out, "summary.json")));
    }

    [Fact]
    public async Task RunAsync_Version_ExitsZeroAndPrintsTheInformationalVersion()
    {
        var result = await Puffy("--version");

        Assert.Equal(CommandLine.Ok, result.Code);
        Assert.Equal(CommandLine.Version, result.Out.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", CommandLine.Version);
    }

    [Fact]
    public async Task Run_OutIsAnExistingFile_ExitsTwoWithOneLine()
    {
        var file = Path.Combine(_dir, "taken");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);

        var result = await Puffy("run", "--data", TinyData(), "--out", file, "--no-progress");

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Equal($"puffy: --out '{file}' is a file, not a folder", Assert.Single(result.ErrorLines));
        Assert.Equal("x", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Run_OutUnderARegularFile_ExitsTwoWithOneLine()
    {
        var file = Path.Combine(_dir, "taken");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);

        var result = await Puffy("run", "--data", TinyData(), "--out", Path.Combine(file, "out"), "--no-progress");

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.StartsWith($"puffy: cannot write to --out folder '{Path.Combine(file, "out")}'", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OutUnderProc_ExitsTwoWithOneLine()
    {
        Assert.SkipUnless(Directory.Exists("/proc/self"), "needs Linux /proc");

        var result = await Puffy("run", "--data", TinyData(), "--out", "/proc/puffy-out", "--no-progress");

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.StartsWith("puffy: cannot write to --out folder '/proc/puffy-out'", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_OutIsAFolder_ExitsTwoWithOneLine()
    {
        var result = await Puffy("summary", "--from", "clickhouse", "--out", _dir, "--clickhouse", "http://127.0.0.1:1/");

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Equal($"puffy: --out '{_dir}' is a folder, not a file", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("100", 2)]
    [InlineData("262144", 0)]
    public async Task Run_MaxRowBytes_RowsLongerAreDeadLetteredAsOversized(string limit, int oversized)
    {
        var result = await Puffy("run", "--data", TinyData(), "--out", Out, "--no-progress", "--max-row-bytes", limit);

        Assert.Equal(CommandLine.Ok, result.Code);
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "summary.json")));
        var reasons = summary.RootElement.GetProperty("dead_letter_reasons");
        Assert.Equal(oversized, reasons.TryGetProperty(DeadLetterReasons.OversizedRow, out var count) ? count.GetInt64() : 0);
    }

    [Fact]
    public async Task Run_NoProgress_WritesNoProgressAnywhere()
    {
        var result = await Puffy("run", "--data", TinyData(), "--out", Out, "--no-progress");

        Assert.Equal(CommandLine.Ok, result.Code);
        Assert.Empty(result.Error);
        Assert.DoesNotContain("progress", result.Out, StringComparison.Ordinal);
        Assert.Contains("wrote ", result.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Out, "summary.json")));
    }

    [Fact]
    public async Task Run_WithProgress_WritesProgressToStderrOnly()
    {
        var result = await Puffy("run", "--data", TinyData(), "--out", Out);

        Assert.Equal(CommandLine.Ok, result.Code);
        Assert.Contains("progress: files 1/1", result.Error, StringComparison.Ordinal);
        Assert.All(result.ErrorLines, line => Assert.StartsWith("progress: ", line, StringComparison.Ordinal));
        Assert.DoesNotContain("progress", result.Out, StringComparison.Ordinal);
        Assert.Contains("wrote ", result.Out, StringComparison.Ordinal);
    }
}
