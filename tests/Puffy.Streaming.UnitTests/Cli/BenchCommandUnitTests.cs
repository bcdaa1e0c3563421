using System.Runtime;
using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>The bench's header names the collector its figures were taken with; each run says what it cost.</summary>
public sealed class BenchCommandUnitTests
{
    [Fact]
    public void GcMode_TheTestProcess_NamesTheCollectorItRuns()
    {
        var mode = BenchCommand.GcMode();

        if (GCSettings.IsServerGC)
            Assert.Matches(@"^server GC, \d+ heaps?, dynamic adaptation (on|off)$", mode);
        else
            Assert.Equal("workstation GC", mode);
    }

    [Fact]
    public void RunCost_AcrossWork_CountsTheBytesAllocatedAndTheCollectionsMade()
    {
        var before = RunCost.Now();
        var kept = new List<byte[]>();
        for (var i = 0; i < 64; i++)
            kept.Add(new byte[16 * 1024]);
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);

        var cost = RunCost.Now() - before;

        Assert.Equal(64, kept.Count);
        Assert.True(cost.AllocatedBytes >= 64 * 16 * 1024, $"allocated {cost.AllocatedBytes} bytes");
        Assert.True(cost.Gen1 >= 1, $"gen 1 collections {cost.Gen1}");
        Assert.True(cost.Gen0 >= cost.Gen1, "a gen 1 collection counts in gen 0 too");
        Assert.True(cost.Cpu >= TimeSpan.Zero);
    }

    [Fact]
    public void RunCost_Describe_GivesCpuAndBytesPerEvent()
    {
        var cost = new RunCost(TimeSpan.FromSeconds(33.1), 6_730_000_000, 12, 3, 1);

        Assert.Equal("CPU 33.1 s = 6.62 µs/event; allocated 6.73 GB = 1,346 B/event; collections 12/3/1 (gen 0/1/2)", cost.Describe(5_000_000));
    }

    [Fact]
    public void RunCost_LeavingOutAPause_SubtractsEachFigure()
    {
        var run = new RunCost(TimeSpan.FromSeconds(10), 1_000, 9, 4, 2);
        var pause = new RunCost(TimeSpan.FromSeconds(1), 100, 1, 1, 1);

        Assert.Equal(new RunCost(TimeSpan.FromSeconds(9), 900, 8, 3, 1), run - pause);
        Assert.Equal(run, run - pause + pause);
    }
}
