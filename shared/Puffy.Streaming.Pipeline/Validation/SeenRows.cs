namespace Puffy.Streaming.Pipeline.Validation;

/// <summary>
/// The input rows already handled, by (file, line): a restarted ingestor sends the files it had not checkpointed again,
/// and each row must be handled once. Memory is bounded by stream time: a file is forgotten once the stream time is more
/// than <paramref name="horizon"/> past its newest row, so only the files of the last horizon are held. A row sent again
/// after that is handled again (and, while its event id is still remembered, dead-lettered as a duplicate).
/// </summary>
public sealed class SeenRows(TimeSpan horizon)
{
    private readonly Dictionary<string, FileRows> _files = new(StringComparer.Ordinal);
    private long _streamTicks = DateTime.MinValue.Ticks;
    private FileRows? _last;

    /// <summary>Files remembered.</summary>
    public int Files => _files.Count;

    /// <summary>Rows remembered, over all files.</summary>
    public long Rows => _files.Values.Sum(f => (long)f.Lines.Count);

    /// <summary>True the first time a row is seen; false for a row already handled.</summary>
    public bool Add(string file, long line, DateTime streamTime)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (streamTime.Ticks > _streamTicks)
            _streamTicks = streamTime.Ticks;
        if (_last is null || !string.Equals(_last.File, file, StringComparison.Ordinal))
        {
            if (!_files.TryGetValue(file, out _last))
            {
                ForgetOld();
                _files[file] = _last = new FileRows(file);
            }
        }

        if (streamTime.Ticks > _last.NewestTicks)
            _last.NewestTicks = streamTime.Ticks;
        return _last.Lines.Add(line);
    }

    // Runs when a new file starts: files arrive one after another, so this is rare and the table is small.
    private void ForgetOld()
    {
        var before = _streamTicks - horizon.Ticks;
        foreach (var (name, rows) in _files)
        {
            if (rows.NewestTicks < before)
                _files.Remove(name);
        }
    }

    private sealed class FileRows(string file)
    {
        public string File { get; } = file;
        public long NewestTicks { get; set; } = DateTime.MinValue.Ticks;
        public HashSet<long> Lines { get; } = [];
    }
}
