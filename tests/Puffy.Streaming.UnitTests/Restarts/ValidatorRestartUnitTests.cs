using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Restarts;

/// <summary>
/// A validator that checkpoints (stream time, open files' tallies, accepted event and transaction ids, the rows in its
/// reorder buffer), crashes at any row, and restarts from the checkpoint on a fresh core must emit, together with what
/// it emitted before the crash, exactly what an uninterrupted run emits: the same valid events, dead letters with
/// their reasons (duplicates across the crash included) and file metrics.
/// </summary>
public sealed class ValidatorRestartUnitTests
{
    private static readonly Lazy<List<(RawEvent? Row, string? EndOf)>> RealInput = new(() =>
    {
        var input = new List<(RawEvent?, string?)>();
        var ingestor = new IngestorCore();
        foreach (var file in Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            input.AddRange(ingestor.ReadFile(name, File.ReadAllBytes(file)).Select(r => ((RawEvent?)r, (string?)null)));
            input.Add((null, name));
        }

        return input;
    });

    /// <summary>One run's outputs as comparable lines.</summary>
    private sealed class Outputs
    {
        public List<string> Lines { get; } = [];

        public ValidatorCore NewCore(Tracker? tracker = null) => new(new ValidatorOptions())
        {
            OnValid = e =>
            {
                Lines.Add($"valid {e.EventId} {e.SourceFile}:{e.Line}");
                tracker?.Accepted(e);
            },
            OnDeadLetter = d =>
            {
                Lines.Add($"dead {d.Reason} {d.SourceFile}:{d.Line}");
                tracker?.Decided(d.SourceFile, d.Line);
            },
            OnMetric = m => Lines.Add($"metric {m.Name} {m.Dimension} {m.Value} {m.Source}"),
        };
    }

    /// <summary>What a checkpoint stores besides the core's own snapshot (the worker's bookkeeping).</summary>
    private sealed class Tracker
    {
        public List<(UInt128 Id, DateTime Time)> Ids { get; } = [];
        public List<AcceptedTransaction> Transactions { get; } = [];
        public Dictionary<(string, long), RawEvent> Buffer { get; } = [];

        public void Accepted(ValidEvent e)
        {
            Ids.Add((UInt128.Parse(e.EventId, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture), e.Timestamp));
            if (e.TransactionId is { } tx)
                Transactions.Add(new AcceptedTransaction(tx, e.Timestamp, e.EventId));
            Decided(e.SourceFile, e.Line);
        }

        public void Decided(string file, long line) => Buffer.Remove((file, line));
    }

    private static void Feed(ValidatorCore core, Tracker? tracker, (RawEvent? Row, string? EndOf) item)
    {
        if (item.Row is { } raw)
        {
            tracker?.Buffer.Add((raw.SourceFile, raw.Line), raw);
            core.Accept(raw);
        }
        else
        {
            core.EndOfFile(item.EndOf!, EventTime.DayFromFileName(item.EndOf!));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2_500)]
    [InlineData(17_777)]
    [InlineData(30_001)]
    [InlineData(49_970)]
    public void Restart_FromACheckpointAtAnyRow_EmitsExactlyWhatAnUninterruptedRunEmits(int crashAt)
    {
        var input = RealInput.Value;
        var uninterrupted = new Outputs();
        var whole = uninterrupted.NewCore();
        foreach (var item in input)
            Feed(whole, null, item);
        whole.Flush();

        var run = new Outputs();
        var tracker = new Tracker();
        var before = run.NewCore(tracker);
        for (var i = 0; i < crashAt; i++)
            Feed(before, tracker, input[i]);
        // The checkpoint; then the process dies and a fresh core starts from it.
        var streamTime = before.StreamTime;
        var files = before.OpenFiles();
        var buffered = tracker.Buffer.Values.ToList();
        Assert.Equal(before.Buffered, buffered.Count);
        var after = run.NewCore();
        after.Restore(streamTime, tracker.Ids, tracker.Transactions, files, buffered);
        for (var i = crashAt; i < input.Count; i++)
            Feed(after, null, input[i]);
        after.Flush();

        Assert.Equal(uninterrupted.Lines, run.Lines);
    }

    [Fact]
    public void Restore_CoreThatAlreadyRan_IsRefused()
    {
        var core = new ValidatorCore(new ValidatorOptions());
        Feed(core, null, RealInput.Value[0]);

        Assert.Throws<InvalidOperationException>(() => core.Restore(DateTime.UtcNow, [], [], [], []));
    }
}
