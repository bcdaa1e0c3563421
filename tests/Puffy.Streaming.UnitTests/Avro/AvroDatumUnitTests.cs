using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

public sealed class AvroDatumUnitTests
{
    [Fact]
    public void EncodeRecord_SpecExample_MatchesBytes()
    {
        // The spec's example: record {a: long = 27, b: string = "foo"} encodes as 36 06 66 6f 6f.
        var schema = AvroSchema.Parse("""{"type":"record","name":"test","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}""");
        var record = new AvroRecord(schema) { ["a"] = 27L, ["b"] = "foo" };

        Assert.Equal("3606666F6F", Convert.ToHexString(AvroDatum.Encode(schema, record)));
    }

    [Fact]
    public void EncodeUnion_SpecExample_MatchesBytes()
    {
        // The spec's example: ["null","string"] with "a" encodes as 02 02 61; null as 00.
        var schema = AvroSchema.Parse("[\"null\",\"string\"]");

        Assert.Equal("020261", Convert.ToHexString(AvroDatum.Encode(schema, "a")));
        Assert.Equal("00", Convert.ToHexString(AvroDatum.Encode(schema, null)));
    }

    [Fact]
    public void EncodeArray_SpecExample_IsOneBlockThenZero()
    {
        var schema = AvroSchema.Parse("""{"type":"array","items":"long"}""");

        Assert.Equal("04063600", Convert.ToHexString(AvroDatum.Encode(schema, new List<object?> { 3L, 27L })));
        Assert.Equal("00", Convert.ToHexString(AvroDatum.Encode(schema, new List<object?>())));
    }

