using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// The embedded run's analyst store: writing every row of the real-data run (and of a ×10 copy with distinct ids)
/// into the project's <see cref="SqliteSink"/> as it is, against the same tables in DuckDB through its appender.
/// </summary>
[Config(typeof(Config))]
public class StoreBenchmarks : StoreBenchmarkBase
{
    [Params(1, 10)]
    public int Scale { get; set; }

    protected override int Copies => Scale;

    [Benchmark(Baseline = true)]
    public long Sqlite() => WriteSqlite(nameof(Sqlite));

    [Benchmark]
    public long DuckDbAppender() => WriteDuckDb(nameof(DuckDbAppender), appender: true);

    private sealed class Config : StoreConfig
    {
        // Operations take seconds and share two cores with other work: one warm-up, then five measured operations.
        public Config()
            : base(Job.Default.WithWarmupCount(1).WithIterationCount(5))
        {
        }
    }
}

/// <summary>
/// The same DuckDB tables written through prepared single-row INSERTs (in transactions of 500,000 rows, as SQLite's):
/// over a hundred times the appender's CPU, so only the real data, once.
/// </summary>
[Config(typeof(Config))]
public class StoreInsertBenchmarks : StoreBenchmarkBase
{
    protected override int Copies => 1;

    [Benchmark]
    public long DuckDbInsert() => WriteDuckDb(nameof(DuckDbInsert), appender: false);

    private sealed class Config : StoreConfig
    {
        public Config()
            : base(Job.Default.WithWarmupCount(0).WithIterationCount(1))
        {
        }
    }
}

/// <summary>
/// What the store benchmarks share. The rows are produced once per process by the embedded pipeline and held in
/// memory; one operation creates the database, hands it every row, writes the run-level tables and closes it (DuckDB
/// checkpoints there). Setup on the real data also checks that both stores hold the same rows and runs the README's
/// SQL on both. The summary adds rows/s, the database's size and the process CPU per operation (every thread:
/// SQLite's writer thread, DuckDB's own), which each benchmark process reports through a file.
/// </summary>
public abstract class StoreBenchmarkBase
{
    private static readonly string Work = Path.Combine(Path.GetTempPath(), "puffy-store-bench");
    private readonly List<double> _cpuSeconds = [];
    private RunRows _rows = null!;
    private string _dir = string.Empty;
    private string _path = string.Empty;
    private string _method = string.Empty;
    private TimeSpan _cpuBefore;

    protected abstract int Copies { get; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Work, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(_dir);
        _rows = RunRows.Capture().ScaledUp(Copies);
        if (Copies != 1)
            return;

        var sqlite = Path.Combine(_dir, "check.db");
        using (var sink = new SqliteSink(sqlite))
        {
            _rows.WriteTo(sink);
            sink.Complete(_rows.Summary);
        }

        var duck = Path.Combine(_dir, "check.duckdb");
        using (var sink = new DuckDbSink(duck, appender: true))
        {
            _rows.WriteTo(sink);
            sink.Complete(_rows.Summary);
        }

        foreach (var line in StoreCheck.Run(sqlite, duck, _rows.RowsPerTable()))
            Console.WriteLine("// store check: " + line);
    }

    [IterationSetup]
    public void BeforeEach()
    {
        using var self = Process.GetCurrentProcess();
        _cpuBefore = self.TotalProcessorTime;
    }

    [IterationCleanup]
    public void AfterEach()
    {
        using var self = Process.GetCurrentProcess();
        _cpuSeconds.Add((self.TotalProcessorTime - _cpuBefore).TotalSeconds);
    }

    protected long WriteSqlite(string method)
    {
        (_method, _path) = (method, Path.Combine(_dir, "puffy.db"));
        using (var sink = new SqliteSink(_path))
        {
            _rows.WriteTo(sink);
            sink.Complete(_rows.Summary);
        }

        return new FileInfo(_path).Length;
    }

    protected long WriteDuckDb(string method, bool appender)
    {
        (_method, _path) = (method, Path.Combine(_dir, "puffy.duckdb"));
        using (var sink = new DuckDbSink(_path, appender))
        {
            _rows.WriteTo(sink);
            sink.Complete(_rows.Summary);
        }

        return new FileInfo(_path).Length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var bytes = File.Exists(_path) ? new FileInfo(_path).Length : 0;
        var log = File.Exists(_path + ".wal") || File.Exists(_path + "-journal");
        _cpuSeconds.Sort();
        var cpu = _cpuSeconds.Count == 0 ? double.NaN : _cpuSeconds[_cpuSeconds.Count / 2];
        File.WriteAllText(ResultFile(_method, Copies), string.Create(CultureInfo.InvariantCulture, $"{bytes} {cpu:R}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// store result: {_method} x{Copies}: {bytes:N0} bytes{(log ? " (a log file is left beside it)" : string.Empty)}, median CPU per operation {cpu:0.000} s over all {_cpuSeconds.Count} operations"));
        Directory.Delete(_dir, recursive: true);
    }

    private static string ResultFile(string method, int copies) =>
        Path.Combine(Work, string.Create(CultureInfo.InvariantCulture, $"{method}-x{copies}.txt"));

    /// <summary>The job (IterationSetup needs one invocation per iteration) and the store columns.</summary>
    private protected abstract class StoreConfig : ManualConfig
    {
        private static readonly Lazy<RunRows> Real = new(RunRows.Capture);

        protected StoreConfig(Job job)
        {
            AddJob(job.WithLaunchCount(1).WithInvocationCount(1).WithUnrollFactor(1));
            AddColumn(
                StatisticColumn.Median,
                new ThroughputColumn("rows/s", Rows, "rows handed to the store per operation / Median"),
                new ValueColumn("rows", "rows handed to the store per operation", (_, c) => Rows(c).ToString("N0", CultureInfo.InvariantCulture)),
                new ValueColumn("DB size", "size of the database file after the operation",
                    (_, c) => Result(c) is { } r ? $"{long.Parse(r[0], CultureInfo.InvariantCulture) / 1048576.0:N1} MiB" : "NA"),
                new ValueColumn("CPU/op", "process CPU time (every thread) per operation, median over all operations",
                    (_, c) => Result(c) is { } r ? $"{double.Parse(r[1], CultureInfo.InvariantCulture):0.00} s" : "NA"));
        }

        private static int CopiesOf(BenchmarkCase c) =>
            c.Parameters.Items.FirstOrDefault(p => p.Name == nameof(StoreBenchmarks.Scale))?.Value is int scale ? scale : 1;

        private static double Rows(BenchmarkCase c) => ((double)Real.Value.StreamedRows * CopiesOf(c)) + Real.Value.RunLevelRows;

        private static string[]? Result(BenchmarkCase c)
        {
            // Only a file written during this run: an older one belongs to an earlier run.
            var file = ResultFile(c.Descriptor.WorkloadMethod.Name, CopiesOf(c));
            using var self = Process.GetCurrentProcess();
            return File.Exists(file) && File.GetLastWriteTime(file) >= self.StartTime ? File.ReadAllText(file).Split(' ') : null;
        }
    }
}
