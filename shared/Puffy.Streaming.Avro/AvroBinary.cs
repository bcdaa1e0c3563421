using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Puffy.Streaming.Avro;

/// <summary>Reads Avro binary primitives from memory; every bound is checked so malformed input surfaces as <see cref="AvroException"/>.</summary>
internal sealed class AvroBinaryReader
{
    // Recursive schemas let a small input describe deep nesting; stop before the process stack does.
    private const int MaxDepth = 512;

    // Zero-byte items (null, empty records) are not bounded by the input size, so cap how many one input may claim.
    private const long MaxZeroSizeItems = 1L << 24;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlyMemory<byte> data;
    private int pos;
    private int depth;
    private long zeroSizeItems;

    public AvroBinaryReader(ReadOnlyMemory<byte> data) => this.data = data;

    public int Position => pos;

    public int Remaining => data.Length - pos;

    public bool AtEnd => pos >= data.Length;

    public bool ReadBoolean()
    {
        var b = ReadByte();
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw new AvroException($"invalid boolean byte 0x{b:x2} at offset {pos - 1}"),
        };
    }

    public int ReadInt()
    {
        var start = pos;
        uint raw = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = ReadByte();
            if (shift == 28 && b > 0x0f)
                throw new AvroException($"int varint at offset {start} is too long or overflows 32 bits");
            raw |= (uint)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return (int)(raw >> 1) ^ -(int)(raw & 1);
        }

        throw new AvroException($"int varint at offset {start} is too long");
    }

    public long ReadLong()
    {
        var start = pos;
        ulong raw = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            if (shift == 63 && b > 0x01)
                throw new AvroException($"long varint at offset {start} is too long or overflows 64 bits");
            raw |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return (long)(raw >> 1) ^ -(long)(raw & 1);
        }

        throw new AvroException($"long varint at offset {start} is too long");
    }

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(ReadSpan(4));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(ReadSpan(8));

    public byte[] ReadBytes() => ReadSpan(ReadLength()).ToArray();

    public string ReadString()
    {
        var start = pos;
        var span = ReadSpan(ReadLength());
        try
        {
            return StrictUtf8.GetString(span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new AvroException($"string at offset {start} is not valid UTF-8", ex);
        }
    }

    public void SkipLengthPrefixed() => Skip(ReadLength());

    public ReadOnlySpan<byte> ReadSpan(int count)
    {
        if (count > Remaining)
            throw new AvroException($"unexpected end of data: needed {count} bytes at offset {pos}, {Remaining} left");
        var span = data.Span.Slice(pos, count);
        pos += count;
        return span;
    }

    public void Skip(int count) => _ = ReadSpan(count);

    /// <summary>Reads the next block header of an array or map; returns 0 at the terminating block.</summary>
    public long ReadBlockCount(int minItemSize, out long byteSize)
    {
        var start = pos;
        var count = ReadLong();
        byteSize = -1;
        if (count < 0)
        {
            if (count == long.MinValue)
                throw new AvroException($"invalid block count at offset {start}");
            count = -count;
            byteSize = ReadLong();
            if (byteSize < 0 || byteSize > Remaining)
                throw new AvroException($"invalid block byte size {byteSize} at offset {start}");
        }

        if (minItemSize > 0)
        {
            if (count > Remaining / minItemSize)
                throw new AvroException($"block at offset {start} claims {count} items but only {Remaining} bytes remain");
        }
        else
        {
            zeroSizeItems += count;
            if (count > MaxZeroSizeItems || zeroSizeItems > MaxZeroSizeItems)
                throw new AvroException($"block at offset {start} claims too many zero-size items ({count})");
        }

        return count;
    }

    public void Enter()
    {
        if (++depth > MaxDepth)
            throw new AvroException($"data nests deeper than {MaxDepth} levels");
    }

    public void Exit() => depth--;

    private int ReadLength()
    {
        var start = pos;
        var len = ReadLong();
        if (len < 0)
            throw new AvroException($"negative length {len} at offset {start}");
        if (len > Remaining)
            throw new AvroException($"unexpected end of data: length {len} at offset {start} exceeds the {Remaining} bytes left");
        return (int)len;
    }

    private byte ReadByte()
    {
        if (pos >= data.Length)
            throw new AvroException($"unexpected end of data at offset {pos}");
        return data.Span[pos++];
    }
}

/// <summary>Writes Avro binary primitives into a growable buffer.</summary>
internal sealed class AvroBinaryWriter
{
    private readonly ArrayBufferWriter<byte> buffer;

    public AvroBinaryWriter(int initialCapacity = 256) => buffer = new ArrayBufferWriter<byte>(initialCapacity);

    public ReadOnlySpan<byte> WrittenSpan => buffer.WrittenSpan;

    public int Length => buffer.WrittenCount;

    public byte[] ToArray() => buffer.WrittenSpan.ToArray();

    public void Clear() => buffer.Clear();

    public void WriteBoolean(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteInt(int value) => WriteLong(value);

    public void WriteLong(long value)
    {
        var span = buffer.GetSpan(10);
        var z = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        while (z >= 0x80)
        {
            span[i++] = (byte)(z | 0x80);
            z >>= 7;
        }

        span[i++] = (byte)z;
        buffer.Advance(i);
    }

    public void WriteFloat(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    public void WriteDouble(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        WriteFixed(value);
    }

    public void WriteString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteLong(count);
        var written = Encoding.UTF8.GetBytes(value, buffer.GetSpan(count));
        buffer.Advance(written);
    }

    public void WriteFixed(ReadOnlySpan<byte> value) => buffer.Write(value);

    public void WriteByte(byte value)
    {
        buffer.GetSpan(1)[0] = value;
        buffer.Advance(1);
    }
}
