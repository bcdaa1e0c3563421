using System.Globalization;

namespace Puffy.Streaming.LocalServers;

/// <summary>What a Redis server holds: <c>used_memory</c> from INFO memory (bytes) and DBSIZE (keys).</summary>
public sealed record RedisMemory(long UsedMemory, long Keys);

public sealed partial class LocalRedis
{
    private static readonly byte[] MemoryCommands = "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n*1\r\n$6\r\nDBSIZE\r\n"u8.ToArray();

    /// <summary>
    /// INFO memory and DBSIZE over a fresh connection, logged in as the administrator; null when the server does not
    /// answer within a second.
    /// </summary>
    public async Task<RedisMemory?> MemoryAsync(CancellationToken cancellationToken = default)
    {
        byte[] command = [.. Auth("default", LocalSecret.Read(AdminPasswordFile) ?? string.Empty), .. MemoryCommands];
        return ParseMemory(AfterAuth(await SendAsync(Port, command, cancellationToken, reply => ParseMemory(AfterAuth(reply)) is not null)));
    }

    // The reply to AUTH comes first.
    private static string AfterAuth(string reply) => reply.StartsWith("+OK\r\n", StringComparison.Ordinal) ? reply[5..] : reply;

    // The INFO bulk string ("$N\r\n...\r\n"), then DBSIZE's integer reply (":K\r\n"); null until both are complete.
    internal static RedisMemory? ParseMemory(string reply)
    {
        var header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        if (!reply.StartsWith('$') || header < 0 || !int.TryParse(reply.AsSpan(1, header - 1), CultureInfo.InvariantCulture, out var length))
            return null;
        var bodyStart = header + 2;
        var next = bodyStart + length + 2;
        if (reply.Length < next)
            return null;
        var end = reply.IndexOf("\r\n", next, StringComparison.Ordinal);
        if (end < 0 || reply[next] != ':' || !long.TryParse(reply.AsSpan(next + 1, end - next - 1), CultureInfo.InvariantCulture, out var keys))
            return null;
        foreach (var line in reply.AsSpan(bodyStart, length).EnumerateLines())
        {
            if (line.StartsWith("used_memory:") && long.TryParse(line["used_memory:".Length..], CultureInfo.InvariantCulture, out var used))
                return new RedisMemory(used, keys);
        }

        return null;
    }
}
