using Puffy.Streaming.Cli;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// The local test broker keeps its topics in memory: when it dies they are gone, and the services' offsets and state
/// refer to messages that no longer exist. The stack must say so and stop, never run on with wrong numbers.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackBrokerLossTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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
