using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.UnitTests.Logging;

// Console.Out is one per process: tests that swap it run alone, after the parallel ones.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "Console capture";
}

[Collection(ConsoleCapture.Name)]
public sealed partial class ConsoleLoggingUnitTests
{
    private const string Worker = "Puffy.Streaming.Monitor.MonitorWorker";

    [Fact]
    public void AddPuffyLogging_ConsoleFormatClef_WritesClefLines()
    {
        var sessionId = Guid.NewGuid().ToString();

        var lines = Capture([("Logging:Console:Format", "clef")], sessionId, logger =>
        {
            OpsLog.ClosedSession(logger, sessionId, "c-1", "2025-02-25");
            OpsLog.DeadLettered(logger, "raw-events", 2, 42, sessionId);
        });

        Assert.Equal(2, lines.Count);
        var events = lines.Select(RecordedRequest.Parse).ToList();
        Assert.All(events, e =>
        {
            Assert.True(e.TryGetProperty("@t", out _));
            Assert.Equal("monitor", PuffyLoggingUnitTests.Text(e, "Service"));
            Assert.Equal(Worker, PuffyLoggingUnitTests.Text(e, "SourceContext"));
        });
        Assert.Equal(sessionId, PuffyLoggingUnitTests.Text(events[0], "SessionId"));
        Assert.Equal("c-1", PuffyLoggingUnitTests.Text(events[0], "ClientId"));
        Assert.Contains(sessionId, PuffyLoggingUnitTests.Text(events[0], "@m"), StringComparison.Ordinal);
        Assert.False(events[0].TryGetProperty("@l", out _));
        Assert.Equal("Warning", PuffyLoggingUnitTests.Text(events[1], "@l"));
        Assert.Equal(42, events[1].GetProperty("Offset").GetInt64());
    }

    [Fact]
    public void AddPuffyLogging_ConsoleFormatDefault_WritesTextLinesWithUtcTimeLevelServiceAndSource()
    {
        var reason = Guid.NewGuid().ToString();

        var lines = Capture([], reason, logger => OpsLog.DeadLettered(logger, "raw-events", 2, 42, reason));

        var line = Assert.Single(lines);
        Assert.Matches(TextLine(), line);
        Assert.EndsWith($" [WRN] monitor - {Worker}: Dead-lettered raw-events [2] @42: {reason}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void AddPuffyLogging_InsideAReplay_EveryLineNamesTheReplay()
    {
        var reason = Guid.NewGuid().ToString();

        var lines = Capture([], reason, logger =>
        {
            using (PuffyLogging.Replay("r-20261129T190720Z-42a86d"))
                OpsLog.DeadLettered(logger, "raw-events", 2, 42, reason);
            OpsLog.DeadLettered(logger, "raw-events", 2, 43, reason);
        });

        Assert.Equal(2, lines.Count);
        Assert.Contains(" [WRN] monitor r-20261129T190720Z-42a86d ", lines[0], StringComparison.Ordinal);
        Assert.Contains(" [WRN] monitor - ", lines[1], StringComparison.Ordinal);
    }

    // Runs the logger a service would get with these settings and returns the console lines that contain marker.
    private static List<string> Capture((string Key, string Value)[] settings, string marker, Action<ILogger> log)
    {
        var configuration = PuffyLoggingUnitTests.Configuration(settings);
        var original = Console.Out;
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        Console.SetOut(output);
        try
        {
            using var services = new ServiceCollection().AddPuffyLogging(configuration, "monitor").BuildServiceProvider();
            log(services.GetRequiredService<ILoggerFactory>().CreateLogger(Worker));
        }
        finally
        {
            Console.SetOut(original);
        }

        return
        [
            .. output.ToString()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => AnsiEscape().Replace(line, string.Empty))
                .Where(line => line.Contains(marker, StringComparison.Ordinal)),
        ];
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[[A-Z]{3}\] ")]
    private static partial Regex TextLine();

    // Colours, when the test process writes to a terminal.
    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex AnsiEscape();
}
