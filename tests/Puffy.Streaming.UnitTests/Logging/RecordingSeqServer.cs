using System.Net;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Testing;

namespace Puffy.Streaming.UnitTests.Logging;

/// <summary>
/// Stands in for Seq: an HTTP listener on a free 127.0.0.1 port that records every request and answers 201. A request
/// is recorded before it is answered, so once the Seq sink has flushed (the logger is disposed) its requests are here.
/// </summary>
internal sealed class RecordingSeqServer : IDisposable
{
    // Only a guard against a hanging test; a passing test never waits on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly LoopbackHttpServer _server;
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private (int Count, TaskCompletionSource Done)? _waiter;

    public RecordingSeqServer() => _server = new LoopbackHttpServer(HandleAsync);

    public Uri Url => _server.Url;

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

    public void Dispose() => _server.Dispose();

    private int EventCount() => _requests.Sum(request => request.Events.Count);

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
