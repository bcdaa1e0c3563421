using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Cli;

/// <summary>
/// <c>puffy bench</c>: events/s of the embedded pipeline, end to end (CSV bytes in, SQLite and summary out),
/// on the real data and on a synthetic scale-up, with the CPU, allocation and collections per run and the live managed
/// heap sampled at each quarter of it.
/// </summary>
internal static class BenchCommand
{
    internal sealed record Options(string Data, int? Scale, int Repeat, string Work, string Sink, bool Stack, int Partitions, bool NoProgress,
        int? Dense = null, int? Rate = null, TimeSpan? Duration = null)
    {
        /// <summary>With --stack: instances of each partition-parallel service.</summary>
        public int Instances { get; init; } = 1;
    }

    public static Command Create()
    {
        var scale = CliOptions.OptionalCount("--scale", "Copies of the data set in the synthetic scale-up, 1 for none [default: 100, 10 with --stack]");
        var repeat = CliOptions.Count("--repeat", "Runs of the scale-up", 1);
        var data = new Option<string>("--data")
        {
            Description = "Folder of daily *.csv exports to replay",
            HelpName = "DIR",
            DefaultValueFactory = _ => Path.Combine("data", "puffy-events"),
        };
        var work = new Option<string>("--work")
        {
            Description = "Folder for the generated scale-up and the outputs",
            HelpName = "DIR",
            DefaultValueFactory = _ => Path.Combine(".puffy", "bench"),
        };
        var sink = CliOptions.Checked(
            new Option<string>("--sink") { Description = "Write SQLite, or nothing", HelpName = "sqlite|none", DefaultValueFactory = _ => "sqlite" },
            v => v is "sqlite" or "none" ? null : $"--sink must be sqlite or none, not '{v}'");
        var stack = new Option<bool>("--stack") { Description = "End to end through the five services on a fresh local stack per run instead" };
        var partitions = CliOptions.Partitions("Partitions per Kafka topic (with --stack)");
        var noProgress = CliOptions.NoProgress();
        var dense = CliOptions.OptionalCount("--dense", "With --stack: a dense scale-up instead, N copies of the data set in the same days and times "
                                                          + "(own client and transaction ids), so events per second of event time grow N-fold");
        var rate = CliOptions.OptionalCount("--rate", "With --stack: also replay generated traffic of this many events per second of event time (see --duration)");
        var duration = CliOptions.Duration("--duration", "How much event time --rate generates", TimeSpan.FromMinutes(30));
        var instances = CliOptions.Count("--instances", "With --stack: instances of each partition-parallel service (validator, sessionizer, attribution) and of the monitor (one runs it, the others stand by)", 1);
        var command = new Command("bench", "Replays --data once and a synthetic scale-up (each copy shifted by the data set's span, with its "
                                           + "own client and transaction ids) and reports events/s and memory. With --stack, through the five "
                                           + "services, with a JSON and HTML load report (events/s, lag over time, latency, CPU and memory per process).")
        {
            scale, repeat, data, work, sink, stack, partitions, noProgress, dense, rate, duration, instances,
        };
        command.SetAction((r, _) =>
        {
            var options = new Options(r.GetRequiredValue(data), r.GetValue(scale), r.GetValue(repeat), r.GetRequiredValue(work), r.GetRequiredValue(sink),
                r.GetValue(stack), r.GetValue(partitions), r.GetValue(noProgress), r.GetValue(dense), r.GetValue(rate), r.GetValue(duration))
            {
                Instances = r.GetValue(instances),
            };
            var output = r.InvocationConfiguration.Output;
            var progress = options.NoProgress ? TextWriter.Null : r.InvocationConfiguration.Error;
            return options.Stack ? StackAsync(options, output, progress) : Task.FromResult(Execute(options, output, progress));
        });
        return command;
    }

