using System.Globalization;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.IntegrationTests.Stack;

/// <summary>
/// A row with a 1 MB field between normal rows, through the running services: it is dead-lettered as
/// <c>oversized_row</c> (never produced whole — it would exceed the broker's message limit), the rows around it and
/// the next file flow, and the summary equals the embedded run on the same files.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StackOversizedRowTests : IDisposable
{
    private const string Ua = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36\"";

    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-oversized-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Replay_RowWithAOneMegabyteField_IsDeadLetteredAndTheRestFlows()
    {
        var huge = new string('x', 1_000_000);
        await File.WriteAllLinesAsync(Path.Combine(_dir, "events_20250301.csv"),
        [
            "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent",
            $"c-1,https://puffy.com/,,2025-03-01T10:00:00.000Z,page_viewed,,{Ua}",
            $"c-2,https://puffy.com/,,2025-03-01T10:00:01.000Z,page_viewed,\"{{\"\"note\"\": \"\"{huge}\"\"}}\",{Ua}",
            $"c-3,https://puffy.com/,,2025-03-01T10:00:02.000Z,page_viewed,,{Ua}",
        ], Ct);
        await File.WriteAllLinesAsync(Path.Combine(_dir, "events_20250302.csv"),
        [
            "client_id,page_url,referrer,timestamp,event_name,event_data,user_agent",
            $"c-4,https://puffy.com/,,2025-03-02T09:00:00.000Z,page_viewed,,{Ua}",
        ], Ct);
        var embedded = StackHarness.Embedded(_dir, Ct);
        await using var stack = await StackHarness.UpAsync(Ct);

        Assert.Equal(0, await stack.ReplayAsync(_dir, "max", Ct));
        await stack.WaitUntilProcessedAsync(Ct);

        using var client = stack.ClickHouse();
        var dead = Assert.Single(await client.QueryJsonEachRowAsync(
            $"SELECT source_file, line, reason, length(original_row) AS kept FROM {client.Qualify("dead_letters")} FINAL", Ct));
        Assert.Equal("events_20250301.csv", dead.GetProperty("source_file").GetString());
        Assert.Equal(3, Num(dead.GetProperty("line")));
        Assert.Equal(DeadLetterReasons.OversizedRow, dead.GetProperty("reason").GetString());
        Assert.True(Num(dead.GetProperty("kept")) <= 1024);
        var events = await client.QueryJsonEachRowAsync($"SELECT client_id FROM {client.Qualify("events")} FINAL ORDER BY client_id", Ct);
        Assert.Equal(["c-1", "c-3", "c-4"], events.Select(e => e.GetProperty("client_id").GetString()).ToList());
        Assert.Equal(embedded.ToJson(), (await stack.SummaryAsync(Ct)).ToJson());
    }

    private static long Num(System.Text.Json.JsonElement e) =>
        e.ValueKind == System.Text.Json.JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();
}
