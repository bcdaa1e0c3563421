using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Puffy.Streaming.Avro;

public enum AvroContainerCodec
{
    Null,
    Deflate,
}

/// <summary>Reads an Avro object container file: header (magic, metadata, sync marker) then data blocks.</summary>
public sealed class AvroContainerReader : IDisposable
{
    private const int SyncLength = 16;
    private static readonly byte[] Magic = [(byte)'O', (byte)'b', (byte)'j', 1];

    private readonly Stream stream;
    private readonly bool leaveOpen;
    private readonly byte[] sync = new byte[SyncLength];

    private AvroContainerReader(Stream stream, AvroSchema? readerSchema, bool leaveOpen)
    {
        this.stream = stream;
        this.leaveOpen = leaveOpen;
        var magic = ReadExact(Magic.Length);
        if (!magic.AsSpan().SequenceEqual(Magic))
            throw new AvroException("not an Avro object container file (bad magic)");

        var metadata = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long count;
        while ((count = ReadLong(allowEof: false)!.Value) != 0)
        {
            if (count < 0)
            {
                if (count == long.MinValue)
                    throw new AvroException("invalid metadata block count");
                count = -count;
                _ = ReadLong(allowEof: false);
            }

            for (long i = 0; i < count; i++)
            {
                var key = Encoding.UTF8.GetString(ReadExact(ReadLength()));
                metadata[key] = ReadExact(ReadLength());
            }
        }

        Metadata = metadata;
        if (!metadata.TryGetValue("avro.schema", out var schemaJson))
            throw new AvroException("container header has no avro.schema");
        WriterSchema = AvroSchema.Parse(Encoding.UTF8.GetString(schemaJson));
        ReaderSchema = readerSchema ?? WriterSchema;
        var codecName = metadata.TryGetValue("avro.codec", out var codecBytes) ? Encoding.UTF8.GetString(codecBytes) : "null";
        Codec = codecName switch
        {
            "null" => AvroContainerCodec.Null,
            "deflate" => AvroContainerCodec.Deflate,
            _ => throw new AvroException($"unsupported container codec '{codecName}'"),
        };
        ReadExact(SyncLength).CopyTo(sync, 0);
    }

    public AvroSchema WriterSchema { get; }

    public AvroSchema ReaderSchema { get; }

    public AvroContainerCodec Codec { get; }

    public IReadOnlyDictionary<string, byte[]> Metadata { get; }

    /// <summary>Reads the header; records are then read lazily through <see cref="ReadRecords"/>.</summary>
    public static AvroContainerReader Open(Stream stream, AvroSchema? readerSchema = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return new AvroContainerReader(stream, readerSchema, leaveOpen);
        }
        catch
        {
            if (!leaveOpen)
                stream.Dispose();
            throw;
        }
    }

    /// <summary>Enumerates every record of every remaining block (single pass).</summary>
    public IEnumerable<object?> ReadRecords()
    {
        var minSize = WriterSchema.MinEncodedSize;
        var resolve = !ReferenceEquals(WriterSchema, ReaderSchema);
        while (ReadLong(allowEof: true) is long count)
        {
            if (count < 0)
                throw new AvroException($"negative block record count {count}");
            var size = ReadLong(allowEof: false)!.Value;
            if (size < 0 || size > int.MaxValue)
                throw new AvroException($"invalid block byte size {size}");
            var block = ReadExact((int)size);
            if (Codec == AvroContainerCodec.Deflate)
                block = Inflate(block);
            if (minSize > 0 ? count > block.Length / minSize : count > 1 << 24)
                throw new AvroException($"block claims {count} records but holds only {block.Length} bytes");

            var reader = new AvroBinaryReader(block);
            var resolver = resolve ? new ResolvingReader(reader) : null;
            for (long i = 0; i < count; i++)
                yield return resolver is null ? DatumReader.Read(reader, WriterSchema) : resolver.Read(WriterSchema, ReaderSchema);
            if (!reader.AtEnd)
                throw new AvroException($"block has {reader.Remaining} bytes left after its {count} records");
            if (!ReadExact(SyncLength).AsSpan().SequenceEqual(sync))
                throw new AvroException("block sync marker does not match the header's");
        }
    }

    public void Dispose()
    {
        if (!leaveOpen)
            stream.Dispose();
    }

    private static byte[] Inflate(byte[] compressed)
    {
        try
        {
            using var input = new MemoryStream(compressed, writable: false);
            using var inflater = new DeflateStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            inflater.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new AvroException("deflate block is corrupt", ex);
        }
    }

    private int ReadLength()
    {
        var len = ReadLong(allowEof: false)!.Value;
        return len is >= 0 and <= int.MaxValue ? (int)len : throw new AvroException($"invalid length {len} in container header");
    }

    private long? ReadLong(bool allowEof)
    {
        ulong raw = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                if (allowEof && shift == 0)
                    return null;
                throw new AvroException("unexpected end of container file inside a varint");
            }

            if (shift == 63 && b > 1)
                break;
            raw |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return (long)(raw >> 1) ^ -(long)(raw & 1);
        }

        throw new AvroException("varint in container file is too long");
    }

    private byte[] ReadExact(int count)
    {
        // Check the claim against the stream before allocating, so a forged size cannot force a huge allocation.
        if (stream.CanSeek && count > stream.Length - stream.Position)
            throw new AvroException($"unexpected end of container file: {count} bytes claimed, {stream.Length - stream.Position} left");
        var buffer = new byte[count];
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new AvroException("unexpected end of container file", ex);
        }

        return buffer;
    }
}

/// <summary>Writes an Avro object container file.</summary>
public static class AvroContainerWriter
{
    private const int BlockBytes = 64 * 1024;

    public static void Write(Stream output, AvroSchema schema, IEnumerable<object?> records, AvroContainerCodec codec = AvroContainerCodec.Null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(records);
        var sync = RandomNumberGenerator.GetBytes(16);

        var header = new AvroBinaryWriter();
        header.WriteFixed("Obj\u0001"u8);
        header.WriteLong(2);
        header.WriteString("avro.schema");
        header.WriteBytes(Encoding.UTF8.GetBytes(schema.ToJson()));
        header.WriteString("avro.codec");
        header.WriteBytes(codec == AvroContainerCodec.Deflate ? "deflate"u8 : "null"u8);
        header.WriteLong(0);
        header.WriteFixed(sync);
        output.Write(header.WrittenSpan);

        var block = new AvroBinaryWriter(BlockBytes);
        var count = 0L;
        foreach (var record in records)
        {
            DatumWriter.Write(block, schema, record, 0);
            count++;
            if (block.Length >= BlockBytes)
            {
                FlushBlock(output, block, count, codec, sync);
                count = 0;
            }
        }

        if (count > 0)
            FlushBlock(output, block, count, codec, sync);
    }

    private static void FlushBlock(Stream output, AvroBinaryWriter block, long count, AvroContainerCodec codec, byte[] sync)
    {
        ReadOnlySpan<byte> data = block.WrittenSpan;
        byte[]? compressed = null;
        if (codec == AvroContainerCodec.Deflate)
        {
            using var ms = new MemoryStream();
            using (var deflater = new DeflateStream(ms, CompressionLevel.Optimal, leaveOpen: true))
                deflater.Write(data);
            compressed = ms.ToArray();
            data = compressed;
        }

        var prefix = new AvroBinaryWriter(24);
        prefix.WriteLong(count);
        prefix.WriteLong(data.Length);
        output.Write(prefix.WrittenSpan);
        output.Write(data);
        output.Write(sync);
        block.Clear();
    }
}
