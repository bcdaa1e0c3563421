using System.Text.Json;
using Puffy.Streaming.ClickHouse;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>
/// Base of the ClickHouse test classes: every test gets its own database with the repository's schema applied,
/// dropped afterwards.
/// </summary>
public abstract class ClickHouseDatabase(ClickHouseServerFixture server) : IAsyncLifetime
{
    protected ClickHouseServerFixture Server { get; } = server;

    protected ClickHouseClient Client { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Client = Server.CreateClient(GetType().Name);
        await Client.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Client.ExecuteAsync("DROP DATABASE IF EXISTS " + Client.Database, CancellationToken.None);
        }
        finally
        {
            Client.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    protected async Task<JsonElement> SingleRowAsync(string sql)
    {
        var rows = await Client.QueryJsonEachRowAsync(sql, Ct);
        Assert.Single(rows);
        return rows[0];
    }

    protected async Task<long> CountFinalAsync(string table) =>
        long.Parse(await Client.QueryScalarAsync($"SELECT count() FROM {Client.Qualify(table)} FINAL", Ct), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A clock the test moves, so row versions differ without waiting.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
