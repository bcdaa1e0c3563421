using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

public sealed class AvroCompatibilityUnitTests
{
    private const string V1 = """{"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"}]}""";

    private static AvroSchema S(string json) => AvroSchema.Parse(json);

    private static AvroRecord User(AvroSchema schema, int id, string name) => new(schema) { ["id"] = id, ["name"] = name };

    [Fact]
    public void CanRead_ReaderAddsFieldWithDefault_IsCompatible() =>
        Assert.True(AvroCompatibility.CanRead(S(V1), S("""
            {"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"},
             {"name":"email","type":["null","string"],"default":null}]}
            """)));

    [Fact]
    public void CanRead_ReaderAddsFieldWithoutDefault_IsIncompatible()
    {
        var compatible = AvroCompatibility.CanRead(S(V1), S("""
            {"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"},
             {"name":"email","type":"string"}]}
            """), out var reason);

        Assert.False(compatible);
        Assert.Contains("email", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CanRead_ReaderRemovesField_IsCompatible() =>
        Assert.True(AvroCompatibility.CanRead(S(V1), S("""{"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"int"}]}""")));

    [Fact]
    public void CanRead_FieldTypeIntToString_IsIncompatible() =>
        Assert.False(AvroCompatibility.CanRead(S(V1), S("""{"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"string"},{"name":"name","type":"string"}]}""")));

    [Theory]
    [InlineData("int", "long", true)]
    [InlineData("int", "float", true)]
    [InlineData("int", "double", true)]
    [InlineData("long", "float", true)]
    [InlineData("long", "double", true)]
    [InlineData("float", "double", true)]
    [InlineData("string", "bytes", true)]
    [InlineData("bytes", "string", true)]
    [InlineData("long", "int", false)]
    [InlineData("double", "float", false)]
    [InlineData("int", "string", false)]
    [InlineData("null", "int", false)]
    public void CanRead_Primitives_FollowPromotionRules(string writer, string reader, bool expected) =>
        Assert.Equal(expected, AvroCompatibility.CanRead(S($"\"{writer}\""), S($"\"{reader}\"")));

    [Theory]
    [InlineData("[\"null\",\"int\"]", "[\"null\",\"long\"]", true)]
    [InlineData("\"int\"", "[\"null\",\"int\"]", true)]
    [InlineData("[\"null\",\"int\"]", "\"int\"", false)]
    [InlineData("[\"int\",\"string\"]", "[\"string\",\"double\"]", true)]
    [InlineData("[\"int\",\"boolean\"]", "[\"int\",\"string\"]", false)]
    public void CanRead_Unions_RequireEveryWriterBranchReadable(string writer, string reader, bool expected) =>
        Assert.Equal(expected, AvroCompatibility.CanRead(S(writer), S(reader)));

    [Theory]
    [InlineData("[\"A\",\"B\"]", "[\"A\",\"B\",\"C\"]", null, true)]
    [InlineData("[\"A\",\"B\",\"C\"]", "[\"A\",\"B\"]", null, false)]
    [InlineData("[\"A\",\"B\",\"C\"]", "[\"A\",\"B\"]", "A", true)]
    public void CanRead_Enums_WriterSymbolsNeedReaderSymbolOrDefault(string writerSymbols, string readerSymbols, string? readerDefault, bool expected)
    {
        var def = readerDefault is null ? string.Empty : $",\"default\":\"{readerDefault}\"";
        var writer = S($$"""{"type":"enum","name":"E","symbols":{{writerSymbols}}}""");
        var reader = S($$"""{"type":"enum","name":"E","symbols":{{readerSymbols}}{{def}}}""");

        Assert.Equal(expected, AvroCompatibility.CanRead(writer, reader));
    }

    [Fact]
    public void CanRead_RenamedRecordWithoutAlias_IsIncompatibleButAliasMakesItCompatible()
    {
        Assert.False(AvroCompatibility.CanRead(S(V1), S("""{"type":"record","name":"Person","namespace":"p","fields":[{"name":"id","type":"int"}]}""")));
        Assert.True(AvroCompatibility.CanRead(S(V1), S("""{"type":"record","name":"Person","namespace":"p","aliases":["User"],"fields":[{"name":"id","type":"int"}]}""")));
    }

    [Fact]
    public void CanRead_FixedSizeChange_IsIncompatible() =>
        Assert.False(AvroCompatibility.CanRead(S("""{"type":"fixed","name":"F","size":4}"""), S("""{"type":"fixed","name":"F","size":8}""")));

    [Fact]
    public void CanRead_RecursiveSchemaAgainstItself_IsCompatible()
    {
        var json = File.ReadAllText(AvroTestData.PathOf("schemas", "interop.avsc"));

        Assert.True(AvroCompatibility.CanRead(S(json), S(json)));
    }

    [Fact]
    public void DecodeResolved_AddedAndRemovedFields_FillDefaultsAndSkipWriterOnly()
    {
        var writer = S("""
            {"type":"record","name":"User","namespace":"p","fields":[
              {"name":"id","type":"int"},
              {"name":"legacy","type":{"type":"array","items":{"type":"map","values":"string"}}},
              {"name":"name","type":"string"}]}
            """);
        var reader = S("""
            {"type":"record","name":"User","namespace":"p","fields":[
              {"name":"name","type":"string"},
              {"name":"id","type":"long"},
              {"name":"tags","type":{"type":"array","items":"string"},"default":["new"]}]}
            """);
        var value = new AvroRecord(writer)
        {
            ["id"] = 7,
            ["legacy"] = new List<object?> { new Dictionary<string, object?> { ["k"] = "v" } },
            ["name"] = "Ann",
        };

        var record = Assert.IsType<AvroRecord>(AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, value)));

        Assert.Same(reader, record.Schema);
        Assert.Equal(7L, record["id"]);
        Assert.Equal("Ann", record["name"]);
        Assert.Equal(new List<object?> { "new" }, record["tags"]);
    }

