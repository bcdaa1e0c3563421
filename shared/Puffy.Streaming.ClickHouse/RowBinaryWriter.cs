using System.Buffers.Binary;
using System.Text;

namespace Puffy.Streaming.ClickHouse;

/// <summary>
/// Encodes rows in ClickHouse's RowBinary format (little-endian, LEB128 string lengths, a 1-byte null flag before
/// Nullable values). The caller writes the columns in the order of the INSERT's column list.
/// </summary>
public sealed class RowBinaryWriter
{
    private byte[] _bytes;
    private int _count;

    public RowBinaryWriter(int initialCapacity = 64 * 1024) => _bytes = new byte[Math.Max(initialCapacity, 16)];

    public ReadOnlyMemory<byte> WrittenMemory => _bytes.AsMemory(0, _count);

    public int Length => _count;

    /// <summary>Forgets what was written, keeping the buffer.</summary>
    public void Reset() => _count = 0;

    /// <summary>Forgets what was written after the first <paramref name="length"/> bytes (e.g. a row that failed half-way).</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _count);
        _count = length;
    }

    /// <summary>The UInt64 written at <paramref name="offset"/>.</summary>
    public ulong UInt64At(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(0, _count).Slice(offset, 8));

    /// <summary>Overwrites the UInt64 written at <paramref name="offset"/> (a column whose value is known only later).</summary>
    public void SetUInt64At(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(_bytes.AsSpan(0, _count).Slice(offset, 8), value);

    public RowBinaryWriter UInt8(byte value)
    {
        GetSpan(1)[0] = value;
        Advance(1);
        return this;
    }

    public RowBinaryWriter Bool(bool value) => UInt8(value ? (byte)1 : (byte)0);

    public RowBinaryWriter UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(2), value);
        Advance(2);
        return this;
    }

    public RowBinaryWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(4), value);
        Advance(4);
        return this;
    }

    public RowBinaryWriter Int32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(GetSpan(4), value);
        Advance(4);
        return this;
    }

    public RowBinaryWriter Int64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(GetSpan(8), value);
        Advance(8);
        return this;
    }

    public RowBinaryWriter UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(8), value);
        Advance(8);
        return this;
    }

    public RowBinaryWriter Float64(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(GetSpan(8), value);
        Advance(8);
        return this;
    }

    public RowBinaryWriter String(string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        var span = GetSpan(max + 5);
        // Encode after a worst-case 5-byte length, then move the bytes back if the length needs fewer.
        var count = Encoding.UTF8.GetBytes(value, span[5..]);
        var lengthBytes = VarUInt(span, (ulong)count);
        if (lengthBytes != 5)
            span.Slice(5, count).CopyTo(span[lengthBytes..]);
        Advance(lengthBytes + count);
        return this;
    }

    /// <summary>A Date: days since 1970-01-01 as UInt16.</summary>
    public RowBinaryWriter Date(DateOnly value) => UInt16(checked((ushort)(value.DayNumber - UnixEpochDay)));

    /// <summary>A DateTime: unix seconds as UInt32 (the millisecond part is dropped; write it with <see cref="Milliseconds"/>).</summary>
    public RowBinaryWriter DateTime(DateTime value) => UInt32(UnixSeconds(value));

    /// <summary>The millisecond part (0–999) of a time, for the <c>*_ms UInt16</c> column next to a DateTime.</summary>
    public RowBinaryWriter Milliseconds(DateTime value) => UInt16(MillisecondPart(value));

    /// <summary>A Decimal(18,2): the value in cents as Int64, rounded half away from zero.</summary>
    public RowBinaryWriter Decimal18x2(decimal value) => Int64(decimal.ToInt64(decimal.Round(value * 100m, 0, MidpointRounding.AwayFromZero)));

    public RowBinaryWriter Null() => UInt8(1);

    public RowBinaryWriter NotNull() => UInt8(0);

    public RowBinaryWriter NullableString(string? value) => value is null ? Null() : NotNull().String(value);

    public RowBinaryWriter NullableDecimal18x2(decimal? value) => value is { } v ? NotNull().Decimal18x2(v) : Null();

    public RowBinaryWriter NullableDate(DateOnly? value) => value is { } v ? NotNull().Date(v) : Null();

    public RowBinaryWriter NullableDateTime(DateTime? value) => value is { } v ? NotNull().DateTime(v) : Null();

    public RowBinaryWriter NullableMilliseconds(DateTime? value) => value is { } v ? NotNull().Milliseconds(v) : Null();

    public RowBinaryWriter NullableInt32(int? value) => value is { } v ? NotNull().Int32(v) : Null();

    public RowBinaryWriter NullableInt64(long? value) => value is { } v ? NotNull().Int64(v) : Null();

    public RowBinaryWriter StringArray(IReadOnlyList<string> values)
    {
        VarUInt((ulong)values.Count);
        foreach (var v in values)
            String(v);
        return this;
    }

    public void Clear()
    {
        Array.Clear(_bytes, 0, _count);
        _count = 0;
    }

    private Span<byte> GetSpan(int size)
    {
        if (_bytes.Length - _count < size)
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _count + size));
        return _bytes.AsSpan(_count);
    }

    private void Advance(int count) => _count += count;

    private void VarUInt(ulong value) => Advance(VarUInt(GetSpan(10), value));

    private static int VarUInt(Span<byte> span, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        return i;
    }

    private static readonly int UnixEpochDay = DateOnly.FromDateTime(System.DateTime.UnixEpoch).DayNumber;

    /// <summary>Seconds since the epoch; times are UTC (an Unspecified kind is taken as UTC, Local is converted).</summary>
    public static uint UnixSeconds(DateTime value) => checked((uint)(Ticks(value) / TimeSpan.TicksPerSecond));

    public static ushort MillisecondPart(DateTime value) => (ushort)(Ticks(value) % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMillisecond);

    /// <summary>Whether a DateTime column can hold the time (1970-01-01 to 2106-02-07 UTC).</summary>
    public static bool IsStorable(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        var seconds = (utc.Ticks - System.DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
        return utc.Ticks >= System.DateTime.UnixEpoch.Ticks && seconds <= uint.MaxValue;
    }

    private static long Ticks(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        var ticks = utc.Ticks - System.DateTime.UnixEpoch.Ticks;
        if (ticks < 0)
            throw new ArgumentOutOfRangeException(nameof(value), value, "ClickHouse DateTime cannot hold times before 1970-01-01");
        return ticks;
    }
}
