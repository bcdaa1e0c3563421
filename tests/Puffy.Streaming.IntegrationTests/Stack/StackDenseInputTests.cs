using Puffy.Streaming.Cli;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// Dense event time through the running services: 120,000 valid events inside ten minutes of event time, far more
/// than back-pressure lets wait between two stages (4,000 per partition) and all inside one allowed-lateness window
/// (15 minutes), so the validator's reorder buffer holds them all at once. The replay completes and gives exactly
/// the embedded run's summary and monitor tables.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackDenseInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-dense-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Replay_OneHundredTwentyThousandEventsInTenMinutes_CompletesAndEqualsTheEmbeddedRun()
    {
        var (_, events) = LoadData.Sustained(_dir, eventsPerSecond: 200, TimeSpan.FromMinutes(10), new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc));
        var embedded = StackHarness.Embedded(_dir, Ct);
        Assert.Equal(events, embedded.RowsRead);
        Assert.Equal(events, embedded.Valid);
        Assert.True(embedded.Orders > 1000, $"{embedded.Orders} orders");
        await using var stack = await StackHarness.UpAsync(Ct);

        // A stall would hold the ingestor back for ever: the deadline turns it into a failure with the services' logs.
        var limit = TimeSpan.FromMinutes(10);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(limit);
        try
        {
            Assert.Equal(0, await stack.ReplayAsync(_dir, "max", deadline.Token));
            await stack.WaitUntilProcessedAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            Assert.Fail($"the dense replay did not complete within {limit}:\n" + stack.Logs());
        }

        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
        await stack.AssertMonitorTablesEqualAsync(embedded, Ct);
    }
}