    /// <summary>
    /// <c>--stack</c>: end-to-end replay throughput of the five services. For the real data and for the scale-up (dense
    /// with <c>--dense</c>, plus generated traffic with <c>--rate</c>), a fresh local stack is started, the ingestor
    /// replays at max speed, and the clock stops when every service has processed everything; the ClickHouse summary is
    /// checked against the embedded run, and <c>bench-stack.json</c>/<c>.html</c> are written into --work.
    /// </summary>
    private static async Task<int> StackAsync(Options options, TextWriter output, TextWriter progress)
    {
        var data = options.Data;
        var work = Path.GetFullPath(options.Work);
        var partitions = options.Partitions;
        var files = CliOptions.DataFiles(data);
        output.WriteLine($"bench --stack: {Environment.ProcessorCount} cores, {partitions} partitions per topic, {options.Instances} instance(s) of the validator, sessionizer and attribution, .NET {Environment.Version}");
        var runs = new List<(string Label, string Folder, IReadOnlyList<string> Files)> { ("real data", Path.GetFullPath(data), files) };
        if (options.Dense is { } dense and > 1)
        {
            var folder = Path.Combine(work, $"data-dense{dense}");
            runs.Add(($"dense scale-up x{dense}", folder, LoadData.Dense(files, dense, folder, progress)));
        }
        else if ((options.Scale ?? 10) is var scale and > 1)
        {
            var folder = Path.Combine(work, $"data-x{scale}");
            runs.Add(($"scale-up x{scale}", folder, ScaleUp(files, scale, folder, progress)));
        }

        if (options.Rate is { } rate)
        {
            var duration = options.Duration ?? TimeSpan.FromMinutes(30);
            var folder = Path.Combine(work, string.Create(CultureInfo.InvariantCulture, $"data-rate{rate}-{duration.TotalMinutes:0}m"));
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
            var (generated, _) = LoadData.Sustained(folder, rate, duration, new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc));
            runs.Add((string.Create(CultureInfo.InvariantCulture, $"generated {rate:N0} events/s for {duration.TotalMinutes:0} min of event time"), folder, generated));
        }

        var results = new List<StackBench.Result>();
        foreach (var (label, folder, runFiles) in runs)
        {
            var result = await StackBench.RunAsync(label, folder, runFiles, partitions, options.Instances, work, output, progress);
            results.Add(result);
            foreach (var line in StackBench.Describe(result))
                output.WriteLine(line);
        }

