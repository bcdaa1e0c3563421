using Puffy.Streaming.Cli;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// The broker stops answering (frozen) or dies. Frozen, it keeps its topics: every stage must say so at Warning in its
/// structured log, none may stop, and once it answers again the result is exact. The local test broker keeps its topics in
/// memory, so when it dies they are gone and the services' offsets and state refer to messages that no longer exist: the
/// stack must say so and stop, never run on with wrong numbers.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackBrokerLossTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The broker freezes mid-replay (SIGSTOP: its socket open, no answers) for longer than the consumers' session timeout, so
    /// every group loses its members and rebalances once it answers again. While frozen, every stage logs a Warning about
    /// Kafka (librdkafka's own lines come through the structured log, never as raw text); after it, the replay ends with
    /// exactly the embedded run's figures and no service was restarted.
    /// </summary>
    [Fact]
    public async Task BrokerFrozenMidReplay_EveryStageWarnsNoneStopsAndTheResultIsExact()
    {
        await using var stack = await StackHarness.UpAsync(Ct);
        await stack.FreezeMidReplayAsync([stack.State.BrokerPid!.Value],
            l => (l.Contains("[WRN]", StringComparison.Ordinal) || l.Contains("[ERR]", StringComparison.Ordinal))
                 && (l.Contains("librdkafka", StringComparison.Ordinal) || l.Contains("Stalled for", StringComparison.Ordinal)),
            Ct);

        foreach (var stage in LocalStack.LongRunning)
        {
            var raw = File.ReadLines(stack.State.LogFile(stage)).FirstOrDefault(l => l.StartsWith('%'));
            Assert.True(raw is null, $"{stage} printed a librdkafka line outside its structured log: {raw}");
        }
    }

    [Fact]
    public async Task BrokerDies_SupervisorStopsTheServicesAndStatusAndReplaySayWhy()
    {
        await using var stack = await StackHarness.UpAsync(Ct);
        var services = stack.State.Services.Values.ToList();
        Assert.NotNull(stack.State.BrokerPid);

        BackgroundProcess.Kill(stack.State.BrokerPid!.Value);

        var until = DateTime.UtcNow.AddMinutes(1);
        while (services.Any(BackgroundProcess.IsAlive) && DateTime.UtcNow < until)
            await Task.Delay(100, Ct); // polling for the supervisor to stop them
        Assert.All(services, pid => Assert.False(BackgroundProcess.IsAlive(pid), $"service pid {pid} still runs:\n{stack.Logs()}"));
        Assert.Contains("every topic it kept in memory", LocalStack.Tail(stack.State.LogFile("supervisor")), StringComparison.Ordinal);

        using var status = new StringWriter();
        Assert.False(await LocalStack.StatusAsync(stack.State.Root, status));
        Assert.Contains("puffy stack down", status.ToString(), StringComparison.Ordinal);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        Assert.Contains("is gone", refused.Message, StringComparison.Ordinal);
    }
}
