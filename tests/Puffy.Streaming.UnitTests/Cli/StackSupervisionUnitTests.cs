using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>Operating the local stack: restarts back off, and `stack up` never deletes a stack that still runs.</summary>
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
}
