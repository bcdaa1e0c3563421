using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Contracts;

/// <summary>The committed specific records are exactly what the generator writes from the .avsc files.</summary>
public sealed class GeneratedRecordsUnitTests
{
    private static string ContractFolder => Path.Combine(RepoPaths.Root, "contracts", "Puffy.Streaming.Contracts");

    [Fact]
    public void CommittedRecords_MatchTheSchemaFiles()
    {
        var expected = AvroRecordGenerator.Generate(Directory.GetFiles(Path.Combine(ContractFolder, "Schemas"), "*.avsc"));
        var folder = Path.Combine(ContractFolder, "Records");
        if (Environment.GetEnvironmentVariable("PUFFY_REGENERATE_RECORDS") == "1")
        {
            foreach (var stale in Directory.GetFiles(folder, "*.g.cs"))
                File.Delete(stale);
            foreach (var (name, text) in expected)
                File.WriteAllText(Path.Combine(folder, name), text);
        }

        var committed = Directory.GetFiles(folder, "*.g.cs").ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);
        Assert.Equal(expected.Keys, committed.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, text) in expected)
            Assert.True(text == committed[name], $"Records/{name} differs from its schema: run the unit tests with PUFFY_REGENERATE_RECORDS=1");
    }

    [Fact]
    public void EveryMessageType_HasARecordWhoseSchemaIsItsAvscFile()
    {
        foreach (var type in WireFormat.Types.Values)
        {
            var fields = type.Schema.Fields.Select(f => f.Name).ToList();
            var record = (Avro.Specific.ISpecificRecord)Activator.CreateInstance(type.Record)!;
            Assert.Same(type.Schema, record.Schema);
            Assert.Equal(fields.Count, Enumerable.Range(0, fields.Count).Count(i => record.Get(i) is not Exception));
            Assert.Throws<Avro.AvroRuntimeException>(() => record.Get(fields.Count));
        }
    }
}
