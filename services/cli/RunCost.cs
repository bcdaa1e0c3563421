using System.Diagnostics;
using System.Globalization;

namespace Puffy.Streaming.Cli;

/// <summary>
/// What a stretch of the process cost: CPU of all its threads (the pipeline's, the database writer's, the collector's),
/// bytes allocated on the managed heap and collections per generation. CPU per event varies much less from one run
/// to the next on a shared machine than events/s, and bytes per event is what a change to the per-event objects moves.
/// </summary>
internal readonly record struct RunCost(TimeSpan Cpu, long AllocatedBytes, int Gen0, int Gen1, int Gen2)
{
    /// <summary>The process's totals so far.</summary>
    public static RunCost Now()
    {
        using var self = Process.GetCurrentProcess();
        return new RunCost(self.TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: true),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    public static RunCost operator -(RunCost after, RunCost before) =>
        new(after.Cpu - before.Cpu, after.AllocatedBytes - before.AllocatedBytes,
            after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2);

    public static RunCost operator +(RunCost a, RunCost b) =>
        new(a.Cpu + b.Cpu, a.AllocatedBytes + b.AllocatedBytes, a.Gen0 + b.Gen0, a.Gen1 + b.Gen1, a.Gen2 + b.Gen2);

    /// <summary>
    /// One line per measured run: <c>CPU 33.1 s = 6.62 µs/event; allocated 6.73 GB = 1,346 B/event; collections 12/3/1
    /// (gen 0/1/2)</c>. A collection counts in every generation up to its own, as the runtime counts them.
    /// </summary>
    public string Describe(long events)
    {
        var perEvent = Math.Max(1, events);
        return string.Create(CultureInfo.InvariantCulture,
            $"CPU {Cpu.TotalSeconds:0.0} s = {Cpu.TotalMicroseconds / perEvent:0.00} µs/event; allocated {AllocatedBytes / 1e9:0.00} GB = {(double)AllocatedBytes / perEvent:N0} B/event; collections {Gen0}/{Gen1}/{Gen2} (gen 0/1/2)");
    }
}
