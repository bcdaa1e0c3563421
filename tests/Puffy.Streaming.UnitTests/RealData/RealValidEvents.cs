using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests;

/// <summary>The real data's valid events in the order the validator releases them, each with the file it came from.</summary>
internal static class RealValidEvents
{
    private static readonly Lazy<List<(string File, ValidEvent Event)>> Events = new(() =>
    {
        var events = new List<(string, ValidEvent)>();
        var validator = new ValidatorCore(new ValidatorOptions()) { OnValid = e => events.Add((e.SourceFile, e)) };
        var ingestor = new IngestorCore();
        foreach (var file in Directory.GetFiles(RepoPaths.RealData, "*.csv").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            foreach (var raw in ingestor.ReadFile(name, File.ReadAllBytes(file)))
                validator.Accept(raw);
            validator.EndOfFile(name, EventTime.DayFromFileName(name));
        }

        validator.Flush();
        return events;
    });

    public static List<(string File, ValidEvent Event)> Value => Events.Value;
}
