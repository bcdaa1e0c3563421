namespace Puffy.Streaming.Avro;

/// <summary>CRC-64-AVRO, the Rabin fingerprint the specification defines for schema fingerprints.</summary>
public static class AvroFingerprint
{
    /// <summary>Fingerprint of the empty input; also the polynomial.</summary>
    public const ulong Empty = 0xc15d213aa4d7a795UL;

    private static readonly ulong[] Table = BuildTable();

    public static ulong Compute(ReadOnlySpan<byte> data)
    {
        var fp = Empty;
        foreach (var b in data)
            fp = (fp >> 8) ^ Table[(int)(fp ^ b) & 0xff];
        return fp;
    }

    private static ulong[] BuildTable()
    {
        var table = new ulong[256];
        for (var i = 0; i < 256; i++)
        {
            var fp = (ulong)i;
            for (var j = 0; j < 8; j++)
                fp = (fp >> 1) ^ (Empty & (0UL - (fp & 1)));
            table[i] = fp;
        }

        return table;
    }
}
