using Puffy.Streaming.Hosting;
using Puffy.Streaming.LocalServers;
using StackExchange.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// The local Redis lets nobody in without a password: the services' user reads and writes every key but may not
/// run Redis's dangerous commands; <c>default</c> is the administrator. Its own server, so nothing else is disturbed.
/// </summary>
public sealed class RedisAuthTests : IAsyncLifetime
{
    private const string GivenPassword = "given-service-password-0123456789";
    private string _dir = null!;
    private LocalRedis _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("puffy-redis-auth-").FullName;
        _server = await LocalRedis.StartAsync(_dir, appendOnly: false, servicePassword: GivenPassword, ct: Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Connect_NoPassword_IsRefused()
    {
        var error = await Assert.ThrowsAnyAsync<RedisException>(() => WriteAsync(_server.Configuration));

        Assert.Contains("authentication failure", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_WrongPassword_IsRefused()
    {
        var error = await Assert.ThrowsAnyAsync<RedisException>(() => WriteAsync($"{_server.Configuration},user={LocalRedis.ServiceUser},password=wrong"));

        Assert.Contains("authentication failure", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceUser_FromThePasswordFile_ReadsAndWrites_ButRunsNoDangerousCommand()
    {
        var options = new RedisOptions { Configuration = _server.Configuration, User = LocalRedis.ServiceUser, PasswordFile = _server.ServicePasswordFile };
        var client = options.ClientOptions();
        client.AllowAdmin = true; // else the client itself refuses the administrative commands before the server can
        using var connection = await ConnectionMultiplexer.ConnectAsync(client);
        var db = connection.GetDatabase();

        Assert.True(await db.StringSetAsync("auth-test", "written"));
        Assert.Equal("written", (string?)await db.StringGetAsync("auth-test"));
        Assert.Equal(LocalRedis.ServiceUser, (string?)await db.ExecuteAsync("ACL", "WHOAMI"));
        foreach (var command in new[] { new object[] { "FLUSHALL" }, ["CONFIG", "GET", "*"], ["ACL", "LIST"], ["FLUSHDB"], ["ACL", "SETUSER", "intruder", "on"], ["KEYS", "*"], ["SHUTDOWN", "NOSAVE"] })
        {
            var denied = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync((string)command[0], command.Skip(1).ToArray()));
            Assert.StartsWith("NOPERM", denied.Message, StringComparison.Ordinal);
        }

        Assert.Equal("written", (string?)await db.StringGetAsync("auth-test"));
    }

    [Fact]
    public async Task Admin_DefaultUserWithItsPassword_MayAdministrate()
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(
            $"{_server.Configuration},password={LocalSecret.Read(_server.AdminPasswordFile)},allowAdmin=true");

        var users = (string[]?)await connection.GetDatabase().ExecuteAsync("ACL", "USERS");

        Assert.Equal(["default", LocalRedis.ServiceUser], users!.Order(StringComparer.Ordinal));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void PasswordFiles_OwnerOnly_GivenPasswordKept_AndTheAclFileHoldsOnlyHashes()
    {
        Assert.Equal(GivenPassword, LocalSecret.Read(_server.ServicePasswordFile));
        var acl = File.ReadAllText(Path.Combine(_dir, "users.acl"));
        foreach (var file in new[] { _server.ServicePasswordFile, _server.AdminPasswordFile, Path.Combine(_dir, "users.acl") })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.DoesNotContain(GivenPassword, acl, StringComparison.Ordinal);
        Assert.DoesNotContain(LocalSecret.Read(_server.AdminPasswordFile)!, acl, StringComparison.Ordinal);
        Assert.Contains(LocalSecret.Sha256Hex(GivenPassword), acl, StringComparison.Ordinal);
    }

    private static async Task WriteAsync(string configuration)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(configuration + ",abortConnect=true");
        await connection.GetDatabase().StringSetAsync("auth-test-anonymous", "x");
    }
}
