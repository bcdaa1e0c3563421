using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.Cli;

/// <summary>
/// <c>puffy stack supervise</c>, started by <c>stack up</c> in the background: restarts a service of the stack that
/// exited, as compose's <c>restart: unless-stopped</c> would, with backoff — 1 s after a service that ran for a minute
/// or more, doubling up to 30 s while it keeps dying young. A restart asked for (<c>stack restart</c>) is immediate.
/// Every restart is logged with why the service stopped. A service that stops the same way (the same Fatal line and
/// exception) <see cref="FailingAfter"/> times in a row, each within a minute of starting, is recorded in the stack's
/// state as failing with that reason, so that a replay waiting on the stack ends with it instead of waiting through
/// restarts that cannot help; it is still restarted, and the record goes once it has run for a minute or is restarted on
/// purpose. It ends when the stack goes down.
/// </summary>
internal static class StackSupervisor
{
    private static readonly TimeSpan Healthy = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>Young deaths in a row, for the same reason, that make a service failing.</summary>
    public const int FailingAfter = 3;

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
                        // A pid this supervisor did not start: its lines begin where the log ended when it was first seen, or
                        // at the start when the supervisor has just begun (stack up starts the services before it).
                        if (!watched.TryGetValue(service, out var w) || w.Pid != pid)
                            watched[service] = w = new Watch(pid, w is null ? 0 : LogLength(state, service));
                        if (BackgroundProcess.IsAlive(pid))
                        {
                            if (w.Running.Elapsed >= Healthy && state.Failing?.ContainsKey(service) == true)
                            {
                                SetFailing(root, service, null);
                                output.WriteLine($"{Now()} {service} has run for a minute; no longer failing");
                            }

                            continue;
                        }

                        var requested = Path.Combine(root, "restart", service);
                        var asked = File.Exists(requested);
                        if (w.DiedAt is null)
                        {
                            w.DiedAt = Stopwatch.StartNew();
                            var young = w.Running.Elapsed < Healthy;
                            w.Delay = asked ? TimeSpan.Zero : Backoff(young ? w.QuickDeaths : 0);
                            if (!asked)
                                w.QuickDeaths = young ? w.QuickDeaths + 1 : 1;
                            var reason = LocalStack.FailureOf(state.LogFile(service), w.LogStart);
                            // Only young deaths with a Fatal line count, and only the same one in a row.
                            w.SameFailures = asked || !young || reason is null ? 0 : reason == w.LastFailure ? w.SameFailures + 1 : 1;
                            w.LastFailure = reason;
                            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{Now()} {service} (pid {pid}) exited after {w.Running.Elapsed.TotalSeconds:0} s{(asked ? " (restart asked for)" : "")}; restarting in {w.Delay.TotalSeconds:0} s; {(reason is null ? "it logged no Fatal line; its log ends with:\n" + LocalStack.Tail(state.LogFile(service), 5) : "it stopped with: " + reason)}"));
                            if (w.SameFailures >= FailingAfter)
                            {
                                SetFailing(root, service, string.Create(CultureInfo.InvariantCulture, $"{reason} ({w.SameFailures} times in a row, each within a minute of starting)"));
                                output.WriteLine($"{Now()} {service} is failing: it stopped the same way {w.SameFailures} times in a row");
                            }
                        }

                        if (asked)
                        {
                            // Asked for (e.g. with new settings), also while waiting out a backoff: at once, and judged afresh.
                            File.Delete(requested);
                            w.SameFailures = 0;
                            if (state.Failing?.ContainsKey(service) == true)
                                SetFailing(root, service, null);
                        }
                        else if (w.DiedAt.Elapsed < w.Delay)
                        {
                            continue;
                        }

                        var logStart = LogLength(state, service);
                        var started = LocalStack.StartService(state, service);
                        LocalStack.Update(root, s =>
                        {
                            if (s is null)
                                return null;
                            var restarts = s.Restarts ?? new Dictionary<string, int>(StringComparer.Ordinal);
                            restarts[service] = restarts.GetValueOrDefault(service) + 1;
                            return s with { Restarts = restarts };
                        });
                        watched[service] = new Watch(started, logStart) { QuickDeaths = w.QuickDeaths, SameFailures = w.SameFailures, LastFailure = w.LastFailure };
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

    private static long LogLength(StackState state, string service)
    {
        var file = new FileInfo(state.LogFile(service));
        return file.Exists ? file.Length : 0;
    }

    private static void SetFailing(string root, string service, string? reason) =>
        LocalStack.Update(root, s =>
        {
            if (s is null)
                return null;
            var failing = new Dictionary<string, string>(s.Failing ?? [], StringComparer.Ordinal);
            if (reason is null)
                failing.Remove(service);
            else
                failing[service] = reason;
            return s with { Failing = failing.Count > 0 ? failing : null };
        });

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private sealed class Watch(int pid, long logStart)
    {
        public int Pid { get; } = pid;

        /// <summary>Where this run's lines begin in the service's log (the log is appended to across restarts).</summary>
        public long LogStart { get; } = logStart;

        /// <summary>Young deaths in a row that ended with <see cref="LastFailure"/>.</summary>
        public int SameFailures { get; set; }

        public string? LastFailure { get; set; }

        public Stopwatch Running { get; } = Stopwatch.StartNew();

        public Stopwatch? DiedAt { get; set; }

        public int QuickDeaths { get; set; }

        public TimeSpan Delay { get; set; }
    }
}
