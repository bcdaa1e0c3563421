using System.IO.Hashing;

namespace Puffy.Streaming.Embedded;

/// <summary>
/// The files a run has read, known by content: a file with the same bytes as one read before is a copy of it.
/// <para>
/// Equal content has an equal length and an equal fingerprint (XxHash3's 128 bits), so a file that matches no earlier
/// file on both is new, and is told so without a cryptographic hash: SHA-256 over every file took 3 % of an x100
/// run's CPU, on the reading thread. A file that does match an earlier one is compared with it byte for byte, the
/// earlier one read again from disk, so a crafted collision of fingerprints cannot make a file pass for a copy.
/// </para>
/// </summary>
internal sealed class ContentIndex
{
    private readonly Dictionary<(long Length, UInt128 Fingerprint), List<(string Name, string Path)>> _read = [];

    /// <summary>
    /// The name of the earlier file whose bytes <paramref name="content"/> repeats, or null when it repeats none; a new
    /// content is remembered as <paramref name="name"/>'s.
    /// </summary>
    /// <remarks>An earlier file that can no longer be read, or now differs, is not taken for the original.</remarks>
    public string? CopyOf(string name, string path, ReadOnlySpan<byte> content)
    {
        var key = ((long)content.Length, XxHash128.HashToUInt128(content));
        if (_read.TryGetValue(key, out var earlier))
        {
            foreach (var (earlierName, earlierPath) in earlier)
            {
                if (HasContent(earlierPath, content))
                    return earlierName;
            }
        }
        else
        {
            _read[key] = earlier = [];
        }

        earlier.Add((name, path));
        return null;
    }

    private static bool HasContent(string path, ReadOnlySpan<byte> content)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().SequenceEqual(content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
