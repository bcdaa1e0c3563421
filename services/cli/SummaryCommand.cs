using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy summary --from clickhouse --out FILE</c>: summary.json computed from the ClickHouse tables.</summary>
internal static class SummaryCommand
{
    public static async Task<int> ExecuteAsync(Dictionary<string, string?> options)
    {
        var from = CommandLine.Required(options, "from");
        if (from != "clickhouse")
            throw new UsageException("--from must be clickhouse");
        var outFile = CommandLine.Required(options, "out");
        using var client = ClickHouseTarget.FromOptions(options, required: true)!;
        var summary = await ClickHouseSummary.ReadAsync(client);
        var dir = Path.GetDirectoryName(Path.GetFullPath(outFile));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(outFile, summary.ToJson());
        Console.Out.WriteLine($"wrote {outFile} from ClickHouse database {client.Database}: {summary.RowsRead:N0} rows, {summary.Sessions:N0} sessions, {summary.Orders:N0} orders");
        return CommandLine.Ok;
    }
}
