using System.Net;
using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.UnitTests.ClickHouse;

/// <summary>
/// Current ClickHouse servers refuse the passwordless default user over the network (the compose stack sets a user):
/// the client sends the configured user and password (or those of the URL, or a password file) as ClickHouse's own
/// headers, never in the URL.
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

    [Fact]
    public async Task ClickHouseClient_CredentialsInTheUrlOrAFile_SentAsHeadersNeverInTheUrl()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "file-secret\n");
            using var handler = new RecordingHandler();
            using var http = new HttpClient(handler);
            using var fromUrl = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://analyst:url%2Fsecret@clickhouse:8123/") }, http);
            using var fromFile = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://clickhouse:8123/"), User = "writer", PasswordFile = file }, http);

            await fromUrl.QueryJsonEachRowAsync("SELECT 1", TestContext.Current.CancellationToken);
            await fromFile.ExecuteAsync("SELECT 1", TestContext.Current.CancellationToken);

            Assert.Equal(["analyst", "writer"], handler.Requests.Select(r => r.Headers.GetValues("X-ClickHouse-User").Single()));
            Assert.Equal(["url/secret", "file-secret"], handler.Requests.Select(r => r.Headers.GetValues("X-ClickHouse-Key").Single()));
            Assert.All(handler.Requests, r => Assert.DoesNotContain("secret", r.RequestUri!.ToString(), StringComparison.Ordinal));
            Assert.All(handler.Requests, r => Assert.Equal("clickhouse", r.RequestUri!.Host));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ClickHouseClient_ReadOnlyUser_SendsNoSettingOfItsOwn()
    {
        using var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        using var writer = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://clickhouse:8123/") }, http);
        using var analyst = new ClickHouseClient(new ClickHouseOptions { BaseUrl = new Uri("http://clickhouse:8123/"), ReadOnly = true }, http);

        await writer.QueryJsonEachRowAsync("SELECT 1", TestContext.Current.CancellationToken);
        await analyst.QueryJsonEachRowAsync("SELECT 1", TestContext.Current.CancellationToken);

        Assert.Contains("output_format_json_quote_64bit_integers=0", handler.Requests[0].RequestUri!.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("output_format", handler.Requests[1].RequestUri!.Query, StringComparison.Ordinal);
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
