using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

public sealed class AvroFramingUnitTests
{
    private static readonly AvroSchema Schema = AvroSchema.Parse(
        """{"type":"record","name":"Ping","namespace":"t","fields":[{"name":"n","type":"int"}]}""");

    private static AvroRecord Ping(int n) => new(Schema) { ["n"] = n };

    [Fact]
    public void SingleObjectEncode_Header_IsMarkerThenLittleEndianFingerprint()
    {
        var message = AvroSingleObject.Encode(Schema, Ping(1));

        Assert.Equal(0xC3, message[0]);
        Assert.Equal(0x01, message[1]);
        Assert.Equal(Schema.Fingerprint64(), BitConverter.ToUInt64(message, 2));
        Assert.Equal(new byte[] { 0x02 }, message[10..]);
    }

    [Fact]
    public void SingleObjectDecode_OtherSchemaFingerprint_ThrowsAvroException()
    {
        var other = AvroSchema.Parse("""{"type":"record","name":"Pong","fields":[{"name":"n","type":"int"}]}""");

        Assert.Throws<AvroException>(() => AvroSingleObject.Decode(other, AvroSingleObject.Encode(Schema, Ping(1))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("C301")]
    [InlineData("C3020000000000000000")]
    public void SingleObjectReadFingerprint_BadHeader_ThrowsAvroException(string hex) =>
        Assert.Throws<AvroException>(() => AvroSingleObject.ReadFingerprint(Convert.FromHexString(hex)));

    [Fact]
    public void SingleObjectDecode_WithFingerprintLookup_ResolvesIntoReaderSchema()
    {
        var reader = AvroSchema.Parse(
            """{"type":"record","name":"Ping","namespace":"t","fields":[{"name":"n","type":"long"},{"name":"tag","type":"string","default":"none"}]}""");
        var message = AvroSingleObject.Encode(Schema, Ping(5));

        var record = Assert.IsType<AvroRecord>(AvroSingleObject.Decode(message, fp => fp == Schema.Fingerprint64() ? Schema : null, reader));

        Assert.Equal(5L, record["n"]);
        Assert.Equal("none", record["tag"]);
    }

    [Fact]
    public void ConfluentEncode_Header_IsZeroThenBigEndianId()
    {
        var message = AvroConfluent.Encode(0x01020304, Schema, Ping(-1));

        Assert.Equal("000102030401", Convert.ToHexString(message));
        Assert.Equal(0x01020304, AvroConfluent.ReadSchemaId(message));
        Assert.Equal(-1, Assert.IsType<AvroRecord>(AvroConfluent.Decode(Schema, message))["n"]);
    }

    [Theory]
    [InlineData("010000000102")] // wrong magic byte
    [InlineData("00000001")] // shorter than the 5-byte header
    public void ConfluentReadSchemaId_BadHeader_ThrowsAvroException(string hex) =>
        Assert.Throws<AvroException>(() => AvroConfluent.ReadSchemaId(Convert.FromHexString(hex)));

    [Fact]
    public void ContainerWrite_ManyRecords_SpansBlocksAndReadsBack()
    {
        var records = Enumerable.Range(0, 50_000).Select(i => (object?)Ping(i)).ToList();
        using var buffer = new MemoryStream();

        AvroContainerWriter.Write(buffer, Schema, records, AvroContainerCodec.Deflate);
        buffer.Position = 0;
        using var reader = AvroContainerReader.Open(buffer);
        var read = reader.ReadRecords().Cast<AvroRecord>().Select(r => (int)r["n"]!).ToList();

        Assert.Equal(Enumerable.Range(0, 50_000), read);
        Assert.Equal("deflate", System.Text.Encoding.UTF8.GetString(reader.Metadata["avro.codec"]));
    }

    [Fact]
    public void ContainerRead_WithReaderSchema_ResolvesEveryRecord()
    {
        var readerSchema = AvroSchema.Parse(
            """{"type":"record","name":"Ping","namespace":"t","fields":[{"name":"n","type":"double"}]}""");
        using var buffer = new MemoryStream();
        AvroContainerWriter.Write(buffer, Schema, [Ping(1), Ping(2)]);
        buffer.Position = 0;

        using var reader = AvroContainerReader.Open(buffer, readerSchema);

        Assert.Equal(new object?[] { 1.0, 2.0 }, reader.ReadRecords().Cast<AvroRecord>().Select(r => r["n"]).ToArray());
    }

    [Fact]
    public void ContainerRead_BadMagic_ThrowsAvroException()
    {
        using var buffer = new MemoryStream("Obj\u0002"u8.ToArray());

        Assert.Throws<AvroException>(() => AvroContainerReader.Open(buffer));
    }

    [Fact]
    public void ContainerRead_CorruptSyncMarker_ThrowsAvroException()
    {
        var bytes = WriteTwoPings();
        bytes[^1] ^= 0xFF;
        using var reader = AvroContainerReader.Open(new MemoryStream(bytes));

        Assert.Throws<AvroException>(() => reader.ReadRecords().ToList());
    }

    [Fact]
    public void ContainerRead_EveryTruncationExceptAfterHeader_ThrowsAvroException()
    {
        var bytes = WriteTwoPings();
        using var headerOnly = new MemoryStream();
        AvroContainerWriter.Write(headerOnly, Schema, []);
        var headerLength = (int)headerOnly.Length;

        // A header followed by no blocks is a valid empty file.
        using (var empty = AvroContainerReader.Open(new MemoryStream(bytes[..headerLength])))
            Assert.Empty(empty.ReadRecords());

        for (var length = 0; length < bytes.Length; length++)
        {
            if (length == headerLength)
                continue;
            var prefix = bytes[..length];
            Assert.Throws<AvroException>(() =>
            {
                using var reader = AvroContainerReader.Open(new MemoryStream(prefix));
                _ = reader.ReadRecords().ToList();
            });
        }
    }

    [Fact]
    public void ContainerRead_UnsupportedCodec_ThrowsAvroException()
    {
        var header = new AvroBinaryWriter();
        header.WriteFixed("Obj\u0001"u8);
        header.WriteLong(2);
        header.WriteString("avro.schema");
        header.WriteBytes("\"int\""u8);
        header.WriteString("avro.codec");
        header.WriteBytes("snappy"u8);
        header.WriteLong(0);
        header.WriteFixed(new byte[16]);

        Assert.Throws<AvroException>(() => AvroContainerReader.Open(new MemoryStream(header.ToArray())));
    }

    private static byte[] WriteTwoPings()
    {
        using var buffer = new MemoryStream();
        AvroContainerWriter.Write(buffer, Schema, [Ping(1), Ping(2)]);
        return buffer.ToArray();
    }
}
