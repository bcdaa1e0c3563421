using Puffy.Streaming.Embedded;
using Mapping = Puffy.Streaming.Embedded.HugePageHeap.Mapping;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>
/// <see cref="HugePageHeap"/> commits and marks only the collector's own reserved memory around the heap, and stops at
/// anything else (a stack's guard page, a file, a gap); the heap keeps working afterwards.
/// </summary>
public sealed class HugePageHeapUnitTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong Base = 0x7f00_0000_0000;

    private static Mapping Heap(ulong start, ulong end) => new(Base + start, Base + end, "rw-p", "", "rd wr mr mw me ac");

    private static Mapping Reserved(ulong start, ulong end) => new(Base + start, Base + end, "---p", "", "mr mw me dd");

    [Fact]
    public void Read_SmapsText_ParsesRangesPermissionsPathsAndFlags()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                55e99201a000-55e992289000 rw-p 00000000 00:00 0 
                Size:               2492 kB
                Rss:                2404 kB
                VmFlags: rd wr mr mw me ac 
                7f2999200000-7f299a88e000 ---p 00000000 00:00 0 
                Size:              23096 kB
                THPeligible:           0
                VmFlags: mr mw me dd 
                7f29a4b2d000-7f29a4c83000 r-xp 00028000 fd:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
                Size:               1368 kB
                VmFlags: rd ex mr mw me 
                """);

            var maps = HugePageHeap.Mappings.Read(path);

            Assert.Equal(3, maps.Count);
            Assert.Equal(new Mapping(0x55e99201a000, 0x55e992289000, "rw-p", "", "rd wr mr mw me ac"), maps[0]);
            Assert.True(maps[0].IsHeap);
            Assert.True(maps[1].IsReserved);
            Assert.Equal("/usr/lib/x86_64-linux-gnu/libc.so.6", maps[2].Path);
            Assert.False(maps[2].IsHeapOrReserved);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Plan_CollectorLayout_OpensOnlyTheReservedPiecesInsideTheWindow()
    {
        // Regions of 4 MiB: committed starts with reserved rest, as the collector leaves them.
        Mapping[] maps =
        [
            Reserved(0, 8 * MiB),
            Heap(8 * MiB, 9 * MiB),
            Reserved(9 * MiB, 12 * MiB),
            Heap(12 * MiB, 12 * MiB + 64 * 1024),
            Reserved(12 * MiB + 64 * 1024, 1024 * MiB),
        ];

        var plan = HugePageHeap.Plan(Base + 12 * MiB, 6 * MiB, 20 * MiB, maps);

        Assert.Null(plan.Refusal);
        Assert.Equal(Base + 6 * MiB, plan.Start);
        Assert.Equal(Base + 32 * MiB, plan.End);
        Assert.Equal(
            [(Base + 6 * MiB, Base + 8 * MiB), (Base + 9 * MiB, Base + 12 * MiB), (Base + 12 * MiB + 64 * 1024, Base + 32 * MiB)],
            plan.Open);
    }

    [Fact]
    public void Plan_GuardPageBelowAndFileAbove_StopsAtThem()
    {
        // A thread stack's guard page is inaccessible but not excluded from dumps: not the collector's.
        Mapping[] maps =
        [
            Heap(0, 8 * MiB),
            new(Base + 8 * MiB, Base + 8 * MiB + 4096, "---p", "", "mr mw me nh"),
            Reserved(8 * MiB + 4096, 12 * MiB),
            Heap(12 * MiB, 13 * MiB),
            Reserved(13 * MiB, 20 * MiB),
            new(Base + 20 * MiB, Base + 21 * MiB, "r--p", "/usr/lib/libx.so", "rd mr mw me"),
            Reserved(21 * MiB, 1024 * MiB),
        ];

        var plan = HugePageHeap.Plan(Base + 12 * MiB + 100, 32 * MiB, 256 * MiB, maps);

        Assert.Null(plan.Refusal);
        Assert.Equal(Base + 10 * MiB, plan.Start); // the first whole 2 MiB page above the guard page
        Assert.Equal(Base + 20 * MiB, plan.End);
        Assert.Equal([(Base + 10 * MiB, Base + 12 * MiB), (Base + 13 * MiB, Base + 20 * MiB)], plan.Open);
    }

    [Fact]
    public void Plan_GivenBackPageAboveTheHeapInsideTheReservation_WalksOnAndLeavesItClosed()
    {
        // The collector gives a region back with a fresh inaccessible mapping of its first page, without the dump flag.
        Mapping[] maps =
        [
            Heap(0, 4 * MiB),
            Reserved(4 * MiB, 8 * MiB),
            new(Base + 8 * MiB, Base + 8 * MiB + 4096, "---p", "", "mr mw me"),
            Reserved(8 * MiB + 4096, 4096 * MiB),
        ];

        var plan = HugePageHeap.Plan(Base + 100, 0, 16 * MiB, maps);

        Assert.Equal(Base + 16 * MiB, plan.End);
        Assert.Equal([(Base + 4 * MiB, Base + 8 * MiB), (Base + 8 * MiB + 4096, Base + 16 * MiB)], plan.Open);
    }

    [Fact]
    public void Plan_GuardPageAboveTheHeapNotLeadingToTheReservation_StopsThere()
    {
        Mapping[] maps =
        [
            Heap(0, 4 * MiB),
            Reserved(4 * MiB, 8 * MiB),
            new(Base + 8 * MiB, Base + 8 * MiB + 4096, "---p", "", "mr mw me"),
            new(Base + 8 * MiB + 4096, Base + 16 * MiB, "rw-p", "", "rd wr mr mw me ac"),
            new(Base + 16 * MiB, Base + 17 * MiB, "r--p", "/usr/lib/libx.so", "rd mr mw me"),
            Reserved(17 * MiB, 4096 * MiB),
        ];

        var plan = HugePageHeap.Plan(Base + 100, 0, 16 * MiB, maps);

        Assert.Equal(Base + 8 * MiB, plan.End);
        Assert.Equal([(Base + 4 * MiB, Base + 8 * MiB)], plan.Open);
    }

    [Fact]
    public void Plan_GapAboveTheHeap_StopsAtTheGap()
    {
        Mapping[] maps = [Heap(0, 4 * MiB), Reserved(4 * MiB, 6 * MiB), Reserved(7 * MiB, 64 * MiB)];

        var plan = HugePageHeap.Plan(Base + 100, 0, 256 * MiB, maps);

        Assert.Equal(Base + 6 * MiB, plan.End);
        Assert.Equal([(Base + 4 * MiB, Base + 6 * MiB)], plan.Open);
    }

    [Theory]
    [InlineData("r--p", "")]
    [InlineData("rw-p", "/tmp/file")]
    [InlineData("rw-s", "")]
    public void Plan_ProbeNotInAnonymousPrivateWritableMemory_Refuses(string permissions, string path)
    {
        Mapping[] maps = [new(Base, Base + 64 * MiB, permissions, path, "rd mr mw me"), Reserved(64 * MiB, 1024 * MiB)];

        var plan = HugePageHeap.Plan(Base + 100, 0, 256 * MiB, maps);

        Assert.NotNull(plan.Refusal);
        Assert.Empty(plan.Open);
    }

    [Fact]
    public void Plan_LessThanOneWholeHugePage_Refuses()
    {
        Mapping[] maps = [Heap(1 * MiB, 3 * MiB), new(Base + 3 * MiB, Base + 4 * MiB, "r--p", "/usr/lib/libx.so", "rd mr mw me")];

        var plan = HugePageHeap.Plan(Base + 2 * MiB, 8 * MiB, 8 * MiB, maps);

        Assert.NotNull(plan.Refusal);
    }

    [Fact]
    public void Enable_InThisProcess_CoversOnlyCollectorMemoryAndTheHeapKeepsItsObjects()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc/self/smaps is Linux's");
        Assert.SkipWhen(
            File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal),
            "transparent huge pages are off on this machine");
        var before = HugePageHeap.Mappings.Read("/proc/self/smaps");

        var result = HugePageHeap.Enable(belowMiB: 8, aboveMiB: 64);

        Assert.True(result.Applied, result.Reason);
        Assert.True(result.End > result.Start);
        // Everything in the range was the collector's before: committed heap or its reserved memory.
        foreach (var m in before.Where(m => m.End > result.Start && m.Start < result.End))
            Assert.True(m.IsHeapOrReserved, $"{m.Start:x}-{m.End:x} {m.Permissions} {m.Path} [{m.Flags}]");
        var after = HugePageHeap.Mappings.Read("/proc/self/smaps");
        Assert.Contains(after, m => m.Start >= result.Start && m.End <= result.End && m.Flags.Split(' ').Contains("hg"));

        // The heap grows into the range and keeps every object through a compacting collection.
        var arrays = new List<int[]>();
        for (var i = 0; i < 4096; i++)
            arrays.Add(Enumerable.Range(i, 4096).ToArray());
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        for (var i = 0; i < arrays.Count; i++)
            Assert.Equal((long)4096 * i + (4096L * 4095 / 2), arrays[i].Sum(x => (long)x));
    }
}
