using System.Text;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.UnitTests.RealData;

/// <summary>
/// Delivery order must not matter within the allowed lateness: rows shuffled so that no event moves by more than
/// 10 minutes of event time (the default lateness is 15) give the identical summary.
/// </summary>
public sealed class ShuffleInvarianceUnitTests(RealDataRun run) : IClassFixture<RealDataRun>
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Run_RowsShuffledWithinTenMinutes_GivesIdenticalSummary(int seed)
    {
        var random = new Random(seed);
        var builder = new SummaryBuilder();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), builder);
        var moved = 0;
        foreach (var file in run.Files)
        {
            var (shuffled, movedRows) = Shuffle(File.ReadAllBytes(file), random);
            moved += movedRows;
            pipeline.RunFile(Path.GetFileName(file), shuffled, cancellationToken: TestContext.Current.CancellationToken);
        }

        pipeline.Finish();
        var summary = builder.Complete();
        Assert.True(moved > 40_000, $"only {moved} rows changed position: the shuffle is too weak to prove anything");
        Assert.Equal(run.Summary.ToJson(), summary.ToJson());
    }

    [Fact]
    public void Run_RowsMovedFarBeyondLateness_AreDeadLetteredAsLateNotDropped()
    {
        // Move the first 200 rows of the first file to its end: hours behind the stream time by then.
        var first = File.ReadAllText(run.Files[0]).Split('\n');
        var reordered = string.Join('\n', new[] { first[0] }.Concat(first.Skip(201)).Concat(first.Skip(1).Take(200)));
        var builder = new SummaryBuilder();
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), builder);
        pipeline.RunFile(Path.GetFileName(run.Files[0]), Encoding.UTF8.GetBytes(reordered), cancellationToken: TestContext.Current.CancellationToken);
        pipeline.Finish();
        var summary = builder.Complete();
        Assert.Equal(run.Summary.RowsPerFile[Path.GetFileName(run.Files[0])], summary.RowsRead);
        Assert.Equal(summary.RowsRead, summary.Valid + summary.DeadLettered);
        Assert.True(summary.DeadLetterReasons.GetValueOrDefault("late_event") > 100, "the moved rows should be late");
    }

    /// <summary>Shuffles runs of consecutive rows whose event times share a 10-minute window.</summary>
    private static (byte[] Content, int Moved) Shuffle(byte[] content, Random random)
    {
        var lines = Encoding.UTF8.GetString(content).Split('\n');
        var output = new List<string> { lines[0] };
        var bucket = new List<string>();
        long bucketKey = long.MinValue;
        var moved = 0;
        var timestampColumn = lines[0].Split(',').Select(c => c.Trim()).ToList().IndexOf("timestamp");
        Assert.True(timestampColumn >= 0);

        void FlushBucket()
        {
            var before = bucket.ToList();
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bucket));
            moved += before.Where((line, i) => !ReferenceEquals(line, bucket[i])).Count();
            output.AddRange(bucket);
            bucket.Clear();
        }

        foreach (var line in lines.Skip(1))
        {
            var fields = new List<string>();
            var key = CsvRecordReader.Split(line, fields) is null && fields.Count > timestampColumn
                      && EventTime.TryParse(fields[timestampColumn], out var t)
                ? t.Ticks / TimeSpan.FromMinutes(10).Ticks
                : long.MaxValue;
            if (key != bucketKey && bucket.Count > 0)
                FlushBucket();
            bucketKey = key;
            bucket.Add(line);
        }

        FlushBucket();
        return (Encoding.UTF8.GetBytes(string.Join('\n', output)), moved);
    }
}
