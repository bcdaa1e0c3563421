using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.LocalServers;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy stack up|down|status</c> and <c>puffy replay</c>.</summary>
internal static class StackCommand
{
    internal sealed record ReplayOptions(string? State, string Data, string Speed, bool Wait, TimeSpan Timeout, bool NoProgress);

    public static Command Create()
    {
        var upState = CliOptions.State();
        var partitions = CliOptions.Partitions();
        var noRabbitMq = new Option<bool>("--no-rabbitmq") { Description = "Start no RabbitMQ: the monitor delivers no alerts" };
        var instances = CliOptions.Count("--instances", "Instances of each partition-parallel service (validator, sessionizer, attribution), which share the partitions, and of the monitor, of which one runs while the others stand by", 1);
        var up = new Command("up", "Starts, as background processes under the state folder: Redis, ClickHouse, a Kafka-protocol broker "
                                   + "(unless KAFKA_BOOTSTRAP names a Kafka), RabbitMQ (alert delivery; Alerting__Webhooks__0=URL "
                                   + "names a webhook) and the validator, sessionizer, attribution and monitor services.")
        {
            upState, partitions, noRabbitMq, instances,
        };
        up.SetAction((r, ct) => UpAsync(Root(r.GetValue(upState)), r.GetValue(partitions), r.GetValue(instances), !r.GetValue(noRabbitMq), r.InvocationConfiguration.Output, ct));

        var downState = CliOptions.State();
        var down = new Command("down", "Stops every part of the stack.") { downState };
        down.SetAction(async r =>
        {
            await LocalStack.DownAsync(Root(r.GetValue(downState)), r.InvocationConfiguration.Output);
            return CommandLine.Ok;
        });

        var statusState = CliOptions.State();
        var status = new Command("status", "Up or down, pid, address and log file of each part; exit code 1 when a part is down.") { statusState };
        status.SetAction(async r =>
            await LocalStack.StatusAsync(Root(r.GetValue(statusState)), r.InvocationConfiguration.Output) ? CommandLine.Ok : CommandLine.Failed);

        var restartState = CliOptions.State();
        var service = new Argument<string>("SERVICE") { Description = string.Join(", ", LocalStack.LongRunning) + ", or an instance such as sessionizer-2" };
        var restart = new Command("restart", "Restarts one service gracefully (it checkpoints, then the stack's supervisor starts it again).") { service, restartState };
        restart.SetAction(async (r, ct) =>
        {
            var root = Root(r.GetValue(restartState));
            var name = r.GetRequiredValue(service);
            var pid = await LocalStack.RestartServiceAsync(root, name, cancellationToken: ct);
            r.InvocationConfiguration.Output.WriteLine($"{name} restarted: pid {pid}");
            return CommandLine.Ok;
        });

        return new Command("stack", "The local stack without Docker: the five services on Kafka, Redis and ClickHouse.")
        {
            up, down, status, restart, StackSupervisor.Create(),
        };
    }

    public static Command CreateReplay()
    {
        var data = CliOptions.Data();
        var speed = CliOptions.Checked(
            new Option<string>("--speed")
            {
                Description = "max, realtime or a factor like 10x (event-time gaps become wall-clock gaps)",
                HelpName = "max|realtime|Nx",
                DefaultValueFactory = _ => "max",
            },
            v => Pipeline.Ingest.ReplaySpeed.TryParse(v, out _) ? null : $"--speed '{v}' is not max, realtime or a factor like 10x");
        var wait = new Option<bool>("--wait") { Description = "Return once every service has processed everything (sessions flushed, orders written)" };
        var timeout = CliOptions.Duration("--timeout", "How long --wait waits", TimeSpan.FromMinutes(30));
        var state = CliOptions.State();
        var noProgress = new Option<bool>("--no-progress") { Description = "Forward only the ingestor's warnings and errors (its log goes to stderr)" };
        var command = new Command("replay", "Runs the ingestor against the local stack: sends every *.csv of --data to Kafka.")
        {
            data, speed, wait, timeout, state, noProgress,
        };
        command.SetAction((r, ct) => ReplayAsync(
            new ReplayOptions(r.GetValue(state), r.GetRequiredValue(data), r.GetRequiredValue(speed), r.GetValue(wait), r.GetValue(timeout), r.GetValue(noProgress)),
            r.InvocationConfiguration.Output,
            r.InvocationConfiguration.Error,
            ct));
        return command;
    }

