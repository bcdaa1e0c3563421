using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.Benchmarks;

/// <summary>
/// The ingest CSV reader against a Sep-based one over the 14 real files held in memory: each produces what the
/// ingestor needs per row (line number, original text, fields). Setup checks that both give identical output.
/// The ingest reader takes the bytes as the ingestor hands them over; Sep reads a MemoryStream over the same bytes.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class CsvReaderBenchmarks
{
    private IReadOnlyList<(string Name, byte[] Content)> _files = [];

    [GlobalSetup]
    public void Setup()
    {
        _files = RealData.Load();
        var rows = 0;
        foreach (var (name, content) in _files)
        {
            var current = new CsvRecordReader(content);
            using var sep = new SepCsvRecordReader(new MemoryStream(content, writable: false));
            while (current.TryRead(out var a))
            {
                if (!sep.TryRead(out var b) || !Same(a, b))
                    throw new InvalidOperationException($"{name} line {a.Line}: the readers disagree");
                rows++;
            }

            if (sep.TryRead(out var extra))
                throw new InvalidOperationException($"{name} line {extra.Line}: only the Sep-based reader has this row");
        }

        if (rows - _files.Count != RealData.Rows)
            throw new InvalidOperationException($"expected {RealData.Rows} data rows, read {rows - _files.Count}");
    }

    [Benchmark(Baseline = true)]
    public long Current()
    {
        long sum = 0;
        foreach (var (_, content) in _files)
        {
            var reader = new CsvRecordReader(content);
            while (reader.TryRead(out var r))
                sum += Consume(r);
        }

        return sum;
    }

    [Benchmark]
    public long Sep()
    {
        long sum = 0;
        foreach (var (_, content) in _files)
        {
            using var reader = new SepCsvRecordReader(new MemoryStream(content, writable: false));
            while (reader.TryRead(out var r))
                sum += Consume(r);
        }

        return sum;
    }

    private static long Consume(in CsvRecord r) => r.Line + r.Text.Length + (r.Fields?.Count ?? -1);

    private static bool Same(in CsvRecord a, in CsvRecord b) =>
        a.Line == b.Line && a.Text == b.Text && a.Error == b.Error
        && (a.Fields is null ? b.Fields is null : b.Fields is not null && a.Fields.SequenceEqual(b.Fields, StringComparer.Ordinal));

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(StatisticColumn.Median, new ThroughputColumn("rows/s", RealData.Rows));
    }
}
