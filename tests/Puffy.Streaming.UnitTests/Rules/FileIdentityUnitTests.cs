using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Cli;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Files on disk in the embedded run: a file is known by its content (a copy is read once), and a file that cannot be
/// opened or read — a dangling link, a name that is not UTF-8 — is accounted in file_stats as unreadable, with its
/// reason and a <c>file_unreadable</c> alert, while the other files flow.
/// </summary>
public sealed class FileIdentityUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-identity-").FullName;

    // rm, not Directory.Delete: .NET cannot name (so cannot delete) a file whose name is not UTF-8.
    public void Dispose()
    {
        using var rm = Process.Start("rm", ["-rf", _dir]);
        rm.WaitForExit();
    }

    private static string Csv(string client, string day) =>
        Fx.Header + "\n" + string.Join("\n", Enumerable.Range(0, 3).Select(i =>
            $"{client}-{i},https://puffy.com/,,{day}T10:0{i}:00.000Z,page_viewed,,\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"")) + "\n";

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private (RunSummary Summary, EmbeddedPipeline Pipeline) Run()
    {
        var builder = new SummaryBuilder();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), builder);
        pipeline.Run(Directory.GetFiles(_dir, "*.csv"), cancellationToken: TestContext.Current.CancellationToken);
        return (builder.Complete(), pipeline);
    }

    [Fact]
    public void Id_SameBytesUnderAnyName_IsTheSameAndNamesTheirLength()
    {
        var a = FileContent.Id("abc"u8);

        Assert.Equal(a, FileContent.Id("abc"u8.ToArray()));
        Assert.NotEqual(a, FileContent.Id("abd"u8));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad:3", a);
        Assert.Equal("events_20250301.csv@ba7816bf8f01", FileContent.ChangedName("events_20250301.csv", a));
        Assert.Equal(new DateOnly(2025, 3, 1), EventTime.DayFromFileName(FileContent.ChangedName("events_20250301.csv", a)));
    }

    [Fact]
    public void Run_FileNamedForADayNoTableCanHold_IsReadAsAFileWithoutADay()
    {
        Write("events_19000101.csv", Csv("a", "2025-03-01"));

        var (summary, _) = Run();

        Assert.Null(EventTime.DayFromFileName("events_19000101.csv"));
        Assert.Null(summary.Files["events_19000101.csv"].Day);
        Assert.Equal((3L, 3L), (summary.RowsRead, summary.Valid));
    }

    [Fact]
    public void Run_CopyOfAFileUnderAnotherName_IsReadOnceAndReported()
    {
        Write("events_20250301.csv", Csv("a", "2025-03-01"));
        Write("events_20250301_copy.csv", Csv("a", "2025-03-01"));
        Write("events_20250302.csv", Csv("b", "2025-03-02"));

        var (summary, pipeline) = Run();

        Assert.Equal([("events_20250301_copy.csv", "events_20250301.csv")], pipeline.Copies);
        Assert.Equal(["events_20250301.csv", "events_20250302.csv"], summary.RowsPerFile.Keys);
        Assert.Equal(6, summary.RowsRead);
        Assert.Equal(6, summary.Valid);
        Assert.Equal(0, summary.DeadLettered);
    }

    [Fact]
    public void CopyOf_SameBytesAgainAndOtherBytesOfTheSameLength_OnlyTheSameBytesAreACopy()
    {
        var index = new ContentIndex();
        var first = Write("events_20250301.csv", Csv("a", "2025-03-01"));
        var content = File.ReadAllBytes(first);
        var other = File.ReadAllBytes(Write("events_20250302.csv", Csv("b", "2025-03-01")));

        Assert.Null(index.CopyOf("events_20250301.csv", first, content));
        Assert.Equal(content.Length, other.Length);
        Assert.Null(index.CopyOf("events_20250302.csv", Path.Combine(_dir, "events_20250302.csv"), other));
        Assert.Equal("events_20250301.csv", index.CopyOf("copy.csv", Path.Combine(_dir, "copy.csv"), content.ToArray()));
        Assert.Equal("events_20250302.csv", index.CopyOf("copy2.csv", Path.Combine(_dir, "copy2.csv"), other));
    }

    [Fact]
    public void CopyOf_EarlierFileChangedOrGoneSinceItWasRead_IsNotTakenForTheOriginal()
    {
        var index = new ContentIndex();
        var changed = Write("events_20250301.csv", Csv("a", "2025-03-01"));
        var gone = Write("events_20250302.csv", Csv("b", "2025-03-02"));
        var changedContent = File.ReadAllBytes(changed);
        var goneContent = File.ReadAllBytes(gone);
        Assert.Null(index.CopyOf("events_20250301.csv", changed, changedContent));
        Assert.Null(index.CopyOf("events_20250302.csv", gone, goneContent));

        // The same length and fingerprint as what was read, but the file on disk no longer holds those bytes.
        Write("events_20250301.csv", Csv("c", "2025-03-01"));
        File.Delete(gone);

        Assert.Null(index.CopyOf("again_20250301.csv", Path.Combine(_dir, "again_20250301.csv"), changedContent));
        Assert.Null(index.CopyOf("again_20250302.csv", Path.Combine(_dir, "again_20250302.csv"), goneContent));
        // Each is now remembered as the later name's content.
        Write("again_20250301.csv", Csv("a", "2025-03-01"));
        Assert.Equal("again_20250301.csv", index.CopyOf("third.csv", Path.Combine(_dir, "third.csv"), changedContent));
    }

    [Fact]
    public void Run_DanglingLink_IsAccountedUnreadableWithAnAlertAndTheRestFlows()
    {
        Write("events_20250301.csv", Csv("a", "2025-03-01"));
        File.CreateSymbolicLink(Path.Combine(_dir, "events_20250302.csv"), Path.Combine(_dir, "missing", "target.csv"));

        var (summary, _) = Run();

        var stats = summary.Files["events_20250302.csv"];
        Assert.True(stats.Unreadable);
        Assert.Contains("Could not find file", stats.Error, StringComparison.Ordinal);
        Assert.Equal(0, stats.Rows);
        Assert.False(summary.Files["events_20250301.csv"].Unreadable);
        Assert.Equal(3, summary.Valid);
        var alert = Assert.Single(summary.Alerts, a => a.Rule == AlertRules.FileUnreadable);
        Assert.Equal((new DateOnly(2025, 3, 2), Severity.Critical), (alert.Day!.Value, alert.Severity));

        // Once the link's target exists the file is read like any other.
        Directory.CreateDirectory(Path.Combine(_dir, "missing"));
        File.WriteAllText(Path.Combine(_dir, "missing", "target.csv"), Csv("b", "2025-03-02"));
        var (again, _) = Run();
        Assert.False(again.Files["events_20250302.csv"].Unreadable);
        Assert.Equal(6, again.Valid);
    }

    [Fact]
    public async Task Run_FileWhoseNameIsNotUtf8_IsAccountedUnreadableSayingWhyInFileStats()
    {
        Write("events_20250301.csv", Csv("a", "2025-03-01"));
        Write("staging.csv", Csv("b", "2025-03-02"));
        // .NET cannot create such a name; bash's $'...' quoting writes the raw byte 0xFF.
        using (var mv = Process.Start(new ProcessStartInfo("bash", ["-c", "mv staging.csv $'events_\\xff_20250302.csv'"]) { WorkingDirectory = _dir })!)
        {
            await mv.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, mv.ExitCode);
        }

        var outDir = Path.Combine(_dir, "out");
        var code = await CommandLine.RunAsync(["run", "--data", _dir, "--out", outDir, "--no-progress"]);

        Assert.Equal(CommandLine.Ok, code);
        using var db = new SqliteConnection($"Data Source={Path.Combine(outDir, "puffy.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT file, rows, unreadable, error FROM file_stats ORDER BY file";
        using var reader = cmd.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add($"{reader.GetString(0)} {reader.GetInt64(1)} {reader.GetInt64(2)} {(reader.IsDBNull(3) ? "-" : reader.GetString(3))}");
        Assert.Equal(
        [
            "events_20250301.csv 3 0 -",
            "events_\uFFFD_20250302.csv 0 1 its name is not valid UTF-8 (the bytes that are not show as U+FFFD), so it cannot be opened by name; rename it",
        ], rows);
    }
}
