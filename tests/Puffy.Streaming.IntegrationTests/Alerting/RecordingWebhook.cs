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
    // Only a guard against a hanging test; a passing test never waits on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly LoopbackHttpServer _server;
    private readonly HttpStatusCode _status;
    private readonly Lock _gate = new();
    private readonly List<WebhookRequest> _requests = [];
    private (int Count, TaskCompletionSource Done)? _waiter;

    public RecordingWebhook(HttpStatusCode status = HttpStatusCode.OK)
    {
        _status = status;
        _server = new LoopbackHttpServer(HandleAsync);
    }

    /// <summary>The webhook's URL, with a path as Slack's have one.</summary>
    public Uri Url => new(_server.Url, "services/T000/B000/secret");

    public IReadOnlyList<WebhookRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> requests have arrived; returns all that did.</summary>
    public async Task<IReadOnlyList<WebhookRequest>> WaitForRequestsAsync(int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_requests.Count >= count)
                done.SetResult();
            else
                _waiter = (count, done);
        }

        try
        {
            await done.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected {count} webhook requests, got {Requests.Count}.");
        }

        return Requests;
    }

    public void Dispose() => _server.Dispose();

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var request = new WebhookRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, await reader.ReadToEndAsync());
        lock (_gate)
        {
            _requests.Add(request);
            if (_waiter is { } waiter && _requests.Count >= waiter.Count)
            {
                _waiter = null;
                waiter.Done.SetResult();
            }
        }

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
