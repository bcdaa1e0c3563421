using Puffy.Streaming.Cli;
using Puffy.Streaming.Pipeline.Ingest;

namespace Puffy.Streaming.UnitTests.Cli;

/// <summary>What `replay` and `stack status` tell the person at the terminal.</summary>
public sealed class StackReportingUnitTests
{
    [Fact]
    public void Describe_SecondReplayOfTheSameFolder_SaysNothingWasSentAndEverythingSkipped()
    {
        var line = StackCommand.Describe(new ReplayReport("r-1", FilesSent: 0, FilesSkipped: 14, FilesFailed: 0, RowsSent: 0), TimeSpan.FromSeconds(1.25));

        Assert.Equal("ingestor: replay r-1: 0 files sent (0 rows), 14 skipped (their content was sent already), 0 failed (unreadable, tried again next replay) in 1.3 s", line);
    }

    [Fact]
    public void Describe_FreshReplay_CountsFilesAndRows()
    {
        var line = StackCommand.Describe(new ReplayReport("r-2", FilesSent: 13, FilesSkipped: 0, FilesFailed: 1, RowsSent: 49_963), TimeSpan.FromSeconds(4));

        Assert.StartsWith("ingestor: replay r-2: 13 files sent (49,963 rows), 0 skipped (their content was sent already), 1 failed (unreadable, tried again next replay)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void QueryCommands_Stack_NameClickHouseNativePortDatabaseAndRedisPort_WithPasswordsReadFromTheirFiles()
    {
        var state = new StackState("/tmp/stack", RedisPort: 6400, RedisPid: 1, ClickHouseHttpPort: 8200, ClickHouseTcpPort: 9100, ClickHousePid: 2,
            KafkaBootstrap: "127.0.0.1:9092", BrokerPid: null, Partitions: 4, Services: []);

        var lines = LocalStack.QueryCommands(state).ToList();

        Assert.Contains(lines, l => l.EndsWith(
            "clickhouse-client --host 127.0.0.1 --port 9100 --user puffy_analyst --password \"$(cat /tmp/stack/clickhouse/puffy_analyst.password)\" -d puffy",
            StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith(
            "REDISCLI_AUTH=\"$(cat /tmp/stack/redis/service.password)\" redis-cli -h 127.0.0.1 -p 6400 --user puffy", StringComparison.Ordinal));
    }

    [Fact]
    public void NewReplayId_Called_IsTheUtcTimeAndSixRandomHexDigits()
    {
        var id = ReplayReport.NewReplayId();

        Assert.Matches(@"^r-\d{8}T\d{6}Z-[0-9a-f]{6}$", id);
    }
}
