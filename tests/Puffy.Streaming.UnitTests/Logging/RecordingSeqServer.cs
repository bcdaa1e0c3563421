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
    private readonly LoopbackHttpServer _server;
    private readonly RecordedRequests<RecordedRequest> _requests = new(requests => requests.Sum(r => r.Events.Count), "events");

    public RecordingSeqServer() => _server = new LoopbackHttpServer(HandleAsync);

    public Uri Url => _server.Url;

    public IReadOnlyList<RecordedRequest> Requests => _requests.Items;

    public IReadOnlyList<JsonElement> Events => [.. Requests.SelectMany(request => request.Events)];

    /// <summary>Completes once at least <paramref name="count"/> events have arrived; returns all that did.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForEventsAsync(int count) =>
        [.. (await _requests.WaitForAsync(count)).SelectMany(request => request.Events)];

    public void Dispose() => _server.Dispose();

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
        _requests.Add(request);

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
