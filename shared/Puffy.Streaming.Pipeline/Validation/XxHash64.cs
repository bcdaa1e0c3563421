using System.Buffers.Binary;
using System.Numerics;

namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>XXH64 (the xxHash 64-bit algorithm, as specified by its reference implementation).</summary>
public static class XxHash64
{
    private const ulong P1 = 11400714785074694791UL;
    private const ulong P2 = 14029467366897019727UL;
    private const ulong P3 = 1609587929392839161UL;
    private const ulong P4 = 9650029242287828579UL;
    private const ulong P5 = 2870177450012600261UL;

    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = 0)
    {
        var len = data.Length;
        ulong h;
        var i = 0;
        if (len >= 32)
        {
            var v1 = seed + P1 + P2;
            var v2 = seed + P2;
            var v3 = seed;
            var v4 = seed - P1;
            do
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
                v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 8)..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 16)..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 24)..]));
                i += 32;
            }
            while (i <= len - 32);

            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
            h = Merge(h, v1);
            h = Merge(h, v2);
            h = Merge(h, v3);
            h = Merge(h, v4);
        }
        else
        {
            h = seed + P5;
        }

        h += (ulong)len;
        while (i + 8 <= len)
        {
            h ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
            h = (BitOperations.RotateLeft(h, 27) * P1) + P4;
            i += 8;
        }

        if (i + 4 <= len)
        {
            h ^= BinaryPrimitives.ReadUInt32LittleEndian(data[i..]) * P1;
            h = (BitOperations.RotateLeft(h, 23) * P2) + P3;
            i += 4;
        }

        while (i < len)
        {
            h ^= data[i] * P5;
            h = BitOperations.RotateLeft(h, 11) * P1;
            i++;
        }

        h ^= h >> 33;
        h *= P2;
        h ^= h >> 29;
        h *= P3;
        h ^= h >> 32;
        return h;
    }

    private static ulong Round(ulong acc, ulong input)
    {
        acc += input * P2;
        acc = BitOperations.RotateLeft(acc, 31);
        return acc * P1;
    }

    private static ulong Merge(ulong acc, ulong val)
    {
        acc ^= Round(0, val);
        return (acc * P1) + P4;
    }
}
