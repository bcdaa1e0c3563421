using System.Collections.Concurrent;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Attribution;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Monitoring;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.Embedded;

public sealed class PipelineOptions
{
    /// <summary>The row size limit (<c>oversized_row</c>), the same as the ingestor service's <c>Ingestor:MaxRowBytes</c>.</summary>
    public int MaxRowBytes { get; init; } = IngestorCore.DefaultMaxRowBytes;

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
    private readonly int _maxRowBytes;

    public EmbeddedPipeline(PipelineOptions options, IPipelineSink sink)
    {
        _sink = sink;
        _maxRowBytes = options.MaxRowBytes;
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
            OnValid = Forward,
            OnDeadLetter = Forward,
            OnMetric = Forward,
        };
        _ingestor = new IngestorCore { OnMetric = OnMetric, MaxRowBytes = options.MaxRowBytes };
    }

    public long RowsRead { get; private set; }

    /// <summary>State sizes, to show that memory follows open sessions, not finished ones.</summary>
    public (int Buffered, int RememberedIds, int OpenSessions, int TrackedClients) StateSizes =>
        (_validator.Buffered, _validator.RememberedIds, _sessionizer.OpenSessions, _attribution.TrackedClients);

    /// <summary>
    /// Streams the files (in file-name order) through the pipeline and closes everything at the end, on three threads:
    /// reading, CSV parsing and the row-local checks run ahead of the validator (the calling thread), and what the
    /// validator decides — its events, dead letters and metrics — goes in batches to a third thread that runs the
    /// sessionizer, attribution, monitor and sink. Each thread takes its input in order, so the sink and the monitor
    /// see the same calls in the same order as with <see cref="RunFile"/>.
    /// </summary>
    public void Run(IReadOnlyList<string> files, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ordered = files.OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        using var queue = new BlockingCollection<Item[]>(boundedCapacity: 4);
        using var decided = new BlockingCollection<object?[]>(boundedCapacity: 4);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => Produce(ordered, queue, stop.Token), CancellationToken.None);
        _decided = (decided, stop.Token);
        _batch = NewDecidedBatch();
        _batchCount = 0;
        var consumer = Task.Run(() => Consume(decided, stop), CancellationToken.None);
        var filesDone = 0;
        var current = ordered.Count > 0 ? Path.GetFileName(ordered[0]) : string.Empty;
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable(stop.Token))
            {
                foreach (ref readonly var item in batch.AsSpan())
                {
                    if (item.Raw is { } raw)
                    {
                        RowsRead++;
                        _validator.Accept(raw, item.Verdict);
                    }
                    else if (item.Control is Metric metric)
                    {
                        Forward(metric);
                    }
                    else if (item.Control is FileEnd { SameAs: { } original } copy)
                    {
                        _copies.Add((copy.File, original));
                        filesDone++;
                    }
                    else if (item.Control is FileEnd end)
                    {
                        Forward(end);
                        if (end.Error is null)
                            _validator.EndOfFile(end.File, end.Day, end.Fields);
                        filesDone++;
                        current = end.File;
                    }
                }

                Array.Clear(batch);
                _spareBatches.Enqueue(batch);
                progress?.Report(new PipelineProgress(filesDone, ordered.Count, current, RowsRead, clock.Elapsed));
            }

            cancellationToken.ThrowIfCancellationRequested();
            _validator.Flush();
            SendBatch();
            decided.CompleteAdding();
            consumer.GetAwaiter().GetResult();
        }
        finally
        {
            _decided = null;
            stop.Cancel();
            Settle(producer, stop);
            // A failure of the downstream thread stopped the others (its own token): it is the one reported.
            Settle(consumer, stop);
        }

        _sessionizer.Flush();
    }

    private static void Settle(Task task, CancellationTokenSource stop)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    // While Run runs: where the validator's decisions go (to the downstream thread), in batches. Null otherwise
    // (RunFile), when they are handled at once.
    private (BlockingCollection<object?[]> Queue, CancellationToken Token)? _decided;
    private object?[] _batch = [];
    private int _batchCount;
    private readonly ConcurrentQueue<object?[]> _spareDecided = new();

    private object?[] NewDecidedBatch() => _spareDecided.TryDequeue(out var batch) ? batch : new object?[BatchSize];

    /// <summary>A decision of the validator (or a file read): handled now, or by the downstream thread during Run.</summary>
    private void Forward(object decision)
    {
        if (_decided is null)
        {
            Handle(decision);
            return;
        }

        _batch[_batchCount++] = decision;
        if (_batchCount == _batch.Length)
            SendBatch();
    }

    private void SendBatch()
    {
        if (_batchCount == 0 || _decided is not { } decided)
            return;
        decided.Queue.Add(_batch, decided.Token);
        _batch = NewDecidedBatch();
        _batchCount = 0;
    }

    private void Consume(BlockingCollection<object?[]> decided, CancellationTokenSource stop)
    {
        try
        {
            foreach (var batch in decided.GetConsumingEnumerable(stop.Token))
            {
                foreach (var decision in batch)
                {
                    if (decision is null)
                        break;
                    Handle(decision);
                }

                Array.Clear(batch);
                _spareDecided.Enqueue(batch);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stop.Cancel();
            throw;
        }
    }

    private void Handle(object decision)
    {
        switch (decision)
        {
            case ValidEvent ev:
                _sessionizer.Accept(ev);
                break;
            case DeadLetter deadLetter:
                _sink.OnDeadLetter(deadLetter);
                break;
            case Metric metric:
                OnMetric(metric);
                break;
            case FileEnd end:
                _sink.OnFileRead(end.File, end.Day, end.Rows, end.Error);
                break;
        }
    }

    // A row with its verdict, or (Raw null) a control item: a Metric or a FileEnd. Unused batch slots are empty.
    private readonly record struct Item(RawEvent? Raw, RowVerdict Verdict, object? Control = null);

    private sealed record FileEnd(string File, DateOnly? Day, long Rows, FieldTally? Fields, string? Error, string? SameAs = null);

    /// <summary>Files skipped because their content equals a file read before in the run: (file, the file read).</summary>
    public IReadOnlyList<(string File, string SameAs)> Copies => _copies;

    private readonly List<(string File, string SameAs)> _copies = [];

    private const int BatchSize = 256;

    // Batches go back to the reading thread once handled (emptied), so a run allocates a handful instead of one per 256 rows.
    private readonly ConcurrentQueue<Item[]> _spareBatches = new();

    private Item[] NewBatch() => _spareBatches.TryDequeue(out var batch) ? batch : new Item[BatchSize];

    private void Produce(List<string> files, BlockingCollection<Item[]> queue, CancellationToken token)
    {
        try
        {
            var batch = NewBatch();
            var n = 0;
            void Emit(Item item)
            {
                batch[n++] = item;
                if (n == BatchSize)
                {
                    queue.Add(batch, token);
                    batch = NewBatch();
                    n = 0;
                }
            }

            var ingestor = new IngestorCore { OnMetric = m => Emit(new Item(null, default, m)), MaxRowBytes = _maxRowBytes, RowTextFromContent = true };
            var contents = new ContentIndex();
            foreach (var path in files)
            {
                var name = Path.GetFileName(path);
                var day = EventTime.DayFromFileName(name);
                ReadOnlyMemory<byte> content;
                try
                {
                    content = ReadFile(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    var reason = FileContent.UnreadableReason(path, e);
                    ingestor.ReportUnreadable(name, reason);
                    Emit(new Item(null, default, new FileEnd(name, day, 0, null, reason)));
                    continue;
                }

                // Files are known by content, as the ingestor service knows them: a copy of a file read before is skipped.
                if (contents.CopyOf(name, path, content.Span) is { } original)
                {
                    ReturnBuffer(name);
                    Emit(new Item(null, default, new FileEnd(name, day, 0, null, null, SameAs: original)));
                    continue;
                }

                var fields = new FieldTally();
                long rows = 0;
                foreach (var raw in ingestor.ReadFile(name, content))
                {
                    rows++;
                    Emit(new Item(raw, RowChecks.Check(raw, fields)));
                }

                Emit(new Item(null, default, new FileEnd(name, day, rows, fields, null)));
            }

            if (n > 0)
                queue.Add(batch, token);
        }
        finally
        {
            queue.CompleteAdding();
        }
    }

    // A file's rows keep their text as a slice of its bytes (most never need it as a string), so its buffer stays
    // untouched until the validator has decided every row of the file (its file.complete metric), then serves a later
    // file. Usually two are in use: the file being read and the one before it, whose last rows wait in the reorder
    // buffer. A fresh array per file would land on the large-object heap and force full collections.
    private readonly ConcurrentQueue<byte[]> _freeBuffers = new();
    private readonly ConcurrentDictionary<string, byte[]> _fileBuffers = new(StringComparer.Ordinal);

    private ReadOnlyMemory<byte> ReadFile(string path)
    {
        using var handle = File.OpenHandle(path);
        var length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength)
            throw new IOException($"{path} is larger than {Array.MaxLength} bytes");
        var buffer = TakeBuffer(length);
        var read = 0;
        try
        {
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0)
                    break;
                read += n;
            }
        }
        catch
        {
            _freeBuffers.Enqueue(buffer);
            throw;
        }

        _fileBuffers[Path.GetFileName(path)] = buffer;
        return buffer.AsMemory(0, read);
    }

    private byte[] TakeBuffer(long length)
    {
        // A free buffer large enough; smaller ones are dropped (the files grew past them).
        while (_freeBuffers.TryDequeue(out var free))
        {
            if (free.Length >= length)
                return free;
        }

        // A quarter to spare, so files of about the same size share buffers.
        return new byte[Math.Min(Array.MaxLength, length + length / 4)];
    }

    /// <summary>No row of the file is read any more: its buffer serves a later file.</summary>
    private void ReturnBuffer(string file)
    {
        if (_fileBuffers.TryRemove(file, out var buffer))
            _freeBuffers.Enqueue(buffer);
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
        if (metric.Name == MetricNames.FileComplete)
            ReturnBuffer(metric.Source);
        // The cores' own metrics: one the monitor would reject is a bug, never input to set aside.
        if (_monitor.Check(metric) is { } problem)
            throw new InvalidOperationException($"the pipeline produced an invalid metric: {problem}");
        _sink.OnMetric(metric);
        foreach (var alert in _monitor.Accept(metric))
            _sink.OnAlert(alert);
    }
}
