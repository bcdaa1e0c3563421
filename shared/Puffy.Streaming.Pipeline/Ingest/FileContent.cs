using System.Globalization;
using System.Security.Cryptography;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>
/// Files are known by their content, not their name: a file whose bytes were read before is the same file under any
/// name, and new bytes under a name already read are a new file (semantics §8, <c>file_changed</c>).
/// </summary>
public static class FileContent
{
    /// <summary>SHA-256 of the bytes (64 lower-case hex digits), a colon, and their length.</summary>
    public static string Id(ReadOnlySpan<byte> content) =>
        string.Create(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(SHA256.HashData(content))}:{content.Length}");

    /// <summary>
    /// The name new content under an already-read name travels under: the name and the first 12 hex digits of its
    /// hash, so its rows, dead letters and file_stats row stay apart from the earlier content's and the day in the
    /// name still counts (<c>events_20250301.csv@3fa9c1d2e4b5</c>).
    /// </summary>
    public static string ChangedName(string name, string contentId) => $"{name}@{contentId[..12]}";

    /// <summary>Why a listed file could not be read, in words for the alert and file_stats.</summary>
    public static string UnreadableReason(string path, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        // .NET decodes file names as UTF-8 and shows bytes that are not UTF-8 as U+FFFD; such a name no longer
        // names the file, so the file can be listed but not opened.
        return Path.GetFileName(path).Contains('\uFFFD', StringComparison.Ordinal) && error is FileNotFoundException or DirectoryNotFoundException
            ? "its name is not valid UTF-8 (the bytes that are not show as U+FFFD), so it cannot be opened by name; rename it"
            : error.Message;
    }
}