    [Fact]
    public void EncodeInterop_AllTypes_RoundTrip()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("schemas", "interop.avsc")));
        var value = AvroSampleValues.Interop(schema);

        var decoded = AvroDatum.Decode(schema, AvroDatum.Encode(schema, value));

        Assert.True(AvroDatum.IsValid(schema, decoded));
        Assert.True(AvroDatum.DeepEquals(value, decoded), $"expected {value}\nactual   {decoded}");
        var record = Assert.IsType<AvroRecord>(decoded);
        Assert.Equal("héllo wörld ✓", record["stringField"]);
        Assert.Equal(2, Assert.IsType<List<object?>>(Assert.IsType<AvroRecord>(record["recordField"])["children"]).Count);
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(1.5, 1)]
    public void EncodeUnion_ValueType_SelectsMatchingBranch(object value, long expectedIndex)
    {
        var schema = AvroSchema.Parse("""["boolean","double",{"type":"array","items":"bytes"}]""");

        var bytes = AvroDatum.Encode(schema, value);

        Assert.Equal(expectedIndex * 2, bytes[0]);
        Assert.Equal(value, AvroDatum.Decode(schema, bytes));
    }

    [Fact]
    public void EncodeUnion_IntValue_PrefersIntOverLongAndWidensWhenOnlyLong()
    {
        // Branch 2 (zig-zag 04) is the exact int match even though long (branch 1) also accepts an int.
        Assert.Equal(4, AvroDatum.Encode(AvroSchema.Parse("[\"null\",\"long\",\"int\"]"), 5)[0]);
        Assert.Equal(5L, AvroDatum.Decode(AvroSchema.Parse("[\"null\",\"long\"]"), AvroDatum.Encode(AvroSchema.Parse("[\"null\",\"long\"]"), 5)));
    }

    [Fact]
    public void EncodeUnion_NamedBranches_SelectByFullname()
    {
        var schema = AvroSchema.Parse("""
            [{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]},
             {"type":"record","name":"B","fields":[{"name":"x","type":"int"}]}]
            """);
        var b = new AvroRecord(schema.Branches[1]) { ["x"] = 1 };

        var bytes = AvroDatum.Encode(schema, b);

        Assert.Equal(2, bytes[0]);
        Assert.Equal("B", Assert.IsType<AvroRecord>(AvroDatum.Decode(schema, bytes)).Schema.FullName);
    }

    [Fact]
    public void EncodeUnion_NoBranchAccepts_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Encode(AvroSchema.Parse("[\"null\",\"int\"]"), "text"));

    [Fact]
    public void EncodeRecord_WrongFieldType_ThrowsAvroExceptionNamingTheField()
    {
        var schema = AvroSchema.Parse("""{"type":"record","name":"R","fields":[{"name":"count","type":"int"}]}""");

        var ex = Assert.Throws<AvroException>(() => AvroDatum.Encode(schema, new AvroRecord(schema) { ["count"] = "many" }));

        Assert.Contains("count", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeEnum_StringSymbol_IsAcceptedAndUnknownSymbolRejected()
    {
        var schema = AvroSchema.Parse("""{"type":"enum","name":"E","symbols":["A","B"]}""");

        Assert.Equal("02", Convert.ToHexString(AvroDatum.Encode(schema, "B")));
        Assert.Throws<AvroException>(() => AvroDatum.Encode(schema, "C"));
    }

    [Fact]
    public void EncodeFixed_WrongSize_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Encode(AvroSchema.Parse("""{"type":"fixed","name":"F","size":2}"""), new byte[3]));

    [Fact]
    public void EncodeTimestampMillis_DateTimeOffset_WritesEpochMillis()
    {
        var schema = AvroSchema.Parse("""{"type":"long","logicalType":"timestamp-millis"}""");
        var instant = new DateTimeOffset(2024, 3, 1, 12, 30, 0, 123, TimeSpan.FromHours(2));

        var decoded = Assert.IsType<long>(AvroDatum.Decode(schema, AvroDatum.Encode(schema, instant)));

        Assert.Equal(instant.ToUnixTimeMilliseconds(), decoded);
        Assert.Equal(instant, AvroLogical.ToTimestamp(schema, decoded));
    }

    [Fact]
    public void EncodeTimestampMicros_BeforeEpoch_RoundTripsThroughDateTimeOffset()
    {
        var schema = AvroSchema.Parse("""{"type":"long","logicalType":"timestamp-micros"}""");
        var instant = new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(-10);

        var decoded = Assert.IsType<long>(AvroDatum.Decode(schema, AvroDatum.Encode(schema, instant)));

        Assert.Equal(-1_000_001L, decoded);
        Assert.Equal(instant, AvroLogical.ToTimestamp(schema, decoded));
    }

    [Fact]
    public void EncodeDate_DateOnly_WritesDaysSinceEpoch()
    {
        var schema = AvroSchema.Parse("""{"type":"int","logicalType":"date"}""");

        var decoded = Assert.IsType<int>(AvroDatum.Decode(schema, AvroDatum.Encode(schema, new DateOnly(1970, 1, 11))));

        Assert.Equal(10, decoded);
        Assert.Equal(new DateOnly(1969, 12, 31), AvroLogical.ToDate(-1));
    }

    [Theory]
    [InlineData("1.23", "7B")]
    [InlineData("-1.23", "85")]
    [InlineData("1.28", "0080")]
    [InlineData("0", "00")]
    public void EncodeDecimalBytes_Value_IsMinimalTwosComplementOfUnscaled(string text, string hex)
    {
        var schema = AvroSchema.Parse("""{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}""");
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

        var encoded = AvroDatum.Encode(schema, value);

        Assert.Equal(hex, Convert.ToHexString(encoded.AsSpan(1)));
        Assert.Equal(value, AvroLogical.ToDecimal(schema, AvroDatum.Decode(schema, encoded)));
    }

    [Fact]
    public void EncodeDecimalFixed_Negative_IsSignExtended()
    {
        var schema = AvroSchema.Parse("""{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9,"scale":1}""");

        var encoded = AvroDatum.Encode(schema, -0.5m);

        Assert.Equal("FFFFFFFB", Convert.ToHexString(encoded));
        Assert.Equal(-0.5m, AvroLogical.ToDecimal(schema, AvroDatum.Decode(schema, encoded)));
    }

    [Fact]
    public void EncodeDecimal_TooManyFractionalDigits_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Encode(
            AvroSchema.Parse("""{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}"""), 1.234m));

    [Fact]
    public void IsValid_WrongShapes_AreRejected()
    {
        var schema = AvroSchema.Parse("""{"type":"record","name":"R","fields":[{"name":"m","type":{"type":"map","values":"int"}}]}""");

        Assert.True(AvroDatum.IsValid(schema, new AvroRecord(schema) { ["m"] = new Dictionary<string, object?> { ["k"] = 1 } }));
        Assert.False(AvroDatum.IsValid(schema, new AvroRecord(schema) { ["m"] = new Dictionary<string, object?> { ["k"] = "1" } }));
        Assert.False(AvroDatum.IsValid(schema, "not a record"));
    }
}
