using System.Diagnostics;
using System.Globalization;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.Cli;

/// <summary>
/// Samples, once a second while a stack replay runs, the resident memory of each service and of Redis (from /proc) and
/// Redis's own <c>used_memory</c> and key count, so a report can show whether state stays flat over a long replay.
/// </summary>
internal sealed class StackSampler
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly StackState _state;
    private readonly List<Sample> _samples = [];
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _loop;

    public StackSampler(StackState state)
    {
        _state = state;
        _loop = Task.Run(LoopAsync);
    }

    private sealed record Sample(TimeSpan At, IReadOnlyDictionary<string, long?> RssKiB, long? RedisRssKiB, RedisMemory? Redis);

    /// <summary>Stops sampling; a second call does nothing.</summary>
    public async Task StopAsync()
    {
        _stop.TrySetResult();
        await _loop;
    }

    /// <summary>Takes a last sample, stops, and writes the timeline: about <paramref name="rows"/> rows evenly spread in time.</summary>
    public async Task ReportAsync(TextWriter output, int rows = 10)
    {
        await StopAsync();
        await TakeAsync(CancellationToken.None);
        var services = _state.Services.Keys.ToList();
        output.WriteLine($"  memory over time (RSS MiB per process; Redis used_memory MiB and keys), {_samples.Count} samples:");
        output.WriteLine("  " + string.Join(" ", services.Select(s => $"{s,11}").Prepend("     t").Concat(["  redis RSS", "redis used", "      keys"])));
        var step = Math.Max(1, (_samples.Count - 1) / Math.Max(1, rows - 1));
        var picked = _samples.Where((_, i) => i % step == 0).ToList();
        if (picked[^1] != _samples[^1])
            picked.Add(_samples[^1]);
        foreach (var s in picked)
            output.WriteLine("  " + Row($"{s.At.TotalSeconds,5:0}s", services.Select(n => MiB(s.RssKiB.GetValueOrDefault(n) * 1024)), s));
        output.WriteLine("  " + Row("  peak", services.Select(n => MiB(_samples.Max(x => x.RssKiB.GetValueOrDefault(n)) * 1024)),
            new Sample(TimeSpan.Zero, new Dictionary<string, long?>(), _samples.Max(x => x.RedisRssKiB),
                new RedisMemory(_samples.Max(x => x.Redis?.UsedMemory ?? 0), _samples.Max(x => x.Redis?.Keys ?? 0)))));
    }

    private static string Row(string at, IEnumerable<string> services, Sample s) =>
        string.Join(" ", services.Select(v => $"{v,11}").Prepend(at)
            .Concat([$"{MiB(s.RedisRssKiB * 1024),11}", $"{MiB(s.Redis?.UsedMemory),10}", $"{(s.Redis is { } r ? r.Keys.ToString("N0", CultureInfo.InvariantCulture) : "?"),10}"]));

    private static string MiB(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) : "?";

    private async Task LoopAsync()
    {
        while (!_stop.Task.IsCompleted)
        {
            await TakeAsync(CancellationToken.None);
            await Task.WhenAny(Task.Delay(Interval), _stop.Task); // the sampling cadence, not a synchronisation
        }
    }

    private async Task TakeAsync(CancellationToken cancellationToken)
    {
        var rss = _state.Services.ToDictionary(s => s.Key, s => ResidentKiB(s.Value), StringComparer.Ordinal);
        var redis = await LocalRedis.Attach(Path.Combine(_state.Root, "redis"), _state.RedisPort, _state.RedisPid).MemoryAsync(cancellationToken);
        _samples.Add(new Sample(_clock.Elapsed, rss, ResidentKiB(_state.RedisPid), redis));
    }

    /// <summary>VmRSS of a process in KiB, from /proc; null when it is gone.</summary>
    internal static long? ResidentKiB(int pid) => StatusKiB(pid, "VmRSS:");

    /// <summary>VmHWM (peak resident memory) of a process in KiB, from /proc; null when it is gone.</summary>
    internal static long? PeakResidentKiB(int pid) => StatusKiB(pid, "VmHWM:");

    // A "Name:   N kB" line of /proc/PID/status.
    private static long? StatusKiB(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is not null && long.TryParse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture, out var kib) ? kib : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
