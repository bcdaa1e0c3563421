using System.Text.Json;
using Puffy.Streaming.Avro;

namespace Puffy.Streaming.UnitTests.Avro;

/// <summary>Checks against files produced by the Apache Avro Java implementation.</summary>
public sealed class AvroConformanceUnitTests
{
    [Fact]
    public async Task SingleObject_JavaMessage_FingerprintMatchesCanonicalForm()
    {
        var schema = AvroSchema.Parse(await File.ReadAllTextAsync(AvroTestData.PathOf("messageV1", "test_schema.avsc"), TestContext.Current.CancellationToken));
        var message = await File.ReadAllBytesAsync(AvroTestData.PathOf("messageV1", "test_message.bin"), TestContext.Current.CancellationToken);

        Assert.Equal(
            "{\"name\":\"org.apache.avro.TestMessage\",\"type\":\"record\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}",
            schema.ToCanonicalForm());
        Assert.Equal(schema.Fingerprint64(), AvroSingleObject.ReadFingerprint(message));
    }

    [Fact]
    public async Task SingleObject_JavaMessage_DecodesToDocumentedValuesAndReencodesIdentically()
    {
        var schema = AvroSchema.Parse(await File.ReadAllTextAsync(AvroTestData.PathOf("messageV1", "test_schema.avsc"), TestContext.Current.CancellationToken));
        var message = await File.ReadAllBytesAsync(AvroTestData.PathOf("messageV1", "test_message.bin"), TestContext.Current.CancellationToken);

        var record = Assert.IsType<AvroRecord>(AvroSingleObject.Decode(schema, message));

        Assert.Equal(42L, record["id"]);
        Assert.Equal("Bill", record["name"]);
        Assert.Equal(new List<object?> { "dog_lover", "cat_hater" }, record["tags"]);
        Assert.Equal(message, AvroSingleObject.Encode(schema, record));
    }

    [Theory]
    [InlineData("weather.avro", AvroContainerCodec.Null)]
    [InlineData("weather-deflate.avro", AvroContainerCodec.Deflate)]
    public async Task ContainerFile_Weather_MatchesJsonLines(string file, AvroContainerCodec codec)
    {
        var expected = (await File.ReadAllLinesAsync(AvroTestData.PathOf("weather", "weather.json"), TestContext.Current.CancellationToken))
            .Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToList();

        using var reader = AvroContainerReader.Open(File.OpenRead(AvroTestData.PathOf("weather", file)));
        var records = reader.ReadRecords().Cast<AvroRecord>().ToList();

        Assert.Equal(codec, reader.Codec);
        Assert.Equal("test.Weather", reader.WriterSchema.FullName);
        Assert.Equal(expected.Count, records.Count);
        Assert.NotEmpty(records);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(expected[i].GetProperty("station").GetString(), records[i]["station"]);
            Assert.Equal(expected[i].GetProperty("time").GetInt64(), records[i]["time"]);
            Assert.Equal(expected[i].GetProperty("temp").GetInt32(), records[i]["temp"]);
        }
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("withUnion")]
    public async Task ContainerFile_SchemaFolders_DecodeValidateAndRoundTrip(string folder)
    {
        var declared = AvroSchema.Parse(await File.ReadAllTextAsync(AvroTestData.PathOf("schemas", folder, "schema.json"), TestContext.Current.CancellationToken));

        using var reader = AvroContainerReader.Open(File.OpenRead(AvroTestData.PathOf("schemas", folder, "data.avro")));
        var records = reader.ReadRecords().ToList();

        Assert.Equal(declared.ToCanonicalForm(), reader.WriterSchema.ToCanonicalForm());
        Assert.NotEmpty(records);
        foreach (var record in records)
        {
            Assert.True(AvroDatum.IsValid(declared, record), $"record does not match its schema: {record}");
            Assert.True(AvroDatum.DeepEquals(record, AvroDatum.Decode(declared, AvroDatum.Encode(declared, record))));
        }
    }

    [Theory]
    [InlineData("weather", "weather.avro")]
    [InlineData("weather", "weather-deflate.avro")]
    [InlineData("schemas/simple", "data.avro")]
    [InlineData("schemas/withUnion", "data.avro")]
    public void ContainerFile_RewrittenWithBothCodecs_ReadsBackTheSameRecords(string folder, string file)
    {
        List<object?> original;
        AvroSchema schema;
        using (var reader = AvroContainerReader.Open(File.OpenRead(Path.Combine(AvroTestData.Root, folder, file))))
        {
            schema = reader.WriterSchema;
            original = reader.ReadRecords().ToList();
        }

        foreach (var codec in new[] { AvroContainerCodec.Null, AvroContainerCodec.Deflate })
        {
            using var buffer = new MemoryStream();
            AvroContainerWriter.Write(buffer, schema, original, codec);
            buffer.Position = 0;

            using var reread = AvroContainerReader.Open(buffer);
            Assert.Equal(codec, reread.Codec);
            Assert.True(AvroDatum.DeepEquals(original, reread.ReadRecords().ToList()));
        }
    }

    [Fact]
    public async Task InteropSchema_BuiltValue_RoundTripsThroughEveryFraming()
    {
        var schema = AvroSchema.Parse(await File.ReadAllTextAsync(AvroTestData.PathOf("schemas", "interop.avsc"), TestContext.Current.CancellationToken));
        var value = AvroSampleValues.Interop(schema);

        Assert.True(AvroDatum.IsValid(schema, value));
        Assert.True(AvroDatum.DeepEquals(value, AvroDatum.Decode(schema, AvroDatum.Encode(schema, value))));
        Assert.True(AvroDatum.DeepEquals(value, AvroSingleObject.Decode(schema, AvroSingleObject.Encode(schema, value))));
        Assert.True(AvroDatum.DeepEquals(value, AvroConfluent.Decode(schema, AvroConfluent.Encode(7, schema, value))));
    }
}
