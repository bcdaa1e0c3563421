using System.CommandLine;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy summary --from clickhouse --out FILE</c>: summary.json computed from the ClickHouse tables.</summary>
internal static class SummaryCommand
{
    internal sealed record Options(string Out, string? ClickHouse, string Database);

    public static Command Create()
    {
        var from = CliOptions.Checked(
            new Option<string>("--from") { Description = "Where the figures come from: clickhouse", HelpName = "clickhouse", Required = true },
            v => v == "clickhouse" ? null : $"--from must be clickhouse, not '{v}'");
        var outFile = new Option<string>("--out")
        {
            Description = "The summary.json file to write (a folder or an unwritable location is a usage error)",
            HelpName = "FILE",
            Required = true,
        };
        var clickHouse = CliOptions.ClickHouse("The ClickHouse server [default: CLICKHOUSE_URL, else the running local stack's]");
        var database = CliOptions.Database();
        var command = new Command("summary", "Writes summary.json computed from the ClickHouse tables (every query with FINAL).")
        {
            from, outFile, clickHouse, database,
        };
        command.SetAction((r, _) => ExecuteAsync(
            new Options(r.GetRequiredValue(outFile), r.GetValue(clickHouse), r.GetRequiredValue(database)),
            r.InvocationConfiguration.Output));
        return command;
    }

    public static async Task<int> ExecuteAsync(Options options, TextWriter output)
    {
        var outFile = options.Out;
        CliOptions.EnsureWritableFile(outFile, "--out");
        using var client = ClickHouseTarget.Create(options.ClickHouse, options.Database, required: true, LocalStack.ClickHouseAnalyst)!;
        var summary = await ClickHouseSummary.ReadAsync(client);
        await File.WriteAllTextAsync(outFile, summary.ToJson());
        output.WriteLine($"wrote {outFile} from ClickHouse database {client.Database}: {summary.RowsRead:N0} rows, {summary.Sessions:N0} sessions, {summary.Orders:N0} orders");
        return CommandLine.Ok;
    }
}
