using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Stack;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StackCollection
{
    public const string Name = "Local stack";
}

/// <summary>
/// A whole local stack (Redis, ClickHouse, the Kafka-protocol test broker and the four long-running services as
/// separate processes) in a temp state folder, exactly as <c>puffy stack up</c> starts it; stopped on dispose.
/// </summary>
internal sealed class StackHarness : IAsyncDisposable
{
    private readonly string _root;

    /// <summary>Cancelled on dispose: stops every replay still running (a test that failed mid-replay leaves none behind).</summary>
    private readonly CancellationTokenSource _replays = new();

    private readonly List<Task> _running = [];

    private StackState _state;

    private StackHarness(string root, StackState state)
    {
        _root = root;
        _state = state;
    }

    /// <summary>The stack as recorded now (the supervisor records a restarted service's new pid).</summary>
    public StackState State => _state = LocalStack.Load(_root) ?? _state;

    /// <summary>Redis and ClickHouse go away for a while and come back on the same ports with their data.</summary>
    public async Task OutageAsync(Func<Task> whileDown, CancellationToken cancellationToken)
    {
        await LocalStack.StopServersAsync(State);
        await whileDown();
        _state = await LocalStack.StartServersAsync(State, cancellationToken);
    }

    public static string RealData { get; } = Path.Combine(LocalStack.RepoRoot(), "data", "puffy-events");

    public static Task<StackHarness> UpAsync(CancellationToken cancellationToken) => UpAsync(rabbitMq: false, cancellationToken);

    /// <param name="rabbitMq">Also start RabbitMQ, as <c>puffy stack up</c> does: the monitor publishes its alerts there.</param>
    public static Task<StackHarness> UpAsync(bool rabbitMq, CancellationToken cancellationToken) =>
        UpAsync(rabbitMq, partitions: 4, instances: 1, cancellationToken);

    /// <param name="instances">Instances of each partition-parallel service (sessionizer, attribution).</param>
    public static async Task<StackHarness> UpAsync(bool rabbitMq, int partitions, int instances, CancellationToken cancellationToken)
    {
        var root = Directory.CreateTempSubdirectory("puffy-stack-").FullName;
        using var log = new StringWriter();
        var state = await LocalStack.UpAsync(root, partitions, kafkaBootstrap: null, rabbitMq, instances, log, cancellationToken);
        return new StackHarness(root, state);
    }

    public Task<int> ReplayAsync(string data, string speed, CancellationToken cancellationToken) =>
        Replay(token => StackCommand.RunIngestorAsync(State, data, speed, token), cancellationToken);

    /// <summary>A replay whose ingestor's pid is handed to <paramref name="started"/> (to kill it).</summary>
    public Task<int> ReplayAsync(string data, string speed, Action<int> started, CancellationToken cancellationToken) =>
        Replay(token => StackCommand.RunIngestorAsync(State, data, speed, log: null, quiet: true, started: started, cancellationToken: token), cancellationToken);

    public Task<int> ReplayAsync(string data, string speed, string replayId, CancellationToken cancellationToken) =>
        Replay(token => StackCommand.RunIngestorAsync(State, data, speed, log: null, quiet: false, replayId: replayId, cancellationToken: token), cancellationToken);

