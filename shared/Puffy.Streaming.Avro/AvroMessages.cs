using System.Buffers.Binary;

namespace Puffy.Streaming.Avro;

/// <summary>Avro single-object encoding: C3 01, the writer schema's CRC-64-AVRO fingerprint (little-endian), then the body.</summary>
public static class AvroSingleObject
{
    public const int HeaderLength = 10;

    public static byte[] Encode(AvroSchema schema, object? value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var writer = new AvroBinaryWriter();
        writer.WriteByte(0xC3);
        writer.WriteByte(0x01);
        Span<byte> fp = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(fp, schema.Fingerprint64());
        writer.WriteFixed(fp);
        DatumWriter.Write(writer, schema, value, 0);
        return writer.ToArray();
    }

    public static bool HasMarker(ReadOnlySpan<byte> message) =>
        message.Length >= HeaderLength && message[0] == 0xC3 && message[1] == 0x01;

    public static ulong ReadFingerprint(ReadOnlySpan<byte> message) =>
        HasMarker(message)
            ? BinaryPrimitives.ReadUInt64LittleEndian(message[2..HeaderLength])
            : throw new AvroException("not an Avro single-object message (missing C3 01 marker or shorter than 10 bytes)");

    /// <summary>Decodes a message that must have been written with <paramref name="schema"/> (fingerprints must agree).</summary>
    public static object? Decode(AvroSchema schema, ReadOnlyMemory<byte> message)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var fp = ReadFingerprint(message.Span);
        if (fp != schema.Fingerprint64())
            throw new AvroException($"message fingerprint {fp:x16} does not match the schema's {schema.Fingerprint64():x16}");
        return AvroDatum.Decode(schema, message[HeaderLength..]);
    }

    /// <summary>Looks up the writer schema by fingerprint and resolves the body into <paramref name="readerSchema"/>.</summary>
    public static object? Decode(ReadOnlyMemory<byte> message, Func<ulong, AvroSchema?> writerSchemaByFingerprint, AvroSchema readerSchema)
    {
        ArgumentNullException.ThrowIfNull(writerSchemaByFingerprint);
        ArgumentNullException.ThrowIfNull(readerSchema);
        var fp = ReadFingerprint(message.Span);
        var writer = writerSchemaByFingerprint(fp) ?? throw new AvroException($"no writer schema known for fingerprint {fp:x16}");
        return AvroDatum.Decode(writer, readerSchema, message[HeaderLength..]);
    }
}

/// <summary>Confluent Schema Registry wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body.</summary>
public static class AvroConfluent
{
    public const int HeaderLength = 5;

    public static byte[] Encode(int schemaId, AvroSchema schema, object? value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var writer = new AvroBinaryWriter();
        writer.WriteByte(0);
        Span<byte> id = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(id, schemaId);
        writer.WriteFixed(id);
        DatumWriter.Write(writer, schema, value, 0);
        return writer.ToArray();
    }

    public static int ReadSchemaId(ReadOnlySpan<byte> message) =>
        message.Length >= HeaderLength && message[0] == 0
            ? BinaryPrimitives.ReadInt32BigEndian(message[1..HeaderLength])
            : throw new AvroException("not a Confluent-framed message (missing magic byte 0 or shorter than 5 bytes)");

    /// <summary>Decodes the body with the writer schema (resolved from <see cref="ReadSchemaId"/> by the caller), optionally into a reader schema.</summary>
    public static object? Decode(AvroSchema writerSchema, ReadOnlyMemory<byte> message, AvroSchema? readerSchema = null)
    {
        ArgumentNullException.ThrowIfNull(writerSchema);
        _ = ReadSchemaId(message.Span);
        var body = message[HeaderLength..];
        return readerSchema is null ? AvroDatum.Decode(writerSchema, body) : AvroDatum.Decode(writerSchema, readerSchema, body);
    }
}
