using System.Runtime;
using Puffy.Streaming.Cli;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>The bench's header names the collector its figures were taken with.</summary>
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
}