        var (json, html) = StackBench.WriteReport(work, results);
        output.WriteLine($"report: {json} and {html}");
        return results.All(r => r.SummaryIdentical) ? CommandLine.Ok : CommandLine.Failed;
    }

    /// <summary>
    /// The collector this process runs with, as the runtime reports it (<c>server GC, 2 heaps, dynamic adaptation off</c>),
    /// so that a figure says what it was taken with: x100 figures with dynamic adaptation on and off differ by about 14 %.
    /// </summary>
    internal static string GcMode()
    {
        var gc = GC.GetConfigurationVariables();
        var server = gc.TryGetValue("ServerGC", out var s) && s is true;
        var heaps = gc.TryGetValue("HeapCount", out var h) ? Convert.ToInt64(h, CultureInfo.InvariantCulture) : 1;
        var adaptation = gc.TryGetValue("GCDynamicAdaptationMode", out var a) && Convert.ToInt64(a, CultureInfo.InvariantCulture) == 1;
        return server
            ? $"server GC, {heaps} heap{(heaps == 1 ? "" : "s")}, dynamic adaptation {(adaptation ? "on" : "off")}"
            : "workstation GC";
    }

    public static int Execute(Options options, TextWriter output, TextWriter progress)
    {
        var (data, sink, work, repeat) = (options.Data, options.Sink, options.Work, options.Repeat);
        var scale = options.Scale ?? 100;
        var files = CliOptions.DataFiles(data);

        output.WriteLine($"bench: sink={sink}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {GcMode()}");
        Measure("real data", files, sink, Path.Combine(work, "out-real"), output);
        if (scale > 1)
        {
            var scaled = ScaleUp(files, scale, Path.Combine(work, $"data-x{scale}"), progress);
            for (var i = 1; i <= repeat; i++)
                Measure(repeat == 1 ? $"scale-up x{scale}" : $"scale-up x{scale} (run {i}/{repeat})", scaled, sink, Path.Combine(work, $"out-x{scale}"), output);
        }

        using var self = Process.GetCurrentProcess();
        output.WriteLine($"process peak working set: {self.PeakWorkingSet64 / 1048576.0:N0} MiB");
        return CommandLine.Ok;
    }

    private static void Measure(string label, IReadOnlyList<string> files, string sink, string outDir, TextWriter output)
    {
        Directory.CreateDirectory(outDir);
        GC.Collect();
        var builder = new SummaryBuilder();
        using var db = sink == "sqlite" ? new SqliteSink(Path.Combine(outDir, "puffy.db")) : null;
        var pipeline = new EmbeddedPipeline(new PipelineOptions(), db is null ? builder : new CompositeSink(builder, db));
        var quarters = new List<string>();
        var nextQuarter = 1;
        var paused = TimeSpan.Zero;
        var pausedCost = default(RunCost);
        var cost = RunCost.Now();
        var clock = Stopwatch.StartNew();
        pipeline.Run(files, new ProgressReporter(p =>
        {
            if (p.FilesDone * 4 < nextQuarter * p.FilesTotal || nextQuarter > 4)
                return;
            var pause = Stopwatch.StartNew();
            var pauseCost = RunCost.Now();
            var live = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
            var (buffered, ids, open, clients) = pipeline.StateSizes;
            quarters.Add(string.Create(CultureInfo.InvariantCulture,
                $"  {nextQuarter * 25,3}%: {p.Rows,12:N0} rows, live heap {live,7:N1} MiB, open sessions {open:N0}, tracked clients {clients:N0}, dedup ids {ids:N0}, reorder buffer {buffered:N0}"));
            nextQuarter++;
            // The sample's full collections are not the run's: their time, CPU and counts are left out of its figures.
            pausedCost += RunCost.Now() - pauseCost;
            paused += pause.Elapsed;
        }));
        var streamed = clock.Elapsed - paused;
        var summary = builder.Complete();
        db?.Complete(summary);
        clock.Stop();
        cost = RunCost.Now() - cost - pausedCost;
        var seconds = (clock.Elapsed - paused).TotalSeconds;
        var rate = pipeline.RowsRead / seconds;
        var finalise = db is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"; of that {seconds - streamed.TotalSeconds:0.00} s finishing the database (last rows, run-level tables)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}: {pipeline.RowsRead:N0} events in {seconds:0.00} s = {rate:N0} events/s ({summary.Sessions:N0} sessions, {summary.Orders:N0} orders, {summary.DeadLettered:N0} dead letters{finalise})"));
        output.WriteLine($"  {cost.Describe(pipeline.RowsRead)}");
        foreach (var q in quarters)
            output.WriteLine(q);
    }

    /// <summary>
    /// Writes <paramref name="copies"/> copies of the data set, copy k shifted by k × its span in days, with client
    /// ids and transaction ids made unique per copy; defects (empty ids, bots, bad rows) are kept as they are.
    /// An existing complete copy is reused.
    /// </summary>
    internal static IReadOnlyList<string> ScaleUp(IReadOnlyList<string> files, int copies, string folder, TextWriter progress)
    {
        var days = files.Select(f => EventTime.DayFromFileName(Path.GetFileName(f))).OfType<DateOnly>().ToList();
        var span = days.Count == 0 ? 1 : days.Max().DayNumber - days.Min().DayNumber + 1;
        var marker = Path.Combine(folder, ".complete");
        var expected = files.Count * copies;
        if (File.Exists(marker))
            return CliOptions.DataFiles(folder);

        Directory.CreateDirectory(folder);
        var clock = Stopwatch.StartNew();
        for (var k = 0; k < copies; k++)
        {
            foreach (var file in files)
            {
                var name = Path.GetFileName(file);
                var day = EventTime.DayFromFileName(name);
                var target = day is { } d
                    ? name.Replace(d.ToString("yyyyMMdd", CultureInfo.InvariantCulture), d.AddDays(k * span).ToString("yyyyMMdd", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                    : $"copy{k:D4}-{name}";
                File.WriteAllText(Path.Combine(folder, target), Shift(File.ReadAllBytes(file), k, span));
            }
        }

        File.WriteAllText(marker, expected.ToString(CultureInfo.InvariantCulture));
        progress.WriteLine($"generated {expected:N0} files into {folder} in {clock.Elapsed.TotalSeconds:0.0} s (not timed)");
        return CliOptions.DataFiles(folder);
    }

    private static string Shift(byte[] content, int copy, int spanDays)
    {
        var reader = new CsvRecordReader(content);
        var b = new StringBuilder(content.Length + (content.Length / 8));
        if (!reader.TryRead(out var headerRecord) || headerRecord.Fields is null)
            return Encoding.UTF8.GetString(content);
        var header = CsvHeader.Parse(headerRecord.Fields);
        b.Append(headerRecord.Text);
        var shift = TimeSpan.FromDays((double)copy * spanDays);
        while (reader.TryRead(out var rec))
        {
            b.Append('\n');
            LoadData.AppendCopy(b, rec, header, copy, shift);
        }

        return b.ToString();
    }
}