    /// <summary>Runs a replay that the harness stops on dispose if the test has not awaited it to its end.</summary>
    private Task<int> Replay(Func<CancellationToken, Task<int>> run, CancellationToken cancellationToken)
    {
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _replays.Token);
        var replay = run(linked.Token);
        lock (_running)
            _running.Add(replay.ContinueWith(_ => linked.Dispose(), TaskScheduler.Default));
        return replay;
    }

    public Task WaitUntilProcessedAsync(CancellationToken cancellationToken) =>
        StackCommand.WaitUntilProcessedAsync(State, TimeSpan.FromMinutes(10), cancellationToken);

    /// <summary>Rows in a table now (no FINAL: a measure of progress, not a result).</summary>
    public async Task<long> CountAsync(string table, CancellationToken cancellationToken)
    {
        using var client = ClickHouse();
        return long.Parse(await client.QueryScalarAsync($"SELECT count() FROM {client.Qualify(table)}", cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until a table holds at least <paramref name="rows"/> rows (polled, for up to 2 minutes); false if it never did.</summary>
    public async Task<bool> WaitForRowsAsync(string table, long rows, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow.AddMinutes(2);
        while (await CountAsync(table, cancellationToken) < rows)
        {
            if (DateTime.UtcNow > until)
                return false;
            await Task.Delay(100, cancellationToken); // polling the sink for progress
        }

        return true;
    }

    /// <summary>
    /// Waits until the running monitor has stored a state it could be restored from (false if it never did within the
    /// waits): each of its checkpoints writes the changed file_stats rows, then stores the state, so rows from a second
    /// checkpoint mean the first one's state is stored.
    /// </summary>
    public async Task<bool> WaitForStoredMonitorCheckpointAsync(CancellationToken cancellationToken) =>
        await WaitForRowsAsync("file_stats", 1, cancellationToken)
        && await WaitForRowsAsync("file_stats", await CountAsync("file_stats", cancellationToken) + 1, cancellationToken);

    /// <summary>The stack's ClickHouse as the read-only analyst.</summary>
    public ClickHouseClient ClickHouse() => new(State.ClickHouseAnalyst());

    public async Task<RunSummary> SummaryAsync(CancellationToken cancellationToken)
    {
        using var client = ClickHouse();
        return await ClickHouseSummary.ReadAsync(client, cancellationToken);
    }

    /// <summary>
    /// The monitor's running-total tables as text, one line per row: marketing_daily (revenue in cents) and
    /// file_stats (rows, columns, valid and dead-lettered, in total and by reason, unreadable).
    /// </summary>
    public async Task<(string Marketing, string Files)> MonitorTablesAsync(CancellationToken cancellationToken)
    {
        using var client = ClickHouse();
        var marketing = await client.QueryScalarAsync(
            $"SELECT toString(day), model, channel, sessions, converted_sessions, orders, toInt64(revenue * 100) FROM {client.Qualify(Tables.MarketingDaily)} FINAL ORDER BY day, model, channel",
            cancellationToken);
        var files = await client.QueryScalarAsync(
            $"SELECT file, rows, columns, valid, dead_lettered, unreadable, {string.Join(", ", DeadLetterReasons.All.Select(r => "dl_" + r))} FROM {client.Qualify(Tables.FileStats)} FINAL ORDER BY file",
            cancellationToken);
        return (marketing, files);
    }

    /// <summary>The same text as <see cref="MonitorTablesAsync"/> for an embedded run's tables.</summary>
    public static (string Marketing, string Files) MonitorTables(RunSummary embedded) =>
    (
        string.Join("\n", embedded.MarketingDaily.Select(r => string.Join('\t', RunSummary.Day(r.Day), r.Model, r.Channel, r.Sessions, r.ConvertedSessions, r.Orders, (long)(r.Revenue * 100)))),
        string.Join("\n", embedded.Files.Values.Select(f => string.Join('\t',
            [f.File, f.Rows, f.Columns, f.Valid, f.DeadLetteredTotal, f.Unreadable ? 1 : 0, .. DeadLetterReasons.All.Select(r => (object)f.DeadLettered.GetValueOrDefault(r))])))
    );

    /// <summary>Fails with the lines that differ when the stack's monitor tables are not the embedded run's.</summary>
    public async Task AssertMonitorTablesEqualAsync(RunSummary embedded, CancellationToken cancellationToken)
    {
        var expected = MonitorTables(embedded);
        var actual = await MonitorTablesAsync(cancellationToken);
        Assert.True(expected.Marketing == actual.Marketing, "marketing_daily differs:\n" + Difference(expected.Marketing, actual.Marketing));
        Assert.True(expected.Files == actual.Files, "file_stats differs:\n" + Difference(expected.Files, actual.Files));
    }

    private static string Difference(string expected, string actual)
    {
        var want = expected.Split('\n');
        var got = actual.Split('\n');
        return string.Join("\n", want.Except(got).Select(l => "- " + l).Concat(got.Except(want).Select(l => "+ " + l)).Take(40));
    }

    /// <summary>What the embedded run computes over the same files: the reference for every stack run.</summary>
    public static RunSummary Embedded(string data, CancellationToken cancellationToken)
    {
        var files = Directory.GetFiles(data, "*.csv").Order(StringComparer.Ordinal).ToList();
        var builder = new SummaryBuilder();
        new EmbeddedPipeline(new PipelineOptions(), builder).Run(files, cancellationToken: cancellationToken);
        return builder.Complete();
    }

    public string Logs() => string.Join("\n", State.Services.Keys.Select(s => $"== {s}\n{LocalStack.Tail(State.LogFile(s), 15)}"));

    /// <summary>
    /// Replays the real data at 50000x and freezes <paramref name="pids"/> (SIGSTOP: connections open, no answers) once it
    /// is under way, until every long-running stage has logged a line that <paramref name="warning"/> accepts (polled, up to 3 minutes);
    /// thaws them, then checks that the replay ends with exactly the embedded run's summary, <c>marketing_daily</c> and
    /// <c>file_stats</c>, and that no service stopped and was started again.
    /// </summary>
    public async Task FreezeMidReplayAsync(IReadOnlyList<int> pids, Func<string, bool> warning, CancellationToken cancellationToken)
    {
        var embedded = Embedded(RealData, cancellationToken);
        var services = State.Services;
        var replay = ReplayAsync(RealData, "50000x", cancellationToken);
        Assert.True(await WaitForRowsAsync("orders", 40, cancellationToken), "no progress before the freeze:\n" + Logs());
        Assert.False(replay.IsCompleted, "the replay finished before the freeze");
        var before = LocalStack.LongRunning.ToDictionary(s => s, s => File.ReadLines(State.LogFile(s)).Count());
        bool Warned(string stage) => File.ReadLines(State.LogFile(stage)).Skip(before[stage]).Any(warning);

        foreach (var pid in pids)
            BackgroundProcess.Freeze(pid);
        try
        {
            var until = DateTime.UtcNow.AddMinutes(3);
            while (!LocalStack.LongRunning.All(Warned) && DateTime.UtcNow < until)
                await Task.Delay(200, cancellationToken); // polling the logs for the warnings
            Assert.True(LocalStack.LongRunning.All(Warned), "silent while frozen: " + string.Join(", ", LocalStack.LongRunning.Where(s => !Warned(s))) + "\n" + Logs());
        }
        finally
        {
            foreach (var pid in pids)
                BackgroundProcess.Thaw(pid);
        }

        Assert.Equal(0, await replay);
        await WaitUntilProcessedAsync(cancellationToken);
        Assert.Equal(embedded.ToJson(), (await SummaryAsync(cancellationToken)).ToJson());
        await AssertMonitorTablesEqualAsync(embedded, cancellationToken);
        Assert.Equal(services, State.Services);
    }

    /// <summary>
    /// <c>PUFFY_KEEP_STACKS=1</c>: each stack's folder (every service's log, the servers' data) stays after the stack is
    /// stopped, for a post-mortem of a failed run; its path is in the test's diagnostic output.
    /// </summary>
    private static bool KeepStacks => Environment.GetEnvironmentVariable("PUFFY_KEEP_STACKS") == "1";

    public async ValueTask DisposeAsync()
    {
        await _replays.CancelAsync();
        Task[] running;
        lock (_running)
            running = [.. _running];
        await Task.WhenAll(running); // each ingestor stopped (the continuations end whether the replay failed or not)
        _replays.Dispose();
        await LocalStack.DownAsync(_root, TextWriter.Null);
        if (KeepStacks)
        {
            TestContext.Current.SendDiagnosticMessage($"stack folder kept (PUFFY_KEEP_STACKS=1): {_root}");
            return;
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A server may still be flushing a file; the temp folder is left behind.
        }
    }
}
