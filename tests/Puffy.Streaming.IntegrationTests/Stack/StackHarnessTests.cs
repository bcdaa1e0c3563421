using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

[Collection(StackCollection.Name)]
public sealed class StackHarnessTests
{
    /// <summary>A test that fails mid-replay leaves no ingestor running after its stack is gone.</summary>
    [Fact]
    public async Task Dispose_WhileAReplayRuns_StopsItsIngestor()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var ingestor = new TaskCompletionSource<int>();
        Task<int> replay;
        await using (var stack = await StackHarness.UpAsync(cancellationToken))
        {
            replay = stack.ReplayAsync(StackHarness.RealData, "1", started: ingestor.SetResult, cancellationToken); // real time: days
            await ingestor.Task;
        }

        Assert.False(BackgroundProcess.IsAlive(await ingestor.Task));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => replay);
    }
}
