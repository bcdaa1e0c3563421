using System.Globalization;
using System.Security.Cryptography;

namespace Puffy.Streaming.Pipeline.Ingest;

/// <summary>
/// What one replay of the ingestor did: files sent, files skipped because an earlier replay sent them completely,
/// files that could not be read, and the rows sent. The ingestor writes it as JSON for <c>./puffy replay</c>.
/// </summary>
public sealed record ReplayReport(string ReplayId, int FilesSent, int FilesSkipped, int FilesFailed, long RowsSent)
{
    /// <summary><c>r-</c>, the UTC time to the second and 6 random hex digits: sorts by time; replays started in the same second differ all but surely.</summary>
    public static string NewReplayId() =>
        string.Create(CultureInfo.InvariantCulture, $"r-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{RandomNumberGenerator.GetHexString(6, lowercase: true)}");
}
