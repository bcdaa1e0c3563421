using System.Text;
using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

public sealed class AvroSchemaUnitTests
{
    [Theory]
    [InlineData("\"int\"", "\"int\"")]
    [InlineData("{\"type\":\"int\"}", "\"int\"")]
    [InlineData("{ \"type\" : \"long\", \"logicalType\" : \"timestamp-millis\" }", "\"long\"")]
    [InlineData("[\"null\", {\"type\":\"string\"}]", "[\"null\",\"string\"]")]
    [InlineData("{\"type\":\"array\", \"items\":{\"type\":\"int\"}}", "{\"type\":\"array\",\"items\":\"int\"}")]
    [InlineData("{\"values\":\"boolean\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"boolean\"}")]
    [InlineData("{\"type\":\"fixed\",\"size\":15,\"name\":\"foo\"}", "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}")]
    [InlineData("{\"name\":\"x.y.foo\",\"type\":\"fixed\",\"size\":32,\"namespace\":\"ignored\"}", "{\"name\":\"x.y.foo\",\"type\":\"fixed\",\"size\":32}")]
    [InlineData(
        "{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", \"symbols\":[\"A1\", \"A2\"], \"default\":\"A2\"}",
        "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}")]
    public void ToCanonicalForm_SpecExamples_Match(string schema, string canonical) =>
        Assert.Equal(canonical, AvroSchema.Parse(schema).ToCanonicalForm());

    [Fact]
    public void ToCanonicalForm_Record_StripsOrdersAndUsesFullnames()
    {
        const string json = """
            {
              "fields": [
                {"type": {"type": "fixed", "size": 1, "name": "bar", "aliases": ["baz"]}, "name": "f1", "default": "a", "doc": "d"},
                {"name": "f2", "type": "bar", "order": "descending"},
                {"name": "f3", "type": {"type": "record", "name": "inner", "namespace": "", "fields": [{"name": "g", "type": "x.bar"}]}}
              ],
              "namespace": "x",
              "name": "foo",
              "type": "record",
              "doc": "stripped"
            }
            """;

        Assert.Equal(
            "{\"name\":\"x.foo\",\"type\":\"record\",\"fields\":["
            + "{\"name\":\"f1\",\"type\":{\"name\":\"x.bar\",\"type\":\"fixed\",\"size\":1}},"
            + "{\"name\":\"f2\",\"type\":\"x.bar\"},"
            + "{\"name\":\"f3\",\"type\":{\"name\":\"inner\",\"type\":\"record\",\"fields\":[{\"name\":\"g\",\"type\":\"x.bar\"}]}}]}",
            AvroSchema.Parse(json).ToCanonicalForm());
    }

    [Fact]
    public void Parse_NestedNamedTypes_InheritEnclosingNamespace()
    {
        var schema = AvroSchema.Parse("""
            {"type":"record","name":"Outer","namespace":"a.b","fields":[
              {"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},
              {"name":"o","type":{"type":"record","name":"c.Other","fields":[{"name":"inner","type":{"type":"fixed","name":"F","size":2}}]}},
              {"name":"ref","type":"c.F"}]}
            """);

        Assert.Equal("a.b.Outer", schema.FullName);
        Assert.Equal("a.b.E", schema.GetField("e")!.Schema.FullName);
        Assert.Equal("c.Other", schema.GetField("o")!.Schema.FullName);
        Assert.Equal("c.F", schema.GetField("o")!.Schema.Fields[0].Schema.FullName);
        Assert.Same(schema.GetField("o")!.Schema.Fields[0].Schema, schema.GetField("ref")!.Schema);
    }

    [Fact]
    public void Fingerprint64_EmptyInput_IsThePolynomial() =>
        Assert.Equal(0xc15d213aa4d7a795UL, AvroFingerprint.Compute(ReadOnlySpan<byte>.Empty));

    [Fact]
    public void Fingerprint64_EquivalentSchemas_AreEqualAndDifferentSchemasDiffer()
    {
        var a = AvroSchema.Parse("""{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":"int","doc":"d"}]}""");
        var b = AvroSchema.Parse("""{"name":"n.R","type":"record","fields":[{"type":{"type":"int"},"name":"x"}]}""");
        var c = AvroSchema.Parse("""{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":"long"}]}""");

        Assert.Equal(a.Fingerprint64(), b.Fingerprint64());
        Assert.NotEqual(a.Fingerprint64(), c.Fingerprint64());
        Assert.Equal(AvroFingerprint.Compute(Encoding.UTF8.GetBytes(a.ToCanonicalForm())), a.Fingerprint64());
    }

