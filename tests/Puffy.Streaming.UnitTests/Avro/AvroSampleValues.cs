using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

/// <summary>Builds generic values for the shared test schemas.</summary>
internal static class AvroSampleValues
{
    /// <summary>A value for share/test/schemas/interop.avsc touching every field type, including the recursive Node.</summary>
    public static AvroRecord Interop(AvroSchema schema)
    {
        var foo = schema.GetField("mapField")!.Schema.Values!;
        var node = schema.GetField("recordField")!.Schema;
        var md5 = schema.GetField("fixedField")!.Schema;
        var kind = schema.GetField("enumField")!.Schema;

        var leaf = new AvroRecord(node) { ["label"] = "leaf", ["children"] = new List<object?>() };
        var root = new AvroRecord(node) { ["label"] = "root", ["children"] = new List<object?> { leaf, leaf } };

        return new AvroRecord(schema)
        {
            ["intField"] = -12345,
            ["longField"] = 1L << 40,
            ["stringField"] = "héllo wörld ✓",
            ["boolField"] = true,
            ["floatField"] = 3.5f,
            ["doubleField"] = -2.25e100,
            ["bytesField"] = new byte[] { 0, 1, 2, 255 },
            ["nullField"] = null,
            ["arrayField"] = new List<object?> { 1.0, double.NaN, double.NegativeInfinity },
            ["mapField"] = new Dictionary<string, object?>
            {
                ["a"] = new AvroRecord(foo) { ["label"] = "x" },
                ["b"] = new AvroRecord(foo) { ["label"] = string.Empty },
            },
            ["unionField"] = new List<object?> { new byte[] { 9 }, Array.Empty<byte>() },
            ["enumField"] = new AvroEnum(kind, "C"),
            ["fixedField"] = new AvroFixed(md5, Enumerable.Range(0, 16).Select(i => (byte)i).ToArray()),
            ["recordField"] = root,
        };
    }
}
