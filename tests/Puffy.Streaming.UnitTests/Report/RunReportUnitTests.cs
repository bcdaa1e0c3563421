using System.Text.Json;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Embedded.Report;

namespace Puffy.Streaming.UnitTests.Report;

/// <summary>
/// <c>puffy run</c> renders its report from the run's figures instead of reading puffy.db back: the model must be the
/// one <see cref="SqliteReport"/> reads from that puffy.db, on the real data and on files that break in other ways.
/// </summary>
public sealed class RunReportUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-run-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (ReportModel FromRun, ReportModel FromDb) Run(IReadOnlyList<string> files)
    {
        var path = Path.Combine(_dir, "puffy.db");
        var builder = new SummaryBuilder();
        RunSummary summary;
        using (var db = new SqliteSink(path))
        {
            new EmbeddedPipeline(new PipelineOptions(), new CompositeSink(builder, db)).Run(files);
            summary = builder.Complete();
            db.Complete(summary);
        }

        return (RunReport.Load(summary), SqliteReport.Load(path));
    }

    [Fact]
    public void Load_RealData_EqualsTheModelReadFromPuffyDb()
    {
        var (fromRun, fromDb) = Run(Directory.GetFiles(RepoPaths.RealData, "*.csv"));

        Assert.Equal(JsonSerializer.Serialize(fromDb), JsonSerializer.Serialize(fromRun));
        Assert.Equal(32_380, fromRun.Kpis.Sessions);
        Assert.Equal(290, fromRun.Kpis.Orders);
    }

    [Fact]
    public void Load_FilesWithoutADayBrokenHeaderOrNoRows_EqualsTheModelReadFromPuffyDb()
    {
        var data = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        var real = Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal).ToList();
        File.Copy(real[0], Path.Combine(data, Path.GetFileName(real[0])));
        // A day's rows under a name without a date, and with a row changed so it is not a copy of a file read before.
        var lines = File.ReadAllLines(real[1]);
        lines[1] = lines[1].Replace("page_viewed", "page_viewd", StringComparison.Ordinal);
        File.WriteAllLines(Path.Combine(data, "export.csv"), lines);
        File.WriteAllText(Path.Combine(data, "events_20250310.csv"), "not,a,header\n1,2,3\n");
        File.WriteAllText(Path.Combine(data, "events_20250311.csv"), string.Empty);

        var (fromRun, fromDb) = Run(Directory.GetFiles(data, "*.csv"));

        Assert.Equal(JsonSerializer.Serialize(fromDb), JsonSerializer.Serialize(fromRun));
        Assert.Equal(4, fromRun.Quality.Count);
        Assert.Contains(fromRun.Quality, f => f.Day is null && f.File == "export.csv");
        Assert.Contains(fromRun.Reasons, r => r == "unknown_event_name");
    }
}
