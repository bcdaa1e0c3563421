using System.CommandLine;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Embedded.Report;
using Spectre.Console;

namespace Puffy.Streaming.Cli;

/// <summary><c>puffy run</c>: the whole pipeline in-process on a folder of daily CSV exports.</summary>
internal static class RunCommand
{
    internal sealed record Options(
        string Data, string Out, TimeSpan Lateness, bool NoProgress, string? ClickHouse, string Database, Severity? FailOn = null,
        int MaxRowBytes = Pipeline.Ingest.IngestorCore.DefaultMaxRowBytes);

    public static Command Create()
    {
        var data = CliOptions.Data();
        var outDir = new Option<string>("--out")
        {
            Description = "Folder for puffy.db, summary.json and report.html, created if missing (an existing file or an unwritable folder is a usage error)",
            HelpName = "DIR",
            Required = true,
        };
        var lateness = CliOptions.Duration("--lateness", "How far behind the stream an event may arrive", TimeSpan.FromMinutes(15));
        var noProgress = CliOptions.NoProgress();
        var clickHouse = CliOptions.ClickHouse("Also write the ClickHouse analyst tables there, after applying infra/clickhouse [default: CLICKHOUSE_URL, else none]");
        var database = CliOptions.Database();
        var failOn = new Option<Severity?>("--fail-on")
        {
            Description = $"Exit with code {ExitCode.AlertsFired} (after writing every output) when an alert of at least this severity fired, so a scheduler can stop downstream jobs",
            HelpName = "warning|critical",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
                switch (text)
                {
                    case "warning":
                        return Severity.Warning;
                    case "critical":
                        return Severity.Critical;
                    default:
                        r.AddError($"--fail-on '{text}' must be warning or critical");
                        return null;
                }
            },
        };
        var maxRowBytes = CliOptions.Count("--max-row-bytes",
            "Rows longer than this many bytes are dead-lettered as oversized_row (the services' Ingestor:MaxRowBytes)", Pipeline.Ingest.IngestorCore.DefaultMaxRowBytes);
        var command = new Command("run", "Streams every *.csv of --data (file-name order) through the whole pipeline in-process and "
                                         + "writes puffy.db (SQLite), summary.json and report.html into --out (and the ClickHouse tables if asked).")
        {
            data, outDir, lateness, noProgress, clickHouse, database, failOn, maxRowBytes,
        };
        command.SetAction((r, _) => ExecuteAsync(
            new Options(r.GetRequiredValue(data), r.GetRequiredValue(outDir), r.GetValue(lateness), r.GetValue(noProgress), r.GetValue(clickHouse), r.GetRequiredValue(database), r.GetValue(failOn), r.GetValue(maxRowBytes)),
            r.InvocationConfiguration.Output,
            r.InvocationConfiguration.Error));
        return command;
    }

    public static async Task<int> ExecuteAsync(Options options, TextWriter output, TextWriter error)
    {
        var files = CliOptions.DataFiles(options.Data);
        var outDir = options.Out;
        CliOptions.EnsureWritableFolder(outDir, "--out");

        var pipelineOptions = new PipelineOptions { MaxRowBytes = options.MaxRowBytes };
        pipelineOptions.Validator.AllowedLateness = options.Lateness;
        var builder = new SummaryBuilder();
        var dbPath = Path.Combine(outDir, "puffy.db");
        using var db = new SqliteSink(dbPath);
        using var clickHouse = ClickHouseTarget.Create(options.ClickHouse, options.Database);
        ClickHouseSink? clickHouseSink = null;
        if (clickHouse is not null)
        {
            await clickHouse.ApplySchemaAsync(ClickHouseTarget.SchemaFolder());
            clickHouseSink = new ClickHouseSink(new ClickHouseWriter(clickHouse));
        }

        IPipelineSink sink = clickHouseSink is null ? new CompositeSink(builder, db) : new CompositeSink(builder, db, clickHouseSink);
        var pipeline = new EmbeddedPipeline(pipelineOptions, sink);

        // Progress goes to stderr, as a live bar when that is a terminal, and nowhere with --no-progress.
        var progress = options.NoProgress ? TextWriter.Null : error;
        var terminal = ReferenceEquals(progress, Console.Error) && !Console.IsErrorRedirected
            ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) })
            : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (terminal is { Profile.Capabilities.Interactive: true })
        {
            terminal.Progress()
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
                progress.WriteLine($"progress: {ProgressLine(p)}");
            }));
        }

        var summary = builder.Complete();
        // The report is rendered from the run's figures, the ones puffy.db gets, while this thread waits for the
        // database to be finished: the same model as reading puffy.db back (tested), without serialising the two.
        var report = Task.Run(() => ReportHtml.Render(RunReport.Load(summary), "SQLite puffy.db", DateTimeOffset.UtcNow));
        try
        {
            db.Complete(summary);
            if (clickHouseSink is not null)
                await clickHouseSink.CompleteAsync(summary);
        }
        catch
        {
            await ((Task)report).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        var summaryPath = Path.Combine(outDir, "summary.json");
        File.WriteAllText(summaryPath, summary.ToJson());
        db.Dispose();
        var reportPath = Path.Combine(outDir, "report.html");
        File.WriteAllText(reportPath, await report);
        clock.Stop();

        output.Write(SummaryReport.Render(summary));
        output.WriteLine();
        foreach (var (file, sameAs) in pipeline.Copies)
            output.WriteLine($"skipped {file}: the same content as {sameAs}, read already");
        var also = clickHouse is null ? string.Empty : $" (and ClickHouse database {clickHouse.Database})";
        output.WriteLine($"wrote {dbPath}, {summaryPath} and {reportPath}{also} in {clock.Elapsed.TotalSeconds:0.00} s");
        return FailOn(options.FailOn, summary.Alerts, error);
    }

    /// <summary><c>--fail-on</c>: exit code 3 with one line on stderr when an alert of at least that severity fired.</summary>
    internal static int FailOn(Severity? failOn, IReadOnlyList<Alert> alerts, TextWriter error)
    {
        if (failOn is not { } floor)
            return ExitCode.Ok;
        var fired = alerts.Where(a => a.Severity >= floor).ToList();
        if (fired.Count == 0)
            return ExitCode.Ok;
        var severity = RunSummary.SeverityText(floor);
        var rules = string.Join(", ", fired.GroupBy(a => a.Rule, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Count() == 1 ? g.Key : $"{g.Key} x{g.Count()}"));
        error.WriteLine($"puffy: {fired.Count} alert(s) at or above {severity} fired ({rules}); exit code {ExitCode.AlertsFired} (--fail-on {severity})");
        return ExitCode.AlertsFired;
    }

    internal static string ProgressLine(PipelineProgress p)
    {
        var rate = p.Elapsed.TotalSeconds > 0 ? p.Rows / p.Elapsed.TotalSeconds : 0;
        return $"files {p.FilesDone}/{p.FilesTotal} | {p.Rows:N0} rows | {rate:N0} rows/s | {p.CurrentFile}";
    }
}