    [Fact]
    public void DecodeResolved_FieldAlias_ReadsRenamedField()
    {
        var writer = S(V1);
        var reader = S("""{"type":"record","name":"User","namespace":"p","fields":[{"name":"id","type":"int"},{"name":"fullName","type":"string","aliases":["name"]}]}""");

        var record = Assert.IsType<AvroRecord>(AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, User(writer, 1, "Bo"))));

        Assert.Equal("Bo", record["fullName"]);
    }

    [Fact]
    public void DecodeResolved_UnknownEnumSymbol_UsesReaderDefault()
    {
        var writer = S("""{"type":"enum","name":"E","symbols":["A","B","C"]}""");
        var reader = S("""{"type":"enum","name":"E","symbols":["A","B","UNKNOWN"],"default":"UNKNOWN"}""");

        Assert.Equal("UNKNOWN", Assert.IsType<AvroEnum>(AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, "C"))).Symbol);
        Assert.Equal("B", Assert.IsType<AvroEnum>(AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, "B"))).Symbol);
    }

    [Fact]
    public void DecodeResolved_UnknownEnumSymbolWithoutDefault_ThrowsAvroException()
    {
        var writer = S("""{"type":"enum","name":"E","symbols":["A","B","C"]}""");
        var reader = S("""{"type":"enum","name":"E","symbols":["A","B"]}""");

        Assert.Throws<AvroException>(() => AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, "C")));
    }

    [Fact]
    public void DecodeResolved_UnionAndPromotions_ConvertValues()
    {
        var writer = S("""["null","int","string"]""");
        var reader = S("""["null","double","bytes"]""");

        Assert.Equal(3.0, AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, 3)));
        Assert.Equal("hi"u8.ToArray(), AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, "hi")));
        Assert.Null(AvroDatum.Decode(writer, reader, AvroDatum.Encode(writer, null)));
        Assert.Equal(9L, AvroDatum.Decode(S("\"int\""), S("[\"null\",\"long\"]"), AvroDatum.Encode(S("\"int\""), 9)));
    }

    [Fact]
    public void DecodeResolved_WriterBranchReaderCannotTake_ThrowsAvroException()
    {
        var writer = S("""["null","string"]""");

        Assert.Throws<AvroException>(() => AvroDatum.Decode(writer, S("\"string\""), AvroDatum.Encode(writer, null)));
    }

    [Fact]
    public void DecodeResolved_SkippedArrayWithByteSizedBlocks_IsSkippedWholesale()
    {
        var writer = S("""{"type":"record","name":"R","fields":[{"name":"skip","type":{"type":"array","items":"long"}},{"name":"keep","type":"int"}]}""");
        var reader = S("""{"type":"record","name":"R","fields":[{"name":"keep","type":"int"}]}""");

        // skip: one block of -2 items in 2 bytes (1, 2) then end; keep: 5.
        var record = Assert.IsType<AvroRecord>(AvroDatum.Decode(writer, reader, Convert.FromHexString("03040204000A")));

        Assert.Equal(5, record["keep"]);
    }
}
