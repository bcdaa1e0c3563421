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

    /// <summary>infra/clickhouse of the repository the command runs from.</summary>
    public static string SchemaFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "infra", "clickhouse")))
            dir = dir.Parent;
        return dir is null
            ? throw new InvalidOperationException("cannot find infra/clickhouse above " + AppContext.BaseDirectory)
            : Path.Combine(dir.FullName, "infra", "clickhouse");
    }
}
