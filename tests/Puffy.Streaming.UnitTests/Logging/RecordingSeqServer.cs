using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Puffy.Streaming.UnitTests.Logging;

/// <summary>
/// Stands in for Seq: an HTTP listener on a free 127.0.0.1 port that records every request and answers 201. A request
/// is recorded before it is answered, so once the Seq sink has flushed (the logger is disposed) its requests are here.
/// </summary>
internal sealed class RecordingSeqServer : IDisposable
{
    // Only a guard against a hanging test; a passing test never waits on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private (int Count, TaskCompletionSource Done)? _waiter;

    public RecordingSeqServer()
    {
        (_listener, Url) = Listen();
        _loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public IReadOnlyList<JsonElement> Events => [.. Requests.SelectMany(request => request.Events)];

    /// <summary>Completes once at least <paramref name="count"/> events have arrived; returns all that did.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForEventsAsync(int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (EventCount() >= count)
            {
                done.SetResult();
            }
            else
            {
                _waiter = (count, done);
            }
        }

        try
        {
            await done.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected {count} events, got {Events.Count} in {Requests.Count} requests.");
        }

        return Events;
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(Patience, TestContext.Current.CancellationToken);
    }

    private int EventCount() => _requests.Sum(request => request.Events.Count);

    private static (HttpListener Listener, Uri Url) Listen()
    {
        for (var attempt = 1; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();

            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(url.ToString());
            try
            {
                listener.Start();
                return (listener, url);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // Another process took the port between the probe and the listener; pick another.
                listener.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await HandleAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client gave up on this request; serve the next one.
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var request = new RecordedRequest(
            context.Request.HttpMethod,
            context.Request.Url!.AbsolutePath,
            context.Request.ContentType,
            context.Request.Headers["X-Seq-ApiKey"],
            body);
        lock (_gate)
        {
            _requests.Add(request);
            if (_waiter is { } waiter && EventCount() >= waiter.Count)
            {
                _waiter = null;
                waiter.Done.SetResult();
            }
        }

        context.Response.StatusCode = (int)HttpStatusCode.Created;
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync("{}"u8.ToArray());
        context.Response.Close();
    }
}

/// <summary>One request as the server saw it; <see cref="Events"/> are its CLEF lines, parsed.</summary>
internal sealed record RecordedRequest(string Method, string Path, string? ContentType, string? ApiKey, string Body)
{
    public IReadOnlyList<JsonElement> Events { get; } =
        [.. Body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse)];

    public static JsonElement Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }
}
