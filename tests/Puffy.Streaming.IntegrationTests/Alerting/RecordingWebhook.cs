using System.Net;
using System.Text;
using System.Text.Json;
using Puffy.Streaming.Testing;

namespace Puffy.Streaming.IntegrationTests.Alerting;

/// <summary>
/// Stands in for a Slack incoming webhook: an HTTP listener on a free 127.0.0.1 port that records every request and
/// answers with a fixed status. A request is recorded before it is answered.
/// </summary>
internal sealed class RecordingWebhook : IDisposable
{
    private readonly LoopbackHttpServer _server;
    private readonly HttpStatusCode _status;
    private readonly RecordedRequests<WebhookRequest> _requests = new(requests => requests.Count, "webhook requests");

    public RecordingWebhook(HttpStatusCode status = HttpStatusCode.OK)
    {
        _status = status;
        _server = new LoopbackHttpServer(HandleAsync);
    }

    /// <summary>The webhook's URL, with a path as Slack's have one.</summary>
    public Uri Url => new(_server.Url, "services/T000/B000/secret");

    public IReadOnlyList<WebhookRequest> Requests => _requests.Items;

    /// <summary>Completes once at least <paramref name="count"/> requests have arrived; returns all that did.</summary>
    public Task<IReadOnlyList<WebhookRequest>> WaitForRequestsAsync(int count) => _requests.WaitForAsync(count);

    public void Dispose() => _server.Dispose();

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var request = new WebhookRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, await reader.ReadToEndAsync());
        _requests.Add(request);

        context.Response.StatusCode = (int)_status;
        await context.Response.OutputStream.WriteAsync(_status == HttpStatusCode.OK ? "ok"u8.ToArray() : "no"u8.ToArray());
        context.Response.Close();
    }
}

internal sealed record WebhookRequest(string Method, string Path, string? ContentType, string Body)
{
    public JsonElement Json { get; } = Parse(Body);

    private static JsonElement Parse(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }
}
