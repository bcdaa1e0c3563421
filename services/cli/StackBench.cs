using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Embedded.Report;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Kafka.Streams;

namespace Puffy.Streaming.Cli;

/// <summary>
/// One load run of <c>puffy bench --stack</c>: a fresh local stack, the ingestor at max speed, and a sampler that
/// every half second records what was sent, each stage's consumer lag, the events stored in ClickHouse, and each
/// process's CPU and memory. The result has events/s, end-to-end latency percentiles, CPU µs per event and peak
/// memory per process, and whether the ClickHouse summary equals the embedded run's.
/// </summary>
internal static class StackBench
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(500);

    private static IReadOnlyList<(string Stage, string Group, string Topic)> Stages => LocalStack.OrderedStages;

    internal sealed record Sample(double Seconds, long Sent, long Stored, Dictionary<string, long> Lag);

    internal sealed record ProcessFigures(string Process, double CpuSeconds, double CpuMicrosPerEvent, long PeakRssKib);

    internal sealed record Result(
        string Label,
        long Events,
        long ValidEvents,
        double Seconds,
        double EventsPerSecond,
        double IngestorSeconds,
        double LatencyP50,
        double LatencyP95,
        double LatencyP99,
        bool SummaryIdentical,
        IReadOnlyList<ProcessFigures> Processes,
        IReadOnlyList<Sample> Samples);

    /// <param name="output">Also gets the timeline of each process's memory and of Redis's size (<see cref="StackSampler"/>).</param>
    public static async Task<Result> RunAsync(
        string label, string folder, IReadOnlyList<string> files, int partitions, int instances, string work, TextWriter output, TextWriter progress)
    {
        var builder = new SummaryBuilder();
        new EmbeddedPipeline(new PipelineOptions(), builder).Run(files);
        var expected = builder.Complete();
        var root = Path.Combine(work, "stack");
        await LocalStack.UpAsync(root, partitions, Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP"), rabbitMq: false, instances, TextWriter.Null);
        try
        {
            var state = LocalStack.Load(root)!;
            if (!await LocalStack.WaitForAssignmentsAsync(state, TimeSpan.FromMinutes(2), CancellationToken.None))
                output.WriteLine($"{label}: not every instance owned partitions after 2 minutes; measuring anyway");
            using var client = new ClickHouseClient(state.ClickHouseAnalyst());
            var processes = Processes(state);
            var cpuBefore = processes.ToDictionary(p => p.Key, p => CpuTicks(p.Value));
            var childrenBefore = ChildrenCpuTicks();
            var samples = new List<Sample>();
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var sampler = Task.Run(() => SampleAsync(state, client, clock, samples, stop.Token));
            var memory = new StackSampler(state);
            TimeSpan sent;
            long ingestorTicks;
            try
            {
                if (await StackCommand.RunIngestorAsync(state, folder, "max", progress, quiet: true) != 0)
                    throw new InvalidOperationException("the ingestor failed");
                sent = clock.Elapsed;
                ingestorTicks = ChildrenCpuTicks() - childrenBefore;
                await StackCommand.WaitUntilProcessedAsync(state, TimeSpan.FromHours(1), CancellationToken.None);
                clock.Stop();
            }
            finally
            {
                // Also when the run fails: no probe of the sampler may outlive the stack.
                await stop.CancelAsync();
                await sampler;
            }

            output.WriteLine($"{label}:");
            await memory.ReportAsync(output);
            samples.Add(await SampleOnceAsync(state, client, clock.Elapsed.TotalSeconds));

            var actual = await ClickHouseSummary.ReadAsync(client);
            var events = expected.RowsRead;
            var figures = new List<ProcessFigures> { Figures("ingestor", ingestorTicks, events, peakKiB: 0) };
            figures.AddRange(processes.Select(p => Figures(p.Key, CpuTicks(p.Value) - cpuBefore[p.Key], events, StackSampler.PeakResidentKiB(p.Value) ?? 0)));
            var (p50, p95, p99) = Latency(samples);
            return new Result(label, events, expected.Valid, clock.Elapsed.TotalSeconds, events / clock.Elapsed.TotalSeconds, sent.TotalSeconds,
                p50, p95, p99, actual.ToJson() == expected.ToJson(), figures, samples);
        }
        finally
        {
            await LocalStack.DownAsync(root, TextWriter.Null);
        }
    }

    /// <summary>
    /// End-to-end latency from the ingestor's send to ClickHouse, from the sampled curves: the q-th fraction of the
    /// input was sent at one time and the q-th fraction of the valid events was stored at a later one; the difference
    /// over q = 0.1 %, 0.2 %, … is each event's latency if the pipeline keeps its order (it does, in event time).
    /// </summary>
    internal static (double P50, double P95, double P99) Latency(IReadOnlyList<Sample> samples)
    {
        if (samples.Count < 2 || samples[^1].Sent <= 0 || samples[^1].Stored <= 0)
            return (double.NaN, double.NaN, double.NaN);
        var sentTotal = (double)samples[^1].Sent;
        var storedTotal = (double)samples[^1].Stored;
        var latencies = new List<double>();
        for (var q = 0.001; q <= 1.0000001; q += 0.001)
        {
            var sentAt = FirstTimeAtLeast(samples, s => s.Sent / sentTotal, q);
            var storedAt = FirstTimeAtLeast(samples, s => s.Stored / storedTotal, q);
            latencies.Add(Math.Max(0, storedAt - sentAt));
        }

        latencies.Sort();
        return (Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99));
    }

    // The time a monotone sampled fraction first reaches q, interpolated between samples.
    private static double FirstTimeAtLeast(IReadOnlyList<Sample> samples, Func<Sample, double> fraction, double q)
    {
        var previous = (Seconds: 0.0, Value: 0.0);
        foreach (var s in samples)
        {
            var v = fraction(s);
            if (v >= q)
            {
                var span = v - previous.Value;
                return span <= 0 ? s.Seconds : previous.Seconds + ((s.Seconds - previous.Seconds) * (q - previous.Value) / span);
            }

            previous = (s.Seconds, Math.Max(previous.Value, v));
        }

        return samples[^1].Seconds;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task SampleAsync(StackState state, ClickHouseClient client, Stopwatch clock, List<Sample> samples, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var sample = await SampleOnceAsync(state, client, clock.Elapsed.TotalSeconds);
                lock (samples)
                    samples.Add(sample);
                await Task.Delay(SampleEvery, cancellationToken); // sampling period of the load report
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaException or HttpRequestException or ClickHouseException)
            {
                // A sample that cannot be taken is left out; the run goes on.
            }
        }
    }

    private static async Task<Sample> SampleOnceAsync(StackState state, ClickHouseClient client, double seconds)
    {
        var timeout = TimeSpan.FromSeconds(5);
        var lag = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (stage, group, topic) in Stages)
            lag[stage] = ConsumerLag.Of(state.Kafka, group, [topic], timeout);
        var sent = TopicEnd(state.Kafka, Topics.RawEvents, timeout);
        var stored = long.Parse((await client.QueryScalarAsync($"SELECT count() FROM {client.Qualify(ClickHouse.Tables.Events)}")).Trim(), CultureInfo.InvariantCulture);
        return new Sample(Math.Round(seconds, 2), sent, stored, lag);
    }

    // Messages written to a topic so far: the sum of its partitions' high watermarks.
    private static long TopicEnd(KafkaOptions kafka, string topic, TimeSpan timeout)
    {
        using var probe = new ConsumerBuilder<byte[]?, byte[]?>(kafka.ProbeConfig("puffy-bench-probe")).SetLogHandler(KafkaClientLog.Handler).Build();
        using var admin = new DependentAdminClientBuilder(probe.Handle).Build();
        return Enumerable.Range(0, TopicAdmin.PartitionCount(admin, topic, timeout))
            .Sum(p => probe.QueryWatermarkOffsets(new TopicPartition(topic, p), timeout).High.Value);
    }

    private static Dictionary<string, int> Processes(StackState state)
    {
        var all = new Dictionary<string, int>(state.Services, StringComparer.Ordinal)
        {
            ["redis"] = state.RedisPid,
            ["clickhouse"] = state.ClickHousePid,
        };
        if (state.BrokerPid is { } broker)
            all["broker"] = broker;
        return all;
    }

    private static ProcessFigures Figures(string name, long ticks, long events, long peakKiB) =>
        new(name, ticks / 100.0, events == 0 ? 0 : ticks * 10_000.0 / events, peakKiB);

    // User + system CPU of a process in clock ticks (1/100 s), from /proc.
    private static long CpuTicks(int pid)
    {
        try
        {
            var fields = StatFields(File.ReadAllText($"/proc/{pid}/stat"));
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    // CPU of this process's finished, waited-for children (the ingestor runs as one).
    private static long ChildrenCpuTicks()
    {
        var fields = StatFields(File.ReadAllText("/proc/self/stat"));
        return long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
    }

    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    /// <summary>The lines the command prints for one run.</summary>
    public static IEnumerable<string> Describe(Result r)
    {
        yield return string.Create(CultureInfo.InvariantCulture,
            $"{r.Label}: {r.Events:N0} events end to end in {r.Seconds:0.0} s = {r.EventsPerSecond:N0} events/s (ingestor done after {r.IngestorSeconds:0.0} s); "
            + $"latency ingest -> ClickHouse p50 {r.LatencyP50:0.0} s, p95 {r.LatencyP95:0.0} s, p99 {r.LatencyP99:0.0} s; summary {(r.SummaryIdentical ? "identical to" : "DIFFERS from")} the embedded run");
        foreach (var p in r.Processes)
        {
            yield return string.Create(CultureInfo.InvariantCulture,
                $"  {p.Process,-11} CPU {p.CpuSeconds,6:0.0} s = {p.CpuMicrosPerEvent,6:0.0} µs/event{(p.PeakRssKib > 0 ? $", peak RSS {p.PeakRssKib / 1024.0:N0} MiB" : string.Empty)}");
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes <c>bench-stack.json</c> (every figure and sample) and <c>bench-stack.html</c> (lag and stored events over time).</summary>
    public static (string Json, string Html) WriteReport(string folder, IReadOnlyList<Result> results)
    {
        Directory.CreateDirectory(folder);
        var json = Path.Combine(folder, "bench-stack.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new
        {
            machine = new { cores = Environment.ProcessorCount, dotnet = Environment.Version.ToString() },
            runs = results,
        }, Json));
        var html = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>puffy bench --stack</title>"
            + "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#1f2937}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:right}th:first-child,td:first-child{text-align:left}.grid{stroke:#e5e7eb}.axis{stroke:#9ca3af}.tick,.legend{font-size:11px;fill:#4b5563}</style></head><body>");
        html.Append("<h1>puffy bench --stack</h1>");
        foreach (var r in results)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h2>{Escape(r.Label)}</h2><p>");
            foreach (var line in Describe(r).Take(1))
                html.Append(Escape(line));
            html.Append("</p><table><tr><th>process</th><th>CPU s</th><th>µs/event</th><th>peak RSS MiB</th></tr>");
            foreach (var p in r.Processes)
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{Escape(p.Process)}</td><td>{p.CpuSeconds:0.0}</td><td>{p.CpuMicrosPerEvent:0.0}</td><td>{(p.PeakRssKib > 0 ? (p.PeakRssKib / 1024.0).ToString("N0", CultureInfo.InvariantCulture) : "")}</td></tr>");
            html.Append("</table>");
            var times = r.Samples.Select(s => s.Seconds.ToString("0", CultureInfo.InvariantCulture) + " s").ToList();
            html.Append("<h3>Consumer lag per stage (messages) over wall time</h3>");
            html.Append(SvgCharts.Lines("lag-" + r.GetHashCode().ToString(CultureInfo.InvariantCulture), "Consumer lag per stage (messages) over wall time", times,
                Stages.Select((s, i) => new ChartSeries(s.Stage, Palette[i], r.Samples.Select(x => (double)x.Lag.GetValueOrDefault(s.Stage)).ToList())).ToList(),
                v => v.ToString("N0", CultureInfo.InvariantCulture)));
            html.Append(SvgCharts.Lines("flow-" + r.GetHashCode().ToString(CultureInfo.InvariantCulture), "Messages sent to Kafka and events stored in ClickHouse over wall time", times,
            [
                new ChartSeries("sent (raw topic)", Palette[3], r.Samples.Select(x => (double)x.Sent).ToList()),
                new ChartSeries("stored (ClickHouse events)", Palette[4], r.Samples.Select(x => (double)x.Stored).ToList()),
            ], v => v.ToString("N0", CultureInfo.InvariantCulture)).Insert(0, "<h3>Messages sent to Kafka and events stored in ClickHouse over wall time</h3>"));
        }

        html.Append("</body></html>");
        var htmlPath = Path.Combine(folder, "bench-stack.html");
        File.WriteAllText(htmlPath, html.ToString());
        return (json, htmlPath);
    }

    private static readonly string[] Palette = ["#2563eb", "#dc2626", "#16a34a", "#7c3aed", "#ea580c"];

    private static string Escape(string s) => System.Net.WebUtility.HtmlEncode(s);
}
