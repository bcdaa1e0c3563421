using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

public sealed class AvroBinaryUnitTests
{
    private static readonly AvroSchema LongSchema = AvroSchema.Parse("\"long\"");
    private static readonly AvroSchema IntSchema = AvroSchema.Parse("\"int\"");

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(1L, "02")]
    [InlineData(-2L, "03")]
    [InlineData(2L, "04")]
    [InlineData(-64L, "7F")]
    [InlineData(64L, "8001")]
    [InlineData(-65L, "8101")]
    [InlineData(8192L, "808001")]
    [InlineData(long.MaxValue, "FEFFFFFFFFFFFFFFFF01")]
    [InlineData(long.MinValue, "FFFFFFFFFFFFFFFFFF01")]
    public void WriteLong_SpecVectors_MatchZigZagVarint(long value, string hex)
    {
        var writer = new AvroBinaryWriter();
        writer.WriteLong(value);

        Assert.Equal(hex, Convert.ToHexString(writer.WrittenSpan));
        Assert.Equal(value, new AvroBinaryReader(Convert.FromHexString(hex)).ReadLong());
    }

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(int.MinValue - 1L)]
    [InlineData(int.MaxValue + 1L)]
    [InlineData(0L)]
    public void EncodeLong_Extremes_RoundTrip(long value) =>
        Assert.Equal(value, AvroDatum.Decode(LongSchema, AvroDatum.Encode(LongSchema, value)));

    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    public void EncodeInt_Extremes_RoundTrip(int value) =>
        Assert.Equal(value, AvroDatum.Decode(IntSchema, AvroDatum.Encode(IntSchema, value)));

    [Fact]
    public void EncodeFloatAndDouble_Values_AreLittleEndianIeee()
    {
        Assert.Equal("0000803F", Convert.ToHexString(AvroDatum.Encode(AvroSchema.Parse("\"float\""), 1.0f)));
        Assert.Equal("000000000000F03F", Convert.ToHexString(AvroDatum.Encode(AvroSchema.Parse("\"double\""), 1.0)));
    }

    [Fact]
    public void EncodeString_Utf8_IsLengthPrefixed() =>
        Assert.Equal("06666F6F", Convert.ToHexString(AvroDatum.Encode(AvroSchema.Parse("\"string\""), "foo")));

    [Fact]
    public void DecodeInt_ValueBeyond32Bits_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(IntSchema, Convert.FromHexString("8080808010")));

    [Fact]
    public void DecodeLong_ElevenByteVarint_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(LongSchema, Convert.FromHexString("FFFFFFFFFFFFFFFFFFFF01")));

    [Fact]
    public void DecodeLong_Truncated_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(LongSchema, new byte[] { 0x80 }));

    [Fact]
    public void DecodeLong_Empty_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(LongSchema, Array.Empty<byte>()));

    [Fact]
    public void DecodeString_NegativeLength_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(AvroSchema.Parse("\"string\""), new byte[] { 0x01 }));

    [Fact]
    public void DecodeBytes_LengthBeyondData_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(AvroSchema.Parse("\"bytes\""), new byte[] { 0x0A, 0x61 }));

    [Fact]
    public void DecodeString_InvalidUtf8_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(AvroSchema.Parse("\"string\""), new byte[] { 0x02, 0xFF }));

    [Fact]
    public void DecodeBoolean_ByteTwo_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(AvroSchema.Parse("\"boolean\""), new byte[] { 0x02 }));

    [Theory]
    [InlineData("04")] // index 2 of a two-branch union
    [InlineData("01")] // index -1
    public void DecodeUnion_IndexOutOfRange_ThrowsAvroException(string hex) =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(AvroSchema.Parse("[\"null\",\"int\"]"), Convert.FromHexString(hex)));

    [Fact]
    public void DecodeEnum_IndexOutOfRange_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(
            AvroSchema.Parse("""{"type":"enum","name":"E","symbols":["A","B"]}"""), new byte[] { 0x04 }));

    [Fact]
    public void DecodeFixed_Truncated_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(
            AvroSchema.Parse("""{"type":"fixed","name":"F","size":4}"""), new byte[] { 1, 2, 3 }));

    [Fact]
    public void Decode_TrailingBytes_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(IntSchema, new byte[] { 0x02, 0x00 }));

    [Fact]
    public void DecodeArray_CountLargerThanData_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(
            AvroSchema.Parse("""{"type":"array","items":"long"}"""), Convert.FromHexString("FEFFFFFF0F02")));

    [Fact]
    public void DecodeArray_HugeCountOfZeroSizeItems_ThrowsAvroException() =>
        Assert.Throws<AvroException>(() => AvroDatum.Decode(
            AvroSchema.Parse("""{"type":"array","items":"null"}"""), Convert.FromHexString("FEFFFFFFFFFFFFFF7F00")));

    [Fact]
    public void DecodeArray_NegativeCountWithByteSize_IsAccepted()
    {
        var schema = AvroSchema.Parse("""{"type":"array","items":"int"}""");

        // Block of -2 items (zig-zag 03) spanning 2 bytes, items 1 and 2, then the end block.
        var value = AvroDatum.Decode(schema, Convert.FromHexString("0304020400"));

        Assert.Equal(new List<object?> { 1, 2 }, Assert.IsType<List<object?>>(value));
    }

    [Fact]
    public void DecodeMap_SeveralBlocks_MergesEntries()
    {
        var schema = AvroSchema.Parse("""{"type":"map","values":"int"}""");

        // One entry {"a":1}, then a sized block with {"b":2}, then the end block.
        var map = Assert.IsType<Dictionary<string, object?>>(AvroDatum.Decode(schema, Convert.FromHexString("020261020106026204" + "00")));

        Assert.Equal(2, map.Count);
        Assert.Equal(1, map["a"]);
        Assert.Equal(2, map["b"]);
    }

    [Fact]
    public void Decode_DeeplyNestedRecursiveData_ThrowsAvroExceptionInsteadOfOverflowingStack()
    {
        var schema = AvroSchema.Parse("""{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}""");
        var data = Enumerable.Repeat((byte)0x02, 100_000).Append((byte)0x00).ToArray();

        Assert.Throws<AvroException>(() => AvroDatum.Decode(schema, data));
    }

    [Fact]
    public void Decode_EveryTruncationOfAValidDatum_ThrowsAvroException()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("schemas", "interop.avsc")));
        var full = AvroDatum.Encode(schema, AvroSampleValues.Interop(schema));

        for (var length = 0; length < full.Length; length++)
        {
            var prefix = full.AsMemory(0, length);
            Assert.Throws<AvroException>(() => AvroDatum.Decode(schema, prefix));
        }
    }

    [Fact]
    public void Decode_RandomCorruption_OnlyEverThrowsAvroException()
    {
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("schemas", "interop.avsc")));
        var full = AvroDatum.Encode(schema, AvroSampleValues.Interop(schema));
        var random = new Random(20240501);
        var unexpected = new List<string>();

        for (var round = 0; round < 2000; round++)
        {
            var corrupt = (byte[])full.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            try
            {
                AvroDatum.Decode(schema, corrupt);
            }
            catch (AvroException)
            {
                // Expected for most corruptions.
            }
#pragma warning disable CA1031 // The point of the test is to catch any other exception type.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                unexpected.Add(ex.GetType().Name + ": " + ex.Message);
            }
        }

        Assert.Empty(unexpected);
    }
}