    private static string Root(string? state) => state is null ? LocalStack.DefaultRoot : Path.GetFullPath(state);

    private static async Task<int> UpAsync(string root, int partitions, int instances, bool rabbitMq, TextWriter output, CancellationToken cancellationToken)
    {
        await LocalStack.UpAsync(root, partitions, Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP"), rabbitMq, instances, output, cancellationToken);
        output.WriteLine($"stack up (state in {root}); replay with: ./puffy replay --data data/puffy-events --wait");
        if (LocalStack.Load(root) is { } state)
        {
            foreach (var line in LocalStack.QueryCommands(state))
                output.WriteLine(line);
        }

        return CommandLine.Ok;
    }

    /// <summary>Runs the ingestor against the stack; with --wait, returns once every service has processed everything.</summary>
    public static async Task<int> ReplayAsync(ReplayOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var root = Root(options.State);
        var state = LocalStack.Load(root) ?? throw new UsageException($"no stack is up in {root} (run 'puffy stack up' first)");
        var data = Path.GetFullPath(options.Data);
        var files = CliOptions.DataFiles(data);

        var replayId = ReplayReport.NewReplayId();
        var reportFile = Path.Combine(root, "replays", replayId + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(reportFile)!);
        output.WriteLine($"replay {replayId}: {files.Count} files in {data} (every event the ingestor logs carries ReplayId={replayId})");
        var clock = Stopwatch.StartNew();
        // With --wait, --timeout bounds the whole replay: a stage that stalls (and so holds the ingestor back) ends it too.
        int exit;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            if (options.Wait)
                deadline.CancelAfter(options.Timeout);
            try
            {
                exit = await RunIngestorAsync(state, data, options.Speed, error, options.NoProgress, replayId, reportFile, cancellationToken: deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"not processed within {options.Timeout}: the ingestor was still sending (stopped); {Behind(state)}");
            }
        }

        if (exit != 0)
        {
            error.WriteLine($"puffy: the ingestor failed with exit code {exit} (replay {replayId}; its log is above)");
            return CommandLine.Failed;
        }

        var sent = clock.Elapsed;
        if (!File.Exists(reportFile))
        {
            error.WriteLine($"puffy: the ingestor wrote no report to {reportFile}");
            return CommandLine.Failed;
        }

        var report = JsonSerializer.Deserialize<ReplayReport>(await File.ReadAllTextAsync(reportFile, cancellationToken))!;
        output.WriteLine(Describe(report, sent));
        if (!options.Wait)
            return CommandLine.Ok;
        await WaitUntilProcessedAsync(state, options.Timeout - clock.Elapsed, cancellationToken);
        output.WriteLine($"replay processed end to end in {clock.Elapsed.TotalSeconds:0.0} s (every service caught up, sessions flushed, orders written)");
        return CommandLine.Ok;
    }

    public static Task<int> RunIngestorAsync(StackState state, string data, string speed, CancellationToken cancellationToken = default) =>
        RunIngestorAsync(state, data, speed, log: null, quiet: false, cancellationToken: cancellationToken);

