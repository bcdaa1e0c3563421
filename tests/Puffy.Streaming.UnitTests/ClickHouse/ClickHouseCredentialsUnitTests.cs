using System.Net;
using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.UnitTests.ClickHouse;

/// <summary>
/// Current ClickHouse servers refuse the passwordless default user over the network (the compose stack sets a user):
/// the client sends the configured user and password as ClickHouse's own headers, never in the URL.
/// </summary>
public sealed class ClickHouseCredentialsUnitTests
{
    [Fact]
    public async Task ExecuteAsync_UserAndPassword_SentAsClickHouseHeadersNotInTheUrl()
    {
        using var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        var client = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://clickhouse:8123/"), User = "puffy", Password = "s3cret" }, http);

        await client.ExecuteAsync("SELECT 1", TestContext.Current.CancellationToken);

        var request = Assert.Single(handler.Requests);
        Assert.Equal("puffy", Assert.Single(request.Headers.GetValues("X-ClickHouse-User")));
        Assert.Equal("s3cret", Assert.Single(request.Headers.GetValues("X-ClickHouse-Key")));
        Assert.DoesNotContain("s3cret", request.RequestUri!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_NoUser_SendsNoCredentialHeaders()
    {
        using var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        var client = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://clickhouse:8123/") }, http);

        await client.ExecuteAsync("SELECT 1", TestContext.Current.CancellationToken);

        var request = Assert.Single(handler.Requests);
        Assert.False(request.Headers.Contains("X-ClickHouse-User"));
        Assert.False(request.Headers.Contains("X-ClickHouse-Key"));
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(string.Empty) });
        }
    }
}
