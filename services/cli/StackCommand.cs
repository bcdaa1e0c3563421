using System.Diagnostics;
using System.Globalization;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka.Streams;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy stack up|down|status</c> and <c>puffy replay</c>.</summary>
internal static class StackCommand
{
    public static async Task<int> ExecuteAsync(string action, Dictionary<string, string?> options)
    {
        var root = CommandLine.Optional(options, "state") is { } state ? Path.GetFullPath(state) : LocalStack.DefaultRoot;
        switch (action)
        {
            case "up":
                var partitions = int.Parse(CommandLine.Optional(options, "partitions") ?? "4", CultureInfo.InvariantCulture);
                await LocalStack.UpAsync(root, partitions, Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP"), Console.Out);
                Console.Out.WriteLine($"stack up (state in {root}); replay with: ./puffy replay --data data/puffy-events --wait");
                return CommandLine.Ok;
            case "down":
                await LocalStack.DownAsync(root, Console.Out);
                return CommandLine.Ok;
            case "status":
                return await LocalStack.StatusAsync(root, Console.Out) ? CommandLine.Ok : CommandLine.Failed;
            default:
                throw new UsageException($"unknown stack action '{action}' (up, down or status)");
        }
    }

    /// <summary>Runs the ingestor against the stack; with --wait, returns once every service has processed everything.</summary>
    public static async Task<int> ReplayAsync(Dictionary<string, string?> options)
    {
        var root = CommandLine.Optional(options, "state") is { } s ? Path.GetFullPath(s) : LocalStack.DefaultRoot;
        var state = LocalStack.Load(root) ?? throw new UsageException($"no stack is up in {root} (run 'puffy stack up' first)");
        var data = Path.GetFullPath(CommandLine.Required(options, "data"));
        var files = CommandLine.DataFiles(data);
        var speed = CommandLine.Optional(options, "speed") ?? "max";
        if (!Pipeline.Ingest.ReplaySpeed.TryParse(speed, out _))
            throw new UsageException($"--speed '{speed}' is not max, realtime or a factor like 10x");
        var timeout = CommandLine.Optional(options, "timeout") is { } t ? CommandLine.ParseDuration(t) : TimeSpan.FromMinutes(30);

        var clock = Stopwatch.StartNew();
        var exit = await RunIngestorAsync(state, data, speed);
        if (exit != 0)
        {
            Console.Error.WriteLine($"puffy: the ingestor failed with exit code {exit}");
            return CommandLine.Failed;
        }

        var sent = clock.Elapsed;
        Console.Out.WriteLine($"ingestor: {files.Count} files sent in {sent.TotalSeconds:0.0} s");
        if (!CommandLine.Flag(options, "wait"))
            return CommandLine.Ok;
        await WaitUntilProcessedAsync(state, timeout, CancellationToken.None);
        Console.Out.WriteLine($"replay processed end to end in {clock.Elapsed.TotalSeconds:0.0} s (every service caught up, sessions flushed, orders written)");
        return CommandLine.Ok;
    }

    public static async Task<int> RunIngestorAsync(StackState state, string data, string speed, CancellationToken cancellationToken = default)
    {
        var dll = LocalStack.ServiceBinary("ingestor");
        var start = new ProcessStartInfo(LocalStack.DotnetHost()) { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(dll) };
        start.ArgumentList.Add(dll);
        foreach (var (k, v) in state.Environment())
            start.Environment[k] = v;
        start.Environment["Ingestor__Data"] = data;
        start.Environment["Ingestor__Speed"] = speed;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the ingestor");
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

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
    public static async Task WaitUntilProcessedAsync(StackState state, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var (service, pid) in state.Services)
            {
                if (!BackgroundProcess.IsAlive(pid))
                    throw new InvalidOperationException($"the {service} service is not running; its log ends with:\n{LocalStack.Tail(state.LogFile(service))}");
            }

            var behind = Stages.Select(s => (s.Group, Lag: ConsumerLag.Of(state.KafkaBootstrap, s.Group, s.Topics, TimeSpan.FromSeconds(10))))
                .FirstOrDefault(s => s.Lag > 0);
            if (behind.Group is null)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not processed within {timeout}: {behind.Group} is {behind.Lag} messages behind");
            await Task.Delay(250, cancellationToken); // polling consumer lag
        }
    }
}
