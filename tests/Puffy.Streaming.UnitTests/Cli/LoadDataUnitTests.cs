using Puffy.Streaming.Cli;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>The load-test inputs: generated traffic at a set rate, and the dense scale-up of the real data.</summary>
public sealed class LoadDataUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-loaddata-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RunSummary Embedded(IReadOnlyList<string> files)
    {
        var builder = new SummaryBuilder();
        new EmbeddedPipeline(new PipelineOptions(), builder).Run(files, cancellationToken: TestContext.Current.CancellationToken);
        return builder.Complete();
    }

    [Fact]
    public void Sustained_RateOverAWindowAcrossMidnight_WritesThatManyValidEventsWithSessionsAndOrders()
    {
        var (files, events) = LoadData.Sustained(_dir, eventsPerSecond: 50, TimeSpan.FromMinutes(4), new DateTime(2025, 3, 1, 23, 58, 0, DateTimeKind.Utc));

        Assert.Equal(50 * 240, events);
        Assert.Equal(["events_20250301.csv", "events_20250302.csv"], files.Select(Path.GetFileName));
        var summary = Embedded(files);
        Assert.Equal(events, summary.RowsRead);
        Assert.Equal(events, summary.Valid);
        Assert.InRange(summary.Sessions, 1000, events);
        Assert.True(summary.Orders > 0, "no orders generated");
    }

    [Fact]
    public void Dense_ThreeCopiesOfTheRealData_TripleTheRowsInTheSameDaysWithTheirOwnClients()
    {
        var real = Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal).Take(2).ToList();
        var dense = LoadData.Dense(real, 3, Path.Combine(_dir, "dense"), TextWriter.Null);

        Assert.Equal(real.Select(Path.GetFileName), dense.Select(Path.GetFileName));
        var once = Embedded(real);
        var thrice = Embedded(dense);
        Assert.Equal(3 * once.RowsRead, thrice.RowsRead);
        Assert.Equal(once.RowsPerFile.Keys, thrice.RowsPerFile.Keys);
        // Each copy's identifiable rows are new clients with new orders; an unidentifiable row's copies are duplicates.
        Assert.Equal(3 * once.Orders, thrice.Orders);
        Assert.Equal(3 * once.Revenue, thrice.Revenue);
        Assert.True(thrice.Sessions >= 3 * once.Sessions, $"{thrice.Sessions} sessions from {once.Sessions}");
    }
}
