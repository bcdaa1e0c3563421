using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.Embedded;

public sealed class PipelineOptions
{
    public ValidatorOptions Validator { get; init; } = new();
    public SessionizerOptions Sessionizer { get; init; } = new();
    public AttributionOptions Attribution { get; init; } = new();
    public MonitorOptions Monitor { get; init; } = new();
}

/// <summary>Progress of a run: files done of all, rows read, elapsed time.</summary>
public readonly record struct PipelineProgress(int FilesDone, int FilesTotal, string CurrentFile, long Rows, TimeSpan Elapsed);

/// <summary>
/// The five service cores wired in one process: ingest → validate → sessionize → attribute, with every metric
/// going to the monitor. The same classes run inside the services; here they are called directly.
/// </summary>
public sealed class EmbeddedPipeline
{
    private readonly IngestorCore _ingestor;
    private readonly ValidatorCore _validator;
    private readonly SessionizerCore _sessionizer;
    private readonly AttributionCore _attribution;
    private readonly MonitorCore _monitor;
    private readonly IPipelineSink _sink;

    public EmbeddedPipeline(PipelineOptions options, IPipelineSink sink)
    {
        _sink = sink;
        _monitor = new MonitorCore(options.Monitor);
        _attribution = new AttributionCore(options.Attribution);
        _sessionizer = new SessionizerCore(options.Sessionizer)
        {
            OnEvent = OnSessionized,
            OnSessionClosed = sink.OnSession,
            OnMetric = OnMetric,
        };
        _validator = new ValidatorCore(options.Validator)
        {
            OnValid = ev => _sessionizer.Accept(ev),
            OnDeadLetter = sink.OnDeadLetter,
            OnMetric = OnMetric,
        };
        _ingestor = new IngestorCore { OnMetric = OnMetric };
    }

    public long RowsRead { get; private set; }

    /// <summary>State sizes, to show that memory follows open sessions, not finished ones.</summary>
    public (int Buffered, int RememberedIds, int OpenSessions, int TrackedClients) StateSizes =>
        (_validator.Buffered, _validator.RememberedIds, _sessionizer.OpenSessions, _attribution.TrackedClients);

    /// <summary>Streams the files (in file-name order) through the pipeline and closes everything at the end.</summary>
    public void Run(IReadOnlyList<string> files, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ordered = files.OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            var path = ordered[i];
            var name = Path.GetFileName(path);
            ReadOnlyMemory<byte> content;
            try
            {
                content = ReadFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _ingestor.ReportUnreadable(name, e.Message);
                _sink.OnFileRead(name, EventTime.DayFromFileName(name), 0, e.Message);
                progress?.Report(new PipelineProgress(i + 1, ordered.Count, name, RowsRead, clock.Elapsed));
                continue;
            }

            RunFile(name, content, progress is null ? null : rows => progress.Report(new PipelineProgress(i, ordered.Count, name, rows, clock.Elapsed)), cancellationToken);
            progress?.Report(new PipelineProgress(i + 1, ordered.Count, name, RowsRead, clock.Elapsed));
        }

        Finish();
    }

    // One buffer for every file: a fresh array per file would land on the large-object heap and force full GCs.
    private byte[] _fileBuffer = [];

    private ReadOnlyMemory<byte> ReadFile(string path)
    {
        using var handle = File.OpenHandle(path);
        var length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength)
            throw new IOException($"{path} is larger than {Array.MaxLength} bytes");
        if (_fileBuffer.Length < length)
            _fileBuffer = new byte[Math.Max(length, _fileBuffer.Length * 2L)];
        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(handle, _fileBuffer.AsSpan(read, (int)length - read), read);
            if (n == 0)
                break;
            read += n;
        }

        return _fileBuffer.AsMemory(0, read);
    }

    /// <summary>Feeds one file's bytes; call <see cref="Finish"/> after the last one.</summary>
    public void RunFile(string name, ReadOnlyMemory<byte> content, Action<long>? rowsProgress = null, CancellationToken cancellationToken = default)
    {
        long rows = 0;
        foreach (var raw in _ingestor.ReadFile(name, content))
        {
            rows++;
            RowsRead++;
            _validator.Accept(raw);
            if ((rows & 0x3FFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rowsProgress?.Invoke(RowsRead);
            }
        }

        var day = EventTime.DayFromFileName(name);
        _sink.OnFileRead(name, day, rows, null);
        _validator.EndOfFile(name, day);
    }

    /// <summary>End of replay: decides buffered events, closes every session and completes every day.</summary>
    public void Finish()
    {
        _validator.Flush();
        _sessionizer.Flush();
    }

    private void OnSessionized(SessionizedEvent se)
    {
        _sink.OnEvent(se);
        if (_attribution.Accept(se) is { } order)
            _sink.OnOrder(order);
    }

    private void OnMetric(Metric metric)
    {
        _sink.OnMetric(metric);
        foreach (var alert in _monitor.Accept(metric))
            _sink.OnAlert(alert);
    }
}
