using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.Cli;

/// <summary>
/// The ClickHouse server named by <c>--clickhouse URL</c> (or <c>CLICKHOUSE_URL</c>) and <c>--database</c>, with the
/// credentials of <c>CLICKHOUSE_USER</c> and <c>CLICKHOUSE_PASSWORD</c> or <c>CLICKHOUSE_PASSWORD_FILE</c> (or a user
/// and password in the URL). Without a URL, where a server is required (summary, report: reads), the running local
/// stack's, as its read-only analyst (<paramref name="localStack"/>, given by the full command line).
/// </summary>
internal static class ClickHouseTarget
{
    public static ClickHouseClient? Create(string? url, string database, bool required = false, Func<string, ClickHouseClient?>? localStack = null)
    {
        url ??= Environment.GetEnvironmentVariable("CLICKHOUSE_URL");
        if (string.IsNullOrWhiteSpace(url) && required && localStack?.Invoke(database) is { } local)
            return local;

        if (string.IsNullOrWhiteSpace(url))
            return required ? throw new UsageException("--clickhouse URL (or CLICKHOUSE_URL) is required") : null;
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUrl))
            throw new UsageException($"'{url}' is not a URL");
        return new ClickHouseClient(new ClickHouseOptions
        {
            BaseUrl = baseUrl,
            Database = database,
            User = Environment.GetEnvironmentVariable("CLICKHOUSE_USER") is { Length: > 0 } user ? user : null,
            Password = Environment.GetEnvironmentVariable("CLICKHOUSE_PASSWORD") is { Length: > 0 } password ? password : null,
            PasswordFile = Environment.GetEnvironmentVariable("CLICKHOUSE_PASSWORD_FILE") is { Length: > 0 } file ? file : null,
        });
    }

    /// <summary>
    /// infra/clickhouse of the repository the program was built in (above its own folder) or, for a program copied
    /// elsewhere, of the one the command runs in (above the current folder).
    /// </summary>
    public static string SchemaFolder() =>
        SchemaFolderAbove(AppContext.BaseDirectory) ?? SchemaFolderAbove(Environment.CurrentDirectory)
        ?? throw new InvalidOperationException(
            $"cannot find infra/clickhouse above {AppContext.BaseDirectory} or above the current folder {Environment.CurrentDirectory}");

    private static string? SchemaFolderAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var schema = Path.Combine(dir.FullName, "infra", "clickhouse");
            if (Directory.Exists(schema))
                return schema;
        }

        return null;
    }
}
