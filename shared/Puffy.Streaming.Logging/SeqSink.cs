using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace Puffy.Streaming.Logging;

/// <summary>
/// Ships events to Seq as newline-delimited CLEF (<c>POST {ServerUrl}/ingest/clef</c>). Events are queued in memory
/// (the oldest are dropped and counted beyond <see cref="SeqSinkOptions.QueueLimit"/>) and sent by one background
/// task in batches; a batch that fails because Seq is unreachable, times out or answers 408/429/5xx is retried with
/// exponential backoff. Logging calls never block on the network and never throw. <see cref="Dispose"/> sends what
/// is still held, for at most <see cref="SeqSinkOptions.FlushTimeout"/>. Problems are reported through Serilog's
/// <see cref="SelfLog"/>.
/// </summary>
public sealed class SeqSink : ILogEventSink, IDisposable
{
    /// <summary>The media type Seq expects for CLEF payloads.</summary>
    public const string ClefMediaType = "application/vnd.serilog.clef";

    /// <summary>The header that carries the API key.</summary>
    public const string ApiKeyHeader = "X-Seq-ApiKey";

    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan StoppingRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(2);

    private readonly SeqSinkOptions _options;
    private readonly Uri _ingestUri;
    private readonly Channel<LogEvent> _queue;
    private readonly HttpClient _http;
    private readonly ClefFormatter _formatter = new();
    private readonly ArrayBufferWriter<byte> _payload = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    // Cancelled when Dispose starts: cuts a backoff wait short so held events go out promptly.
    private readonly CancellationTokenSource _stopping = new();
    // Cancelled when the flush time limit has passed: whatever is still held is given up.
    private readonly CancellationTokenSource _abandon = new();
    private readonly Task _worker;
    private long _droppedEvents;
    private long _reportedDrops;
    private int _disposed;

    /// <summary>Starts the background sender; nothing is sent until the first event arrives.</summary>
    public SeqSink(SeqSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ServerUrl);
        if (!options.ServerUrl.IsAbsoluteUri || (options.ServerUrl.Scheme != Uri.UriSchemeHttp && options.ServerUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Seq server URL must be an absolute http(s) URL, not '{options.ServerUrl}'.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueLimit, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Period, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FlushTimeout, TimeSpan.Zero, nameof(options));

        _options = options;
        _ingestUri = IngestUri(options.ServerUrl);
        _queue = Channel.CreateBounded<LogEvent>(
            new BoundedChannelOptions(options.QueueLimit)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = false,
            },
            _ => Interlocked.Increment(ref _droppedEvents));
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = RequestTimeout,
        };
        _worker = Task.Run(RunAsync);
    }

    private enum Outcome
    {
        Sent,
        Retry,
        GiveUp,
    }

    /// <summary>Events dropped because the queue was full.</summary>
    public long DroppedEvents => Interlocked.Read(ref _droppedEvents);

    /// <summary>Queues the event; returns at once.</summary>
    public void Emit(LogEvent logEvent)
    {
        if (logEvent is not null)
        {
            // Fails only after Dispose; a bounded DropOldest channel never refuses otherwise.
            _queue.Writer.TryWrite(logEvent);
        }
    }

    /// <summary>Sends what is still held (waiting at most <see cref="SeqSinkOptions.FlushTimeout"/>), then stops.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _stopping.Cancel();
        if (!_worker.Wait(_options.FlushTimeout))
        {
            _abandon.Cancel();
            if (!_worker.Wait(AbandonGrace))
            {
                // The sender is stuck somewhere that ignores cancellation; leave its resources to the finaliser.
                return;
            }
        }

        _http.Dispose();
        _stopping.Dispose();
        _abandon.Dispose();
    }

    private static Uri IngestUri(Uri serverUrl)
    {
        var root = serverUrl.AbsoluteUri;
        return new Uri(new Uri(root.EndsWith('/') ? root : root + "/"), "ingest/clef");
    }

    private async Task RunAsync()
    {
        var batch = new List<LogEvent>(Math.Min(_options.BatchSize, 1024));
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abandon.Token))
            {
                await FillAsync(reader, batch);
                await SendAsync(batch);
                batch.Clear();
                ReportDrops();
            }
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            var abandoned = batch.Count;
            while (reader.TryRead(out _))
            {
                abandoned++;
            }

            Report($"flush time limit passed; {abandoned} events to {_ingestUri} were not sent");
        }
