using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Embedded;
using Spectre.Console;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy run</c>: the whole pipeline in-process on a folder of daily CSV exports.</summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(Dictionary<string, string?> options)
    {
        var data = CommandLine.Required(options, "data");
        var outDir = CommandLine.Required(options, "out");
        var lateness = CommandLine.ParseDuration(CommandLine.Optional(options, "lateness") ?? "15m");
        var files = CommandLine.DataFiles(data);
        Directory.CreateDirectory(outDir);

        var pipelineOptions = new PipelineOptions();
        pipelineOptions.Validator.AllowedLateness = lateness;
        var builder = new SummaryBuilder();
        var dbPath = Path.Combine(outDir, "puffy.db");
        using var db = new SqliteSink(dbPath);
        using var clickHouse = ClickHouseTarget.FromOptions(options);
        ClickHouseSink? clickHouseSink = null;
        if (clickHouse is not null)
        {
            await clickHouse.ApplySchemaAsync(ClickHouseTarget.SchemaFolder());
            clickHouseSink = new ClickHouseSink(new ClickHouseWriter(clickHouse));
        }

        IPipelineSink sink = clickHouseSink is null ? new CompositeSink(builder, db) : new CompositeSink(builder, db, clickHouseSink);
        var pipeline = new EmbeddedPipeline(pipelineOptions, sink);

        var interactive = !CommandLine.Flag(options, "no-progress") && !Console.IsOutputRedirected
                          && AnsiConsole.Profile.Capabilities.Interactive;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: files.Count);
                    pipeline.Run(files, new ProgressReporter(p =>
                    {
                        task.Value = p.FilesDone;
                        task.Description = Markup.Escape(ProgressLine(p));
                    }));
                    task.Value = files.Count;
                });
        }
        else
        {
            var lastFiles = -1;
            pipeline.Run(files, new ProgressReporter(p =>
            {
                if (p.FilesDone == lastFiles)
                    return;
                lastFiles = p.FilesDone;
                Console.Out.WriteLine($"progress: {ProgressLine(p)}");
            }));
        }

        var summary = builder.Complete();
        db.Complete(summary);
        if (clickHouseSink is not null)
            await clickHouseSink.CompleteAsync(summary);
        var summaryPath = Path.Combine(outDir, "summary.json");
        File.WriteAllText(summaryPath, summary.ToJson());
        clock.Stop();

        Console.Out.Write(SummaryReport.Render(summary));
        Console.Out.WriteLine();
        var also = clickHouse is null ? string.Empty : $" (and ClickHouse database {clickHouse.Database})";
        Console.Out.WriteLine($"wrote {dbPath} and {summaryPath}{also} in {clock.Elapsed.TotalSeconds:0.00} s");
        return CommandLine.Ok;
    }

    internal static string ProgressLine(PipelineProgress p)
    {
        var rate = p.Elapsed.TotalSeconds > 0 ? p.Rows / p.Elapsed.TotalSeconds : 0;
        return $"files {p.FilesDone}/{p.FilesTotal} | {p.Rows:N0} rows | {rate:N0} rows/s | {p.CurrentFile}";
    }
}
