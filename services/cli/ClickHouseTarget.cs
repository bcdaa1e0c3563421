using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.Cli;

/// <summary>The ClickHouse server named by <c>--clickhouse URL</c> (or <c>CLICKHOUSE_URL</c>) and <c>--database</c>.</summary>
internal static class ClickHouseTarget
{
    public static ClickHouseClient? Create(string? url, string database, bool required = false)
    {
        // Where a server is required and none is named, the running local stack's ClickHouse.
        url ??= Environment.GetEnvironmentVariable("CLICKHOUSE_URL")
            ?? (required ? LocalStack.Load(LocalStack.DefaultRoot)?.ClickHouseUrl.ToString() : null);
        if (string.IsNullOrWhiteSpace(url))
            return required ? throw new UsageException("--clickhouse URL (or CLICKHOUSE_URL) is required") : null;
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUrl))
            throw new UsageException($"'{url}' is not a URL");
        return new ClickHouseClient(new ClickHouseOptions
        {
            BaseUrl = baseUrl,
            Database = database,
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
