using System.CommandLine;
using Puffy.Streaming.Embedded.Report;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy report --from sqlite|clickhouse --out FILE</c>: the executive report (one self-contained HTML file).</summary>
internal static class ReportCommand
{
    internal sealed record Options(string From, string Out, string Db, string? ClickHouse, string Database);

    public static Command Create()
    {
        var from = CliOptions.Checked(
            new Option<string>("--from") { Description = "Where the figures come from: sqlite (a puffy.db of 'puffy run') or clickhouse", HelpName = "sqlite|clickhouse", Required = true },
            v => v is "sqlite" or "clickhouse" ? null : $"--from must be sqlite or clickhouse, not '{v}'");
        var outFile = new Option<string>("--out")
        {
            Description = "The HTML file to write (a folder or an unwritable location is a usage error)",
            HelpName = "FILE",
            Required = true,
        };
        var db = new Option<string>("--db")
        {
            Description = "The SQLite database with --from sqlite",
            HelpName = "FILE",
            DefaultValueFactory = _ => Path.Combine("out", "puffy.db"),
        };
        var clickHouse = CliOptions.ClickHouse("The ClickHouse server with --from clickhouse [default: CLICKHOUSE_URL, else the running local stack's]");
        var database = CliOptions.Database();
        var command = new Command("report", "Writes the executive report (KPIs, daily trend, revenue by channel under three attribution models, "
                                            + "data quality, alerts, notes on where the data breaks) as one self-contained HTML file.")
        {
            from, outFile, db, clickHouse, database,
        };
        command.SetAction((r, _) => ExecuteAsync(
            new Options(r.GetRequiredValue(from), r.GetRequiredValue(outFile), r.GetRequiredValue(db), r.GetValue(clickHouse), r.GetRequiredValue(database)),
            r.InvocationConfiguration.Output));
        return command;
    }

    public static async Task<int> ExecuteAsync(Options options, TextWriter output)
    {
        CliOptions.EnsureWritableFile(options.Out, "--out");
        ReportModel model;
        string source;
        if (options.From == "clickhouse")
        {
            using var client = ClickHouseTarget.Create(options.ClickHouse, options.Database, required: true, LocalStack.ClickHouseAnalyst)!;
            model = await ClickHouseReport.ReadAsync(client);
            source = $"ClickHouse database {client.Database}";
        }
        else
        {
            if (!File.Exists(options.Db))
                throw new UsageException($"--db: no SQLite database at '{options.Db}' (run 'puffy run' first)");
            model = SqliteReport.Load(options.Db);
            source = $"SQLite {Path.GetFileName(options.Db)}";
        }

        await File.WriteAllTextAsync(options.Out, ReportHtml.Render(model, source, DateTimeOffset.UtcNow));
        output.WriteLine($"wrote {options.Out} from {source}: {model.Kpis.Sessions:N0} sessions, {model.Kpis.Orders:N0} orders, {model.Alerts.Count} alerts");
        return CommandLine.Ok;
    }
}