    /// <summary>
    /// Runs the ingestor to completion. Its console log goes to <paramref name="log"/> (null: this process's stdout);
    /// <paramref name="quiet"/> keeps only its warnings and errors.
    /// </summary>
    public static async Task<int> RunIngestorAsync(
        StackState state, string data, string speed, TextWriter? log, bool quiet, string? replayId = null, string? reportFile = null,
        Action<int>? started = null, CancellationToken cancellationToken = default)
    {
        if (state.BrokerPid is { } broker && !BackgroundProcess.IsAlive(broker))
            throw new InvalidOperationException(LocalStack.BrokerLost(broker));
        var dll = LocalStack.ServiceBinary("ingestor");
        var start = new ProcessStartInfo(LocalStack.DotnetHost())
        {
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll),
            RedirectStandardOutput = log is not null,
        };
        start.ArgumentList.Add(dll);
        foreach (var (k, v) in state.Environment())
            start.Environment[k] = v;
        start.Environment["Ingestor__Data"] = data;
        start.Environment["Ingestor__Speed"] = speed;
        if (replayId is not null)
            start.Environment["Ingestor__ReplayId"] = replayId;
        if (reportFile is not null)
            start.Environment["Ingestor__ReportFile"] = reportFile;
        if (quiet)
            start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the ingestor");
        started?.Invoke(process.Id);
        if (log is not null)
        {
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                    log.WriteLine(e.Data);
            };
            process.BeginOutputReadLine();
        }

        try
        {
            // A service the supervisor finds failing again and again holds the ingestor back for good: stop it and say why.
            while (!await ExitedWithinAsync(process, TimeSpan.FromMilliseconds(500), cancellationToken))
            {
                if (LocalStack.Load(state.Root) is { } now && LocalStack.FailingMessage(now) is { } failing)
                {
                    await BackgroundProcess.StopAsync(process.Id, TimeSpan.FromSeconds(10));
                    throw new InvalidOperationException(failing);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped like the stack stops a service: it checkpoints what it sent, a later replay goes on from there.
            await BackgroundProcess.StopAsync(process.Id, TimeSpan.FromSeconds(10));
            throw;
        }

        return process.ExitCode;
    }

    /// <summary>The replay's one-line result: files sent (with rows), skipped as content already sent, failed to read.</summary>
    public static string Describe(ReplayReport report, TimeSpan elapsed) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"ingestor: replay {report.ReplayId}: {report.FilesSent} {Plural(report.FilesSent, "file")} sent ({report.RowsSent:N0} rows), "
            + $"{report.FilesSkipped} skipped (their content was sent already), {report.FilesFailed} failed (unreadable, tried again next replay) in {elapsed.TotalSeconds:0.0} s");

    private static string Plural(int count, string noun) => count == 1 ? noun : noun + "s";

    private static readonly (string Group, string[] Topics)[] Stages =
    [
        (ConsumerGroups.Validator, [Topics.RawEvents]),
        (ConsumerGroups.Sessionizer, [Topics.ValidEvents]),
        (ConsumerGroups.Attribution, [Topics.SessionizedEvents]),
        (ConsumerGroups.Monitor, [Topics.Metrics, Topics.DeadLetters, Topics.Sessions, Topics.AttributedOrders]),
    ];

    /// <summary>
    /// Waits until, in one pass from upstream to downstream, every stage has committed everything on its input. A
    /// stage commits only after its outputs are acknowledged, so when the last stage is done nothing is in flight.
    /// </summary>
    /// <summary>Which stage is behind and by how much, for a timeout's message.</summary>
    private static string Behind(StackState state)
    {
        try
        {
            var lags = Stages.Select(s => $"{s.Group} {ConsumerLag.Of(state.Kafka, s.Group, s.Topics, TimeSpan.FromSeconds(5))} behind");
            return "consumer lag: " + string.Join(", ", lags);
        }
        catch (Confluent.Kafka.KafkaException e)
        {
            return $"consumer lag unreadable: {e.Message}";
        }
    }

    private static string ServiceOf(string group) => group.StartsWith("puffy-", StringComparison.Ordinal) ? group["puffy-".Length..] : group;

    private static async Task<bool> ExitedWithinAsync(Process process, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(wait, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public static async Task WaitUntilProcessedAsync(StackState state, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // Read again each time: the supervisor records a restarted service's new pid.
            state = LocalStack.Load(state.Root) ?? state;
            if (state.BrokerPid is { } broker && !BackgroundProcess.IsAlive(broker))
                throw new InvalidOperationException(LocalStack.BrokerLost(broker));
            if (LocalStack.FailingMessage(state) is { } failing)
                throw new InvalidOperationException(failing);
            var supervised = state.SupervisorPid is { } supervisor && BackgroundProcess.IsAlive(supervisor);
            foreach (var (service, pid) in state.Services)
            {
                if (!supervised && !BackgroundProcess.IsAlive(pid))
                    throw new InvalidOperationException($"the {service} service is not running; its log ends with:\n{LocalStack.Tail(state.LogFile(service))}");
            }

            var behind = Stages.Select(s => (s.Group, Lag: ConsumerLag.Of(state.Kafka, s.Group, s.Topics, TimeSpan.FromSeconds(10))))
                .FirstOrDefault(s => s.Lag > 0);
            if (behind.Group is null)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not processed within {timeout}: {behind.Group} is {behind.Lag} messages behind (its log: {state.LogFile(ServiceOf(behind.Group))})");
            await Task.Delay(250, cancellationToken); // polling consumer lag
        }
    }
}
