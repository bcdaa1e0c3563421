using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>
/// Operating the local stack: restarts back off, a run's failure is read from its own part of the log, and `stack up`
/// never deletes a stack that still runs.
/// </summary>
public sealed class StackSupervisionUnitTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("puffy-stack-unit-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(4, 16)]
    [InlineData(5, 30)]
    [InlineData(40, 30)]
    public void Backoff_ServiceDyingYoungAgainAndAgain_DoublesFromOneSecondUpToThirty(int quickDeaths, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), StackSupervisor.Backoff(quickDeaths));

    [Fact]
    public async Task Up_OneServiceOfTheOldStackStillRunning_RefusesAndKeepsItsData()
    {
        // Redis of the old stack is gone, but its validator (here: this very process) still runs.
        var deadPid = int.MaxValue;
        var old = new StackState(_root, 1, deadPid, 2, 3, deadPid, "127.0.0.1:1", deadPid, 4,
            new Dictionary<string, int>(StringComparer.Ordinal) { ["validator"] = Environment.ProcessId });
        LocalStack.Update(_root, _ => old);
        var data = Path.Combine(_root, "clickhouse", "data.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(data)!);
        await File.WriteAllTextAsync(data, "live data", TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<UsageException>(() => LocalStack.UpAsync(_root, 4, null, TextWriter.Null, TestContext.Current.CancellationToken));

        Assert.Contains($"validator (pid {Environment.ProcessId})", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(data), "the old stack's data was deleted");
    }

    [Fact]
    public async Task FailureOf_LogOfSeveralRuns_NamesTheLastFatalMessageAndExceptionOfTheRunAskedFor()
    {
        var log = Path.Combine(_root, "validator.log");
        const string FirstRun = """
            2026-12-01T03:11:53.651Z [INF] validator - Puffy.Streaming.Hosting.ServiceClients: Runtime: .NET
            2026-12-01T03:12:07.624Z [FTL] validator - Puffy.Streaming.Validator.ValidatorWorker: The service loop failed; stopping
            System.InvalidOperationException: messages were deleted by the broker before they were consumed
               at Puffy.Streaming.Kafka.Streams.Batches.Consume()
               --- End of inner exception stack trace ---

            """;
        const string SecondRun = """
            2026-12-01T03:12:09.262Z [INF] validator - Puffy.Streaming.Hosting.ServiceClients: Runtime: .NET
            2026-12-01T03:12:09.300Z [FTL] validator - Puffy.Streaming.Hosting.ServiceHost: The service could not start: OptionsValidationException: bad
            2026-12-01T03:12:09.301Z [INF] validator - Microsoft.Hosting.Lifetime: Application is shutting down...

            """;
        const string KilledRun = """
            2026-12-01T03:12:12.000Z [INF] validator - Puffy.Streaming.Hosting.ServiceClients: Runtime: .NET

            """;
        await File.WriteAllTextAsync(log, FirstRun + SecondRun + KilledRun, TestContext.Current.CancellationToken);
        var firstOnly = Path.Combine(_root, "first.log");
        await File.WriteAllTextAsync(firstOnly, FirstRun, TestContext.Current.CancellationToken);

        Assert.Equal(
            "The service loop failed; stopping — System.InvalidOperationException: messages were deleted by the broker before they were consumed",
            LocalStack.FailureOf(firstOnly, 0));
        Assert.Equal("The service could not start: OptionsValidationException: bad", LocalStack.FailureOf(log, 0));
        Assert.Equal("The service could not start: OptionsValidationException: bad", LocalStack.FailureOf(log, FirstRun.Length));
        Assert.Null(LocalStack.FailureOf(log, FirstRun.Length + SecondRun.Length));
    }
}
