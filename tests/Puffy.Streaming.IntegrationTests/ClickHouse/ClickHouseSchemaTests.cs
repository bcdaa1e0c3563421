using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseSchemaTests(ClickHouseServerFixture server) : ClickHouseDatabase(server)
{
    [Fact]
    public async Task ApplySchema_Twice_LeavesEveryTableOnceAsReplacingMergeTree()
    {
        // The base class applied it once already.
        var statements = await Client.ApplySchemaAsync(ClickHouseServerFixture.SchemaFolder, Ct);

        Assert.Equal(Tables.All.Count + 1, statements);
        var rows = await Client.QueryRowsAsync(
            $"SELECT name, engine FROM system.tables WHERE database = {ClickHouseClient.Quote(Client.Database)} ORDER BY name", Ct);
        Assert.Equal(Tables.All.Order(StringComparer.Ordinal), rows.Select(r => r["name"].GetString()));
        Assert.All(rows, r => Assert.Equal("ReplacingMergeTree", r["engine"].GetString()));
    }

    [Fact]
    public async Task FileStatsTable_HasAColumnPerDeadLetterReason()
    {
        var rows = await Client.QueryRowsAsync(
            $"SELECT name FROM system.columns WHERE database = {ClickHouseClient.Quote(Client.Database)} AND table = 'file_stats'", Ct);
        var columns = rows.Select(r => r["name"].GetString()).ToHashSet(StringComparer.Ordinal);

        Assert.All(DeadLetterReasons.All, reason => Assert.Contains("dl_" + reason, columns));
    }

    [Fact]
    public async Task Tables_StoreNoDateTime64OrLowCardinality_SoTheyRunOn18_16()
    {
        var types = await Client.QueryRowsAsync(
            $"SELECT DISTINCT type FROM system.columns WHERE database = {ClickHouseClient.Quote(Client.Database)}", Ct);

        Assert.DoesNotContain(types, t => t["type"].GetString()!.Contains("DateTime64", StringComparison.Ordinal));
        Assert.DoesNotContain(types, t => t["type"].GetString()!.Contains("LowCardinality", StringComparison.Ordinal));
    }

    [Fact]
    public void SplitStatements_CommentsAndLineEndSemicolons_YieldStatements()
    {
        var statements = ClickHouseClient.SplitStatements("-- header; not a statement\nCREATE TABLE a (s String DEFAULT 'x;y')\nENGINE = Memory;\n\n  -- note\nSELECT 1;\r\n");

        Assert.Equal(["CREATE TABLE a (s String DEFAULT 'x;y')\nENGINE = Memory", "SELECT 1"], statements.Select(s => s.ReplaceLineEndings("\n")));
    }
}
