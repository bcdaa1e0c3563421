using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.UnitTests.Logging;

namespace Puffy.Streaming.UnitTests.Security;

/// <summary>Credentials come from configuration, the environment or files, reach the servers, and never the logs.</summary>
public sealed class CredentialsUnitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("http://writer:s3cret@clickhouse:8123/", "http://***@clickhouse:8123/")]
    [InlineData("https://user:p%40ss@registry:8081/path", "https://***@registry:8081/path")]
    [InlineData("http://clickhouse:8123/", "http://clickhouse:8123/")]
    [InlineData("redis:6379,user=puffy,password=s3cret,ssl=true", "redis:6379,user=puffy,password=***,ssl=true")]
    [InlineData("redis:6379,Password = s3cret", "redis:6379,Password =***")]
    [InlineData("Host=db;Pwd=s3cret;Database=x", "Host=db;Pwd=***;Database=x")]
    [InlineData("redis:6379", "redis:6379")]
    public void Redact_UrlOrConnectionString_HidesTheSecret(string text, string expected) =>
        Assert.Equal(expected, Infrastructure.Redact(text));

    [Fact]
    public void RedisClientOptions_UserAndPasswordFile_AreTheLogin()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "redis-secret\n");
            var options = new RedisOptions { Configuration = "127.0.0.1:6390", User = "puffy", PasswordFile = file, Password = "ignored" }.ClientOptions();

            Assert.Equal("puffy", options.User);
            Assert.Equal("redis-secret", options.Password);
            // The client's own configuration string carries the password: only its redacted form may be logged.
            Assert.Contains("redis-secret", options.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("redis-secret", Infrastructure.Redact(options.ToString()), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
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

            await fromUrl.QueryJsonEachRowAsync("SELECT 1", Ct);
            await fromFile.ExecuteAsync("SELECT 1", Ct);

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

        await writer.QueryJsonEachRowAsync("SELECT 1", Ct);
        await analyst.QueryJsonEachRowAsync("SELECT 1", Ct);

        Assert.Contains("output_format_json_quote_64bit_integers=0", handler.Requests[0].RequestUri!.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("output_format", handler.Requests[1].RequestUri!.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceHost_PasswordsInConfiguration_NeverReachTheLogOrTheErrors()
    {
        const string UrlSecret = "url-secret-7f3a";
        const string ClickHouseSecret = "clickhouse-secret-91bd";
        const string RedisSecret = "redis-secret-0c4e";
        const string KafkaSecret = "kafka-secret-5d21";
        var port = ClosedPort();
        using var seq = new RecordingSeqServer();
        var builder = ServiceHost.CreateBuilder(
        [
            $"--Seq:Url={seq.Url}",
            $"--ClickHouse:BaseUrl=http://puffy_writer:{UrlSecret}@127.0.0.1:{port}/",
            $"--ClickHouse:Password={ClickHouseSecret}",
            $"--Redis:Configuration=127.0.0.1:{port},password={RedisSecret},connectTimeout=200",
            "--Redis:User=puffy",
            $"--Kafka:Security:sasl.password={KafkaSecret}",
            "--Streams:StartupTimeout=00:00:01",
        ], "validator");

        string errors;
        using (var host = builder.Build())
        {
            var clients = host.Services.GetRequiredService<ServiceClients>();
            await clients.CodecAsync(Ct);
            var clickHouse = await Assert.ThrowsAsync<TimeoutException>(() => clients.ClickHouseAsync(Ct));
            var redis = await Assert.ThrowsAnyAsync<Exception>(() => clients.RedisAsync(Ct));
            errors = clickHouse.ToString() + redis;
        }

        // Disposing the host flushed the Seq sink: the Kafka client line and the first wait for ClickHouse at least.
        await seq.WaitForEventsAsync(2);
        var events = seq.Events;
        var logged = string.Join('\n', seq.Requests.Select(r => r.Body));
        Assert.Contains(events, e => Text(e, "Server") == "ClickHouse" && Text(e, "Detail") == $"http://***@127.0.0.1:{port}/");
        Assert.Contains(UrlSecret, new ClickHouseOptions { BaseUrl = new Uri($"http://puffy_writer:{UrlSecret}@127.0.0.1:{port}/") }.BaseUrl.ToString(), StringComparison.Ordinal);
        foreach (var secret in new[] { UrlSecret, ClickHouseSecret, RedisSecret, KafkaSecret })
        {
            Assert.DoesNotContain(secret, logged, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, errors, StringComparison.Ordinal);
        }
    }

    private static string? Text(System.Text.Json.JsonElement clef, string property) =>
        clef.TryGetProperty(property, out var value) ? value.GetString() : null;

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
