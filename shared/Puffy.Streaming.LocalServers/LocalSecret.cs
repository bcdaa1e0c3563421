using System.Security.Cryptography;
using System.Text;

namespace Puffy.Streaming.LocalServers;

/// <summary>
/// A password of a local server, kept in a file readable by its owner only (mode 0600) beside the server's data, so
/// the server keeps it across restarts and clients read it from there; it never appears on a command line.
/// </summary>
public static class LocalSecret
{
    /// <summary>
    /// The password stored in <paramref name="file"/>: <paramref name="given"/> when set (stored, replacing any other),
    /// else the one stored earlier, else a new random one (stored).
    /// </summary>
    public static string Ensure(string file, string? given = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        if (string.IsNullOrEmpty(given) && Read(file) is { Length: > 0 } stored)
            return stored;
        var password = string.IsNullOrEmpty(given) ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) : given;
        if (password.Any(char.IsWhiteSpace))
            throw new ArgumentException("a password must not contain white space", nameof(given));
        Write(file, password);
        return password;
    }

    /// <summary>The password in <paramref name="file"/>, trimmed; null when the file does not exist.</summary>
    public static string? Read(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : null;

    /// <summary>SHA-256 of the password as lower-case hex: what Redis ACL files and ClickHouse users files store.</summary>
    public static string Sha256Hex(string password) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(password)));

    /// <summary>Writes a file that only its owner can read (0600 from its creation, never wider).</summary>
    public static void Write(string file, string content)
    {
        var temp = file + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
            stream.Write(Encoding.UTF8.GetBytes(content));
        File.Move(temp, file, overwrite: true);
    }
}
