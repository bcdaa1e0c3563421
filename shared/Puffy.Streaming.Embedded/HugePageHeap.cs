using System.Globalization;
using System.Runtime.InteropServices;

namespace Puffy.Streaming.Embedded;

/// <summary>What <see cref="HugePageHeap.Enable"/> did: whether it applied, why not, and the address range it covered.</summary>
public readonly record struct HugePageHeapResult(bool Applied, string Reason, ulong Start, ulong End, ulong OpenedBytes);

/// <summary>
/// Lets the garbage collector's next allocations land on 2 MiB pages (transparent huge pages) for a short run.
/// A fresh 4 KiB page costs a page fault on first touch; on this machine a fault costs about 12 µs, so the 60 MiB a run
/// of the real data touches cost a fifth of its CPU. With 2 MiB pages the same memory takes 1/512 of the faults.
/// <para>
/// The kernel backs a range with a huge page only when the whole 2 MiB is one mapping, writable and marked
/// <c>MADV_HUGEPAGE</c> at the time of the first touch. The collector commits its reserved range 64 KiB at a time
/// (<c>mprotect</c>, <c>MADV_DODUMP</c>), so each first touch falls in a 64 KiB mapping. This class commits the part of
/// the reservation around the current allocations in one step, with the same two calls, and marks it for huge pages:
/// the collector's own commits there then change nothing. Only pieces of the collector's reservation are touched
/// (anonymous, inaccessible and excluded from core dumps, next to a live object); anything else in the way stops it,
/// and then it does nothing. Memory is still only used once touched, and the collector still decommits what it frees.
/// </para>
/// </summary>
public static partial class HugePageHeap
{
    /// <summary>Set to <c>0</c> to leave the heap as the runtime sets it up.</summary>
    public const string Variable = "PUFFY_HUGE_PAGES";

