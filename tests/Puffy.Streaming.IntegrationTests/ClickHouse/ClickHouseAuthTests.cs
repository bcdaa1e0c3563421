using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>
/// The local ClickHouse lets nobody in without a password, and splits the work: the services' writer creates, fills
/// and reads the analyst database (and no other); the analyst only reads it.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseAuthTests(ClickHouseServerFixture server) : IAsyncLifetime
{
    private const int PasswordRequired = 194;
    private const int WrongPassword = 193;
    private const int ReadOnlyMode = 164;
    private const int DatabaseAccessDenied = 291;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private LocalClickHouse Local => server.Local!;

    public ValueTask InitializeAsync()
    {
        Assert.SkipWhen(server.Local is null, "CLICKHOUSE_URL names an external server; its users are its own");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (server.Local is null)
            return;
        using var admin = server.CreateClient("cleanup", o => o.Database = "default");
        await admin.ExecuteAsync("DROP DATABASE IF EXISTS " + LocalClickHouse.DefaultDatabase, CancellationToken.None);
    }

    [Fact]
    public async Task Query_NoCredentials_IsRefused()
    {
        using var anonymous = Client(user: null, password: null);

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => anonymous.QueryScalarAsync("SELECT 1", Ct));

        Assert.Equal(PasswordRequired, error.Code);
    }

    [Fact]
    public async Task Query_WrongPassword_IsRefused()
    {
        using var intruder = Client(LocalClickHouse.WriterUser, "not-the-password");

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => intruder.QueryScalarAsync("SELECT 1", Ct));

        Assert.Equal(WrongPassword, error.Code);
    }

    [Fact]
    public async Task Writer_AppliesTheSchemaInsertsAndReads_ButNoOtherDatabase()
    {
        using var writer = Writer();

        Assert.True(await writer.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct) > 0);
        await writer.ExecuteAsync($"INSERT INTO {writer.Qualify("alerts")} (day, rule, severity, message) VALUES ('2025-03-01', 'auth_test', 'Warning', 'written by the writer')", Ct);

        Assert.Equal("1", await writer.QueryScalarAsync($"SELECT count() FROM {writer.Qualify("alerts")} FINAL WHERE rule = 'auth_test'", Ct));
        var denied = await Assert.ThrowsAsync<ClickHouseException>(() => writer.ExecuteAsync("CREATE DATABASE IF NOT EXISTS puffy_elsewhere", Ct));
        Assert.Equal(DatabaseAccessDenied, denied.Code);
        denied = await Assert.ThrowsAsync<ClickHouseException>(() => writer.QueryScalarAsync("SELECT count() FROM default.nothing", Ct));
        Assert.Equal(DatabaseAccessDenied, denied.Code);
    }

    [Fact]
    public async Task Analyst_Reads_ButCannotInsertDropOrCreate()
    {
        using (var writer = Writer())
        {
            await writer.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct);
            await writer.ExecuteAsync($"INSERT INTO {writer.Qualify("alerts")} (day, rule, severity, message) VALUES ('2025-03-01', 'auth_test', 'Warning', 'x')", Ct);
        }

        using var analyst = Analyst();

        // JSON rows with 64-bit numbers as numbers: the profile sets what the client may not send in readonly mode.
        var row = Assert.Single(await analyst.QueryJsonEachRowAsync($"SELECT count() AS n FROM {analyst.Qualify("alerts")} FINAL", Ct));
        Assert.Equal(1, row.GetProperty("n").GetInt64());
        var insert = await Assert.ThrowsAsync<ClickHouseException>(() => analyst.ExecuteAsync(
            $"INSERT INTO {analyst.Qualify("alerts")} (day, rule, severity, message) VALUES ('2025-03-02', 'forged', 'Critical', 'x')", Ct));
        Assert.Equal(ReadOnlyMode, insert.Code);
        var drop = await Assert.ThrowsAsync<ClickHouseException>(() => analyst.ExecuteAsync($"DROP TABLE {analyst.Qualify("alerts")}", Ct));
        Assert.Equal(ReadOnlyMode, drop.Code);
        var create = await Assert.ThrowsAsync<ClickHouseException>(() => analyst.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct));
        Assert.Equal(ReadOnlyMode, create.Code);
        Assert.Equal("1", await analyst.QueryScalarAsync($"SELECT count() FROM {analyst.Qualify("alerts")} FINAL", Ct));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void PasswordFiles_OwnerOnly_AndTheUsersFilesHoldOnlyHashes()
    {
        foreach (var file in new[] { Local.WriterPasswordFile, Local.AnalystPasswordFile, Local.AdminPasswordFile })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            var password = LocalSecret.Read(file)!;
            Assert.True(password.Length >= 32, $"{file} holds a short password");
            foreach (var users in new[] { Path.Combine(Local.Directory, "users.xml"), Path.Combine(Local.Directory, "users.d", "puffy.xml") })
            {
                var text = File.ReadAllText(users);
                Assert.DoesNotContain(password, text, StringComparison.Ordinal);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(users));
            }
        }
    }

    private ClickHouseClient Writer() => Client(LocalClickHouse.WriterUser, LocalSecret.Read(Local.WriterPasswordFile));

    private ClickHouseClient Analyst() => new(new ClickHouseOptions
    {
        BaseUrl = server.BaseUrl,
        Database = LocalClickHouse.DefaultDatabase,
        User = LocalClickHouse.AnalystUser,
        PasswordFile = Local.AnalystPasswordFile,
        ReadOnly = true,
        MaxRetries = 0,
    });

    private ClickHouseClient Client(string? user, string? password) => new(new ClickHouseOptions
    {
        BaseUrl = server.BaseUrl,
        Database = LocalClickHouse.DefaultDatabase,
        User = user,
        Password = password,
        MaxRetries = 0,
    });
}
