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
}
