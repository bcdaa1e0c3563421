using System.Globalization;
using System.Text.RegularExpressions;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// The partition-parallel services (validator, sessionizer, attribution) as several instances of their consumer group: the real
/// data through any number of instances and partitions gives exactly the embedded run's summary, marketing_daily and
/// file_stats, also when one instance of every service is killed with SIGKILL mid-replay while the others run on. The monitor
/// runs as one instance of several, the others standing by to take over.
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class StackScaleOutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    public async Task Replay_RealData_ThroughInstancesSharingPartitions_EqualsTheEmbeddedRun(int instances, int partitions)
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(rabbitMq: false, partitions, instances, Ct);

        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);

        // Every instance took part, and the group split the partitions among them: each one owned by exactly one instance.
        foreach (var (service, topic) in new[] { ("validator", Topics.RawEvents), ("sessionizer", Topics.ValidEvents), ("attribution", Topics.SessionizedEvents) })
        {
            var owned = stack.State.Services.Keys.Where(i => LocalStack.ServiceOf(i) == service)
                .ToDictionary(i => i, i => LocalStack.OwnedFromLog(stack.State.LogFile(i), topic));
            Assert.Equal(instances, owned.Count);
            Assert.All(owned, o => Assert.True(o.Value is not (null or "none"), $"{o.Key} owns no partition of {topic}:\n{stack.Logs()}"));
            var all = owned.Values.SelectMany(v => v!.Split(", ")).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal(Enumerable.Range(0, partitions), all);
        }

        var status = LocalStack.LagLines(stack.State).ToList();
        Assert.All(LocalStack.PartitionParallel, service => Assert.Contains(status, l => l.StartsWith(service, StringComparison.Ordinal)
            && l.Contains($"{instances} instance", StringComparison.Ordinal) && l.Contains($"{partitions} partitions", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Replay_OneInstanceOfEveryServiceKilledMidReplay_OthersRunOn_EqualsTheEmbeddedRun()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(rabbitMq: false, partitions: 4, instances: 2, Ct);
        // The instances to kill must own partitions first (the local broker holds a group's rebalance up to a session timeout).
        Assert.True(await LocalStack.WaitForAssignmentsAsync(stack.State, TimeSpan.FromMinutes(2), Ct), "an instance owns no partition:\n" + stack.Logs());

        // Paced (14 days in about 25 s) so the kill lands while rows are still arriving.
        var ingestor = new TaskCompletionSource<int>();
        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", pid => ingestor.TrySetResult(pid), Ct);
        Assert.True(await stack.WaitForRowsAsync("orders", 40, Ct), "no progress before the kill:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the kill");

        // One instance of each service; validator-2, sessionizer and attribution-2 go on and take over the partitions of the dead ones.
        string[] victims = ["validator", "sessionizer-2", "attribution", "monitor"];
        var killed = victims.Select(s => stack.State.Services[s]).ToList();
        BackgroundProcess.Kill(await ingestor.Task);
        foreach (var service in victims)
            LocalStack.KillService(stack.State, service);
        Assert.NotEqual(0, await replay);
        for (var i = 0; i < victims.Length; i++)
            await LocalStack.WaitForRestartAsync(stack.State.Root, victims[i], killed[i], TimeSpan.FromMinutes(1), Ct);

        // The ingestor is not supervised: a replay again sends what it had not finished.
        Assert.Equal(0, await stack.ReplayAsync(StackHarness.RealData, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);

        // Partitions moved with their state: some partition was opened again under a newer lease, from stored state.
        foreach (var service in new[] { "validator", "sessionizer", "attribution" })
        {
            var logs = string.Join('\n', stack.State.Services.Keys.Where(i => LocalStack.ServiceOf(i) == service)
                .Select(i => LocalStack.Tail(stack.State.LogFile(i), 5000)));
            var reopened = LeaseLine().Matches(logs).Where(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 2).ToList();
            Assert.True(reopened.Count > 0, $"no {service} partition changed owner:\n{logs}");
            Assert.Contains(reopened, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) > 0);
        }
    }

    /// <summary>
    /// A frozen instance, once thawed, may still finish the batch it was in and send its outputs before it learns that its
    /// partitions moved: copies behind what the new owner sent, which downstream drops (ordered input). A frozen validator
    /// sends such copies to the sessionizer, a frozen sessionizer to the attribution.
    /// </summary>
    [Theory]
    [InlineData("sessionizer", Topics.ValidEvents)]
    [InlineData("validator", Topics.RawEvents)]
    public async Task Replay_InstanceFrozenPastItsSessionTimeout_ItsPartitionsMoveAndItNeverOverwritesTheNewOwner(string service, string input)
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(rabbitMq: false, partitions: 4, instances: 2, Ct);
        // Both instances must own partitions first (the local broker holds a group's rebalance up to a session timeout): an
        // instance frozen before its first assignment has nothing to lose, and the other already owns every partition.
        Assert.True(await LocalStack.WaitForAssignmentsAsync(stack.State, TimeSpan.FromMinutes(2), Ct), "an instance owns no partition:\n" + stack.Logs());

        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", Ct);
        Assert.True(await stack.WaitForRowsAsync("orders", 40, Ct), "no progress before the freeze:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the freeze");
        Assert.True(LocalStack.OwnedFromLog(stack.State.LogFile(service + "-2"), input) is not (null or "none"),
            $"{service}-2 owns no partition of {input} before the freeze:\n" + stack.Logs());

        // The group expels it after the session timeout and gives its partitions to the other instance, which loads their
        // last checkpoint under a newer lease.
        var frozen = stack.State.Services[service + "-2"];
        var log = stack.State.LogFile(service);
        await FreezeUntilAsync(frozen, () => LocalStack.OwnedFromLog(log, input) == "0, 1, 2, 3", $"{service} did not take over every partition");
        await AssertReplayEndsExactlyAsync(stack, replay, embedded);
        // Woken up, it learnt that its partitions were gone (or had its checkpoint refused by the lease), and carried on.
        var woken = LocalStack.Tail(stack.State.LogFile(service + "-2"), 5000);
        Assert.True(woken.Contains("Lost partition(s)", StringComparison.Ordinal) || woken.Contains("was taken over by another instance", StringComparison.Ordinal),
            "the frozen instance did not notice its partitions had moved:\n" + woken);
        Assert.Equal(frozen, stack.State.Services[service + "-2"]);
    }

    /// <summary>
    /// The monitor runs on one instance while the other stands by. Frozen, the running one is expelled from the election group,
    /// the standby takes the stage over from the last checkpoint under a newer lease, and the thawed one writes nothing stale
    /// (its checkpoint finds the lease gone) and stands by.
    /// </summary>
    [Fact]
    public async Task Replay_RunningMonitorFrozenPastItsSessionTimeout_TheStandbyTakesOverAndTheResultIsExact()
    {
        var embedded = StackHarness.Embedded(StackHarness.RealData, Ct);
        await using var stack = await StackHarness.UpAsync(rabbitMq: false, partitions: 4, instances: 2, Ct);

        // The election settles first (the local broker holds a group's rebalance up to a session timeout).
        string[] monitors = ["monitor", "monitor-2"];
        string? Role(string instance) => LocalStack.RoleFromLog(stack.State.LogFile(instance));
        var settled = DateTime.UtcNow.AddMinutes(2);
        while (!(monitors.Count(m => Role(m) == "runs the stage") == 1 && monitors.Count(m => Role(m) == "stands by") == 1) && DateTime.UtcNow < settled)
            await Task.Delay(200, Ct); // polling the instances' logs for the election
        var frozenName = Assert.Single(monitors, m => Role(m) == "runs the stage");
        var standby = Assert.Single(monitors, m => Role(m) == "stands by");

        var replay = stack.ReplayAsync(StackHarness.RealData, "50000x", Ct);
        Assert.True(await stack.WaitForRowsAsync("orders", 40, Ct), "no progress before the freeze:\n" + stack.Logs());
        // The standby can only restore a state the running one stored.
        Assert.True(await stack.WaitForStoredMonitorCheckpointAsync(Ct), "the monitor stored no checkpoint:\n" + stack.Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the freeze");
        // The token may already have moved once while the second instance joined, so the running one's lease is the latest
        // taken, not necessarily the first.
        var frozenEpoch = LastLeaseEpoch(stack.State.LogFile(frozenName), MonitorLease());
        Assert.True(frozenEpoch is not null, $"{frozenName} runs the stage without a lease:\n" + MonitorLines(stack, monitors));
        var frozen = stack.State.Services[frozenName];
        await FreezeUntilAsync(frozen, () => Role(standby) == "runs the stage", $"{standby} did not take the monitor over");
        await AssertReplayEndsExactlyAsync(stack, replay, embedded);
        Assert.True(LastLeaseEpoch(stack.State.LogFile(standby), MonitorRestored()) > frozenEpoch,
            $"the standby did not restore the stored state under a lease newer than epoch {frozenEpoch}:\n" + MonitorLines(stack, monitors));
        Assert.Equal("stands by", Role(frozenName));
        Assert.Equal(frozen, stack.State.Services[frozenName]);
    }

    /// <summary>The epoch of the last line of <paramref name="log"/> that <paramref name="line"/> matches; null without any.</summary>
    private static long? LastLeaseEpoch(string log, Regex line) =>
        File.ReadLines(log).Select(l => line.Match(l)).LastOrDefault(m => m.Success) is { } m
            ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"(?:Restored the monitor state under lease epoch|No monitor state stored yet; lease epoch) (\d+)")]
    private static partial Regex MonitorLease();

    [GeneratedRegex(@"Restored the monitor state under lease epoch (\d+)")]
    private static partial Regex MonitorRestored();

    /// <summary>The election, lease and checkpoint lines of the monitors' logs, for a failure message.</summary>
    private static string MonitorLines(StackHarness stack, string[] monitors) =>
        string.Join('\n', monitors.SelectMany(m => File.ReadLines(stack.State.LogFile(m))
            .Where(l => l.Contains("lease", StringComparison.OrdinalIgnoreCase) || l.Contains("stage", StringComparison.Ordinal)
                        || l.Contains("monitor state", StringComparison.Ordinal) || l.Contains("checkpoint", StringComparison.OrdinalIgnoreCase))
            .Select(l => m + ": " + l)));

    /// <summary>
    /// Freezes a process (SIGSTOP: sockets open, no heartbeats) until <paramref name="tookOver"/> holds (polling the logs, up to
    /// two minutes), then thaws it.
    /// </summary>
    private static async Task FreezeUntilAsync(int pid, Func<bool> tookOver, string failure)
    {
        BackgroundProcess.Freeze(pid);
        try
        {
            var until = DateTime.UtcNow.AddMinutes(2);
            while (!tookOver() && DateTime.UtcNow < until)
                await Task.Delay(200, Ct); // polling the logs for the takeover
            Assert.True(tookOver(), failure);
        }
        finally
        {
            BackgroundProcess.Thaw(pid);
        }
    }

    /// <summary>The replay succeeds, every service catches up, and ClickHouse holds exactly the embedded run's figures.</summary>
    private static async Task AssertReplayEndsExactlyAsync(StackHarness stack, Task<int> replay, RunSummary embedded)
    {
        Assert.Equal(0, await replay);
        await stack.WaitUntilProcessedAsync(Ct);
        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);
    }

    [GeneratedRegex(@"Partition \d+: lease epoch (\d+); restored (?:the touchpoints of )?(\d+)")]
    private static partial Regex LeaseLine();

}
