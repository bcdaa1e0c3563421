using Puffy.Streaming.Cli;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// A service that stops the same way at every start (here: a setting that fails validation) is restarted by the stack
/// as compose would, but never waited through in silence: the supervisor records it as failing with its reason, a replay
/// on the stack (and the bench's wait for every instance to own partitions) ends with that reason, and <c>stack status</c>
/// shows it. Restarted with good settings, it runs and a
/// replay ends with exactly the embedded run's figures.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackFailingServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_ValidatorFailsAtEveryStart_EndsWithItsReasonAndRunsOnOnceFixed()
    {
        var expected = StackHarness.Embedded(StackHarness.RealData, Ct).ToJson();
        await using var stack = await StackHarness.UpAsync(Ct);
        var root = stack.State.Root;
        await LocalStack.RestartServiceAsync(root, "validator", new Dictionary<string, string>(StringComparer.Ordinal) { ["Streams__PollBatch"] = "0" }, Ct);

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => stack.ReplayAsync(StackHarness.RealData, "50000x", Ct));
        Assert.Contains("the validator service keeps failing", failed.Message, StringComparison.Ordinal);
        Assert.Contains("The field PollBatch must be between 1 and 1000000", failed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => LocalStack.WaitForAssignmentsAsync(stack.State, TimeSpan.FromMinutes(2), Ct));
        using (var status = new StringWriter())
        {
            Assert.False(await LocalStack.StatusAsync(root, status));
            Assert.Contains("keeps failing: The service could not start: OptionsValidationException", status.ToString(), StringComparison.Ordinal);
        }

        await LocalStack.RestartServiceAsync(root, "validator", new Dictionary<string, string>(StringComparer.Ordinal), Ct);
        Assert.Null(LocalStack.FailingMessage(stack.State));
        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "50000x", Ct));
        await stack.WaitUntilProcessedAsync(Ct);
        Assert.Equal(expected, (await stack.SummaryAsync(Ct)).ToJson());
    }
}