    private const ulong HugePage = 2UL << 20;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MadvHugePage = 14;
    private const int MadvDoDump = 17;

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>
    /// Covers up to <paramref name="belowMiB"/> below and <paramref name="aboveMiB"/> above the current allocations.
    /// Call it first thing in a short-lived process, before the heap grows.
    /// </summary>
    public static HugePageHeapResult Enable(int belowMiB = 32, int aboveMiB = 256)
    {
        if (!OperatingSystem.IsLinux())
            return NotApplied("not Linux");
        if (Environment.GetEnvironmentVariable(Variable) == "0")
            return NotApplied($"{Variable}=0");
        try
        {
            if (File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal))
                return NotApplied("transparent huge pages are off");
            return Apply(ProbeAddress(), (ulong)belowMiB << 20, (ulong)aboveMiB << 20, Mappings.Read("/proc/self/smaps"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or EntryPointNotFoundException or DllNotFoundException)
        {
            return NotApplied(e.Message);
        }
    }

    private static HugePageHeapResult NotApplied(string reason) => new(false, reason, 0, 0, 0);

    /// <summary>The address of a newly allocated object: it sits in the region the collector allocates in now.</summary>
    private static ulong ProbeAddress()
    {
        var probe = new byte[16];
        var handle = GCHandle.Alloc(probe, GCHandleType.Pinned);
        try
        {
            return (ulong)handle.AddrOfPinnedObject();
        }
        finally
        {
            handle.Free();
        }
    }

    private static HugePageHeapResult Apply(ulong probe, ulong below, ulong above, List<Mapping> maps)
    {
        var plan = Plan(probe, below, above, maps);
        if (plan.Refusal is { } refusal)
            return NotApplied(refusal);

        ulong opened = 0;
        foreach (var (s, e) in plan.Open)
        {
            if (Mprotect((nint)s, (nuint)(e - s), ProtRead | ProtWrite) != 0)
                return new(opened > 0, $"mprotect failed (errno {Marshal.GetLastPInvokeError()})", plan.Start, plan.End, opened);
            opened += e - s;
        }

        // One set of flags over the range, so the collector's later MADV_DODUMP on each commit splits nothing.
        _ = Madvise((nint)plan.Start, (nuint)(plan.End - plan.Start), MadvDoDump);
        var advised = Madvise((nint)plan.Start, (nuint)(plan.End - plan.Start), MadvHugePage) == 0;
        return new(true, advised ? "applied" : $"madvise failed (errno {Marshal.GetLastPInvokeError()})", plan.Start, plan.End, opened);
    }

    /// <summary>The range to mark (2 MiB aligned) and the reserved pieces in it to commit; or why not.</summary>
    internal readonly record struct HugePagePlan(ulong Start, ulong End, IReadOnlyList<(ulong Start, ulong End)> Open, string? Refusal);

    /// <summary>
    /// Widens from the probe object's mapping, up to <paramref name="below"/> and <paramref name="above"/> bytes away,
    /// while the neighbours are the collector's memory: committed (anonymous, writable) or reserved (anonymous,
    /// inaccessible, excluded from core dumps). The first other mapping (a file, a stack's guard page, a gap) ends it;
    /// above the heap, an inaccessible page that lies inside the reservation does not.
    /// </summary>
    internal static HugePagePlan Plan(ulong probe, ulong below, ulong above, IReadOnlyList<Mapping> maps)
    {
        var at = -1;
        for (var i = 0; i < maps.Count && at < 0; i++)
        {
            if (maps[i].Start <= probe && probe < maps[i].End)
                at = i;
        }

        if (at < 0 || !maps[at].IsHeap)
            return Refused("the probe object is not in an anonymous writable mapping");

        var low = probe - Math.Min(probe, below);
        var high = probe + above;
        var first = at;
        while (first > 0 && maps[first].Start > low && maps[first - 1].End == maps[first].Start && maps[first - 1].IsHeapOrReserved)
            first--;
        var last = at;
        while (last + 1 < maps.Count && maps[last].End < high && maps[last + 1].Start == maps[last].End
               && (maps[last + 1].IsHeapOrReserved || (maps[last + 1].IsInaccessible && LeadsToReservation(maps, last + 1))))
            last++;
        var start = AlignUp(Math.Max(maps[first].Start, low));
        var end = AlignDown(Math.Min(maps[last].End, high));
        if (end < start + HugePage)
            return Refused("no whole 2 MiB page next to the heap");

        var open = new List<(ulong Start, ulong End)>();
        for (var i = first; i <= last; i++)
        {
            var s = Math.Max(maps[i].Start, start);
            var e = Math.Min(maps[i].End, end);
            if (maps[i].IsReserved && s < e)
                open.Add((s, e));
        }

        return new(start, end, open, null);
    }

    private static HugePagePlan Refused(string reason) => new(0, 0, [], reason);

    /// <summary>
    /// Whether anonymous mappings run on without a gap from <paramref name="from"/> to the rest of the collector's
    /// reservation (a reserved mapping of a gibibyte or more): then everything on the way lies inside the reservation,
    /// such as the first page of a region the collector gave back (inaccessible, but not marked as excluded from dumps).
    /// </summary>
    private static bool LeadsToReservation(IReadOnlyList<Mapping> maps, int from)
    {
        for (var i = from; i < maps.Count; i++)
        {
            if (i > from && maps[i].Start != maps[i - 1].End)
                return false;
            if (maps[i].IsReserved && maps[i].End - maps[i].Start >= 1UL << 30)
                return true;
            if (!maps[i].IsHeap && !maps[i].IsInaccessible)
                return false;
        }

        return false;
    }

    private static ulong AlignUp(ulong address) => (address + HugePage - 1) & ~(HugePage - 1);

    private static ulong AlignDown(ulong address) => address & ~(HugePage - 1);

    /// <summary>One line of <c>/proc/self/smaps</c> with its flags.</summary>
    internal readonly record struct Mapping(ulong Start, ulong End, string Permissions, string Path, string Flags)
    {
        private bool Anonymous => Path.Length == 0;

        private bool HasFlag(string flag) => (" " + Flags + " ").Contains(" " + flag + " ", StringComparison.Ordinal);

        /// <summary>Committed collector memory: anonymous, private, readable and writable, not a stack.</summary>
        public bool IsHeap => Anonymous && Permissions == "rw-p" && !HasFlag("gd");

        /// <summary>Reserved collector memory: anonymous, inaccessible and excluded from core dumps (a thread's guard page is not).</summary>
        public bool IsReserved => Anonymous && Permissions == "---p" && HasFlag("dd");

        public bool IsHeapOrReserved => IsHeap || IsReserved;

        /// <summary>Anonymous and inaccessible: reserved memory, or a guard page.</summary>
        public bool IsInaccessible => Anonymous && Permissions == "---p";
    }

    internal static class Mappings
    {
        /// <summary>
        /// The mappings listed in <paramref name="path"/>. The kernel writes the list as it is read, so the text is read
        /// whole into memory the collector does not manage (allocating while reading can change the heap's mappings)
        /// before anything is parsed; a list that still came out overlapping or unsorted is read again.
        /// </summary>
        public static List<Mapping> Read(string path)
        {
            for (var attempt = 1; ; attempt++)
            {
                var maps = Parse(ReadAll(path));
                if (attempt == 3 || IsOrdered(maps))
                    return maps;
            }
        }

        private static bool IsOrdered(List<Mapping> maps)
        {
            for (var i = 0; i < maps.Count; i++)
            {
                if (maps[i].End <= maps[i].Start || (i > 0 && maps[i].Start < maps[i - 1].End))
                    return false;
            }

            return true;
        }

        private static unsafe string ReadAll(string path)
        {
            const int Size = 4 << 20;
            var buffer = (byte*)NativeMemory.Alloc(Size);
            try
            {
                var total = 0;
                using (var handle = File.OpenHandle(path))
                {
                    int n;
                    while (total < Size && (n = RandomAccess.Read(handle, new Span<byte>(buffer + total, Size - total), total)) > 0)
                        total += n;
                }

                return System.Text.Encoding.UTF8.GetString(buffer, total);
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }

        private static List<Mapping> Parse(string text)
        {
            var maps = new List<Mapping>();
            (ulong Start, ulong End, string Permissions, string Path)? current = null;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("VmFlags:", StringComparison.Ordinal))
                {
                    if (current is { } c)
                        maps.Add(new Mapping(c.Start, c.End, c.Permissions, c.Path, line["VmFlags:".Length..].Trim()));
                    current = null;
                    continue;
                }

                var dash = line.IndexOf('-', StringComparison.Ordinal);
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (dash <= 0 || space < dash || !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start))
                    continue;
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                current = (start, ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                    parts[1], parts.Length == 6 ? parts[5].Trim() : string.Empty);
            }

            return maps;
        }
    }
}
