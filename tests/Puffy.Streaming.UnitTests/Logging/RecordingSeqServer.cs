using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Puffy.Streaming.UnitTests.Logging;

/// <summary>
/// Stands in for Seq: an HTTP listener on a free 127.0.0.1 port that records every request and answers with the
/// status <c>respond</c> gives for the request's index. The request is recorded before it is answered, so once a
/// client has its answer the request is visible here.
/// </summary>
internal sealed class RecordingSeqServer : IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpListener _listener;
    private readonly Func<int, Task<HttpStatusCode>> _respond;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly SemaphoreSlim _recorded = new(0);
    private readonly Task _loop;

    public RecordingSeqServer(Func<int, Task<HttpStatusCode>>? respond = null, int? port = null)
    {
        _respond = respond ?? (_ => Task.FromResult(HttpStatusCode.Created));
        (_listener, Url) = Listen(port);
        _loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public IReadOnlyList<JsonElement> AcceptedEvents =>
        [.. Requests.Where(request => request.Status is >= 200 and < 300).SelectMany(request => request.Events)];

    /// <summary>Waits until at least <paramref name="count"/> events have been accepted (answered with 2xx).</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForAcceptedEventsAsync(int count)
    {
        while (AcceptedEvents.Count < count)
        {
            if (!await _recorded.WaitAsync(Patience, TestContext.Current.CancellationToken))
            {
                throw new TimeoutException($"Expected {count} accepted events, got {AcceptedEvents.Count} in {Requests.Count} requests.");
            }
        }

        return AcceptedEvents;
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(Patience, TestContext.Current.CancellationToken);
        _recorded.Dispose();
    }

    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static (HttpListener Listener, Uri Url) Listen(int? fixedPort)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = fixedPort ?? FreePort();
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(url.ToString());
            try
            {
                listener.Start();
                return (listener, url);
            }
            catch (HttpListenerException) when (fixedPort is null && attempt < 5)
            {
                // Another process took the port between the probe and the listener; pick another.
                listener.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        for (var index = 0; ; index++)
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
                await HandleAsync(context, index);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client gave up on this request (a sink that stopped waiting); serve the next one.
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context, int index)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var status = await _respond(index);
        _requests.Enqueue(new RecordedRequest(
            context.Request.HttpMethod,
            context.Request.Url!.AbsolutePath,
            context.Request.ContentType,
            context.Request.Headers["X-Seq-ApiKey"],
            body,
            (int)status));
        _recorded.Release();

        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync("{}"u8.ToArray());
        context.Response.Close();
    }
}

/// <summary>One request as the server saw it, with the status it was answered with.</summary>
internal sealed record RecordedRequest(string Method, string Path, string? ContentType, string? ApiKey, string Body, int Status)
{
    public IReadOnlyList<JsonElement> Events =>
        [.. Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
}