    [Theory]
    [InlineData("\"Unknown\"")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}")]
    [InlineData("{\"type\":\"record\",\"name\":\"9bad\",\"fields\":[]}")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}")]
    [InlineData("[\"int\",\"int\"]")]
    [InlineData("[\"null\",[\"int\"]]")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}")]
    [InlineData("{\"type\":\"array\"}")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"R\",\"size\":1}}]}")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"int\",\"size\":1}")]
    [InlineData("not json")]
    [InlineData("42")]
    public void Parse_InvalidSchema_ThrowsAvroException(string json) =>
        Assert.Throws<AvroException>(() => AvroSchema.Parse(json));

    [Fact]
    public void Parse_RecursiveRecord_ReferencesItself()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("schemas", "interop.avsc")));
        var node = schema.GetField("recordField")!.Schema;

        Assert.Equal("org.apache.avro.Node", node.FullName);
        Assert.Same(node, node.GetField("children")!.Schema.Items);
    }

    [Theory]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "timestamp-millis")]
    [InlineData("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", "timestamp-micros")]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"date\"}", "date")]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "decimal")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"D\",\"size\":8,\"logicalType\":\"decimal\",\"precision\":18}", "decimal")]
    [InlineData("{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", null)]
    [InlineData("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":3}", null)]
    [InlineData("{\"type\":\"fixed\",\"name\":\"D\",\"size\":2,\"logicalType\":\"decimal\",\"precision\":5}", null)]
    [InlineData("{\"type\":\"string\",\"logicalType\":\"made-up\"}", null)]
    public void Parse_LogicalTypes_AreKeptOnlyWhenValid(string json, string? expected) =>
        Assert.Equal(expected, AvroSchema.Parse(json).LogicalType);

    [Fact]
    public void Parse_RecordFieldDefaults_ConvertToGenericValues()
    {
        var schema = AvroSchema.Parse("""
            {"type":"record","name":"R","fields":[
              {"name":"i","type":"int","default":7},
              {"name":"u","type":["null","string"],"default":null},
              {"name":"b","type":"bytes","default":"\u00ff\u0001"},
              {"name":"a","type":{"type":"array","items":"long"},"default":[1,2]},
              {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]},"default":"Y"}]}
            """);

        Assert.Equal(7, schema.GetField("i")!.DefaultValue);
        Assert.Null(schema.GetField("u")!.DefaultValue);
        Assert.True(schema.GetField("u")!.HasDefault);
        Assert.Equal(new byte[] { 0xff, 0x01 }, schema.GetField("b")!.DefaultValue);
        Assert.Equal(new List<object?> { 1L, 2L }, schema.GetField("a")!.DefaultValue);
        Assert.Equal("Y", Assert.IsType<AvroEnum>(schema.GetField("e")!.DefaultValue).Symbol);
    }

    [Fact]
    public void ToJson_ReparsedSchema_KeepsCanonicalFormDefaultsAndLogicalTypes()
    {
        var original = AvroSchema.Parse("""
            {"type":"record","name":"R","namespace":"n","aliases":["Old"],"fields":[
              {"name":"t","type":{"type":"long","logicalType":"timestamp-micros"},"default":0},
              {"name":"in","type":{"type":"record","name":"I","namespace":"","fields":[{"name":"x","type":"int"}]}},
              {"name":"again","type":"I"}]}
            """);

        var reparsed = AvroSchema.Parse(original.ToJson());

        Assert.Equal(original.ToCanonicalForm(), reparsed.ToCanonicalForm());
        Assert.Equal("timestamp-micros", reparsed.GetField("t")!.Schema.LogicalType);
        Assert.Equal(0L, reparsed.GetField("t")!.DefaultValue);
        Assert.Equal(["n.Old"], reparsed.Aliases);
        Assert.Equal("I", reparsed.GetField("in")!.Schema.FullName);
    }
}
