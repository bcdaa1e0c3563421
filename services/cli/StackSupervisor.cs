using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.Cli;

/// <summary>
/// <c>puffy stack supervise</c>, started by <c>stack up</c> in the background: restarts a service of the stack that
/// exited, as compose's <c>restart: unless-stopped</c> would, with backoff — 1 s after a service that ran for a minute
/// or more, doubling up to 30 s while it keeps dying young. A restart asked for (<c>stack restart</c>) is immediate.
/// Every restart is logged with the end of the service's log. It ends when the stack goes down.
/// </summary>
internal static class StackSupervisor
{
    private static readonly TimeSpan Healthy = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var state = CliOptions.State();
        var command = new Command("supervise", "Restarts the stack's services when they exit, with backoff (started by 'stack up').") { state };
        command.Hidden = true;
        command.SetAction((r, ct) => RunAsync(r.GetValue(state) is { } s ? Path.GetFullPath(s) : LocalStack.DefaultRoot, r.InvocationConfiguration.Output, ct));
        return command;
    }

    /// <summary>Asks for an immediate restart of <paramref name="service"/> once it exits (instead of backoff).</summary>
    public static void RequestRestart(string root, string service)
    {
        var folder = Path.Combine(root, "restart");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, service), DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
    }

    /// <summary>How long to wait before restarting a service that had <paramref name="quickDeaths"/> short runs in a row before this one.</summary>
    public static TimeSpan Backoff(int quickDeaths) =>
        TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(quickDeaths, 20)));

    private static async Task<int> RunAsync(string root, TextWriter output, CancellationToken cancellationToken)
    {
        var watched = new Dictionary<string, Watch>(StringComparer.Ordinal);
        output.WriteLine($"{Now()} supervising the services of {root}");
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (LocalStack.Load(root) is not { } state)
                    {
                        output.WriteLine($"{Now()} the stack is gone; stopping");
                        return CommandLine.Ok;
                    }

                    if (state.BrokerPid is { } broker && !BackgroundProcess.IsAlive(broker))
                    {
                        // Restarting the services (or the broker) would run on with the offsets and state of topics that no
                        // longer exist: stop them and say why.
                        output.WriteLine($"{Now()} {LocalStack.BrokerLost(broker)}; stopping the services");
                        foreach (var (service, pid) in state.Services)
                            await BackgroundProcess.StopAsync(pid, TimeSpan.FromSeconds(15));
                        return CommandLine.Failed;
                    }

                    foreach (var service in state.Services.Keys.ToList())
                    {
                        var pid = state.Services.GetValueOrDefault(service);
                        if (!watched.TryGetValue(service, out var w) || w.Pid != pid)
                            watched[service] = w = new Watch(pid);
                        if (BackgroundProcess.IsAlive(pid))
                            continue;
                        var requested = Path.Combine(root, "restart", service);
                        var asked = File.Exists(requested);
                        if (w.DiedAt is null)
                        {
                            w.DiedAt = Stopwatch.StartNew();
                            var young = w.Running.Elapsed < Healthy;
                            w.Delay = asked ? TimeSpan.Zero : Backoff(young ? w.QuickDeaths : 0);
                            if (!asked)
                                w.QuickDeaths = young ? w.QuickDeaths + 1 : 1;
                            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{Now()} {service} (pid {pid}) exited after {w.Running.Elapsed.TotalSeconds:0} s{(asked ? " (restart asked for)" : "")}; restarting in {w.Delay.TotalSeconds:0} s; its log ends with:\n{LocalStack.Tail(state.LogFile(service), 5)}"));
                        }

                        if (w.DiedAt.Elapsed < w.Delay)
                            continue;
                        if (asked)
                            File.Delete(requested);
                        var started = LocalStack.StartService(state, service);
                        LocalStack.Update(root, s =>
                        {
                            if (s is null)
                                return null;
                            var restarts = s.Restarts ?? new Dictionary<string, int>(StringComparer.Ordinal);
                            restarts[service] = restarts.GetValueOrDefault(service) + 1;
                            return s with { Restarts = restarts };
                        });
                        watched[service] = new Watch(started) { QuickDeaths = w.QuickDeaths };
                        output.WriteLine($"{Now()} {service} restarted: pid {started}");
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException)
                {
                    // One failed round (a file being replaced, a service binary missing) must not end the supervision.
                    output.WriteLine($"{Now()} {e.GetType().Name}: {e.Message}; trying again");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken); // polling the services' pids
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM from stack down.
        }

        output.WriteLine($"{Now()} stopped");
        return CommandLine.Ok;
    }

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private sealed class Watch(int pid)
    {
        public int Pid { get; } = pid;

        public Stopwatch Running { get; } = Stopwatch.StartNew();

        public Stopwatch? DiedAt { get; set; }

        public int QuickDeaths { get; set; }

        public TimeSpan Delay { get; set; }
    }
}