#pragma warning disable CA1031 // A log sink must never bring the process down; SelfLog is the only place to report.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Report($"sender stopped unexpectedly: {e}");
        }

        ReportDrops();
    }

    // Collects up to BatchSize events, waiting at most Period after the first one; ends early once the queue is
    // completed (Dispose) and empty.
    private async Task FillAsync(ChannelReader<LogEvent> reader, List<LogEvent> batch)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(_abandon.Token);
        window.CancelAfter(_options.Period);
        try
        {
            while (batch.Count < _options.BatchSize)
            {
                if (reader.TryRead(out var logEvent))
                {
                    batch.Add(logEvent);
                }
                else if (!await reader.WaitToReadAsync(window.Token))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (window.IsCancellationRequested && !_abandon.IsCancellationRequested)
        {
            // The period is over: send what we have.
        }
    }

    private async Task SendAsync(List<LogEvent> batch)
    {
        var count = Serialize(batch);
        if (count == 0)
        {
            return;
        }

        var delay = _options.Period < MaximumBackoff ? _options.Period : MaximumBackoff;
        for (var attempt = 1; ; attempt++)
        {
            _abandon.Token.ThrowIfCancellationRequested();
            switch (await PostAsync(count, attempt))
            {
                case Outcome.Sent:
                case Outcome.GiveUp:
                    return;
            }

            await BackoffAsync(delay);
            delay = delay * 2 < MaximumBackoff ? delay * 2 : MaximumBackoff;
        }
    }

    private int Serialize(List<LogEvent> batch)
    {
        _payload.ResetWrittenCount();
        var count = 0;
        foreach (var logEvent in batch)
        {
            _scratch.ResetWrittenCount();
            try
            {
                _formatter.Write(logEvent, _scratch);
            }
#pragma warning disable CA1031 // One unrenderable event (a property whose ToString throws) must not cost the batch.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Report($"could not format event '{logEvent.MessageTemplate.Text}': {e}");
                continue;
            }

            _payload.Write(_scratch.WrittenSpan);
            _payload.Write("\n"u8);
            count++;
        }

        return count;
    }

    private async Task<Outcome> PostAsync(int count, int attempt)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _ingestUri)
            {
                Content = new ReadOnlyMemoryContent(_payload.WrittenMemory),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(ClefMediaType);
            if (!string.IsNullOrEmpty(_options.ApiKey))
            {
                request.Headers.TryAddWithoutValidation(ApiKeyHeader, _options.ApiKey);
            }

            using var response = await _http.SendAsync(request, _abandon.Token);
            if (response.IsSuccessStatusCode)
            {
                return Outcome.Sent;
            }

            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(_abandon.Token);
            body = body.Length > 500 ? body[..500] + "..." : body;
            if (status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            {
                Report($"{_ingestUri} answered {status} to a batch of {count} events (attempt {attempt}); will retry: {body}");
                return Outcome.Retry;
            }

            // 400 (bad payload), 401/403 (API key), 413 (too large): sending the same batch again cannot succeed.
            Report($"{_ingestUri} rejected a batch of {count} events with {status}; dropping it: {body}");
            return Outcome.GiveUp;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            Report($"could not send a batch of {count} events to {_ingestUri} (attempt {attempt}); will retry: {e.Message}");
            return Outcome.Retry;
        }
    }

    private async Task BackoffAsync(TimeSpan delay)
    {
        var stopping = _stopping.IsCancellationRequested;
        try
        {
            // Once Dispose waits, retry every few hundred milliseconds until the flush time limit.
            await Task.Delay(stopping && delay > StoppingRetryDelay ? StoppingRetryDelay : delay, stopping ? _abandon.Token : _stopping.Token);
        }
        catch (OperationCanceledException) when (!stopping && _stopping.IsCancellationRequested)
        {
        }
    }

    private void ReportDrops()
    {
        var dropped = Interlocked.Read(ref _droppedEvents);
        if (dropped != _reportedDrops)
        {
            Report($"queue limit {_options.QueueLimit} reached; {dropped} events dropped so far");
            _reportedDrops = dropped;
        }
    }

    // Message text may contain braces, so it goes in as an argument, never as the format.
    private static void Report(string message) => SelfLog.WriteLine("Seq sink: {0}", message);
}
