using Microsoft.Extensions.Logging;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.ClickHouse;

/// <summary>
/// A ClickHouse that stops answering (SIGSTOP: connections open, no replies) holds an insert until the client's timeout,
/// minutes away: while it waits, the services say so at Warning instead of stalling silently, and the insert goes through
/// once the server answers again. Its own server: freezing the shared one would stall the other tests.
/// </summary>
public sealed class ClickHouseFreezeTests : IAsyncLifetime
{
    private string _dir = null!;
    private LocalClickHouse _server = null!;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("puffy-clickhouse-freeze-").FullName;
        _server = await LocalClickHouse.StartAsync(_dir, ct: TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        BackgroundProcess.Thaw(_server.Pid);
        await _server.StopAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Insert_ClickHouseFrozen_IsLoggedWhileItWaitsAndCompletesOnceItAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new ClickHouseClient(new ClickHouseOptions
        {
            BaseUrl = _server.BaseUrl, Database = "default", User = "default", PasswordFile = _server.AdminPasswordFile,
        });
        await client.ExecuteAsync("CREATE TABLE t (n UInt32) ENGINE = MergeTree ORDER BY n", ct);
        var logger = new Warnings();
        var slowCall = Infrastructure.SlowCallWarning;
        Infrastructure.SlowCallWarning = TimeSpan.FromSeconds(1);
        try
        {
            BackgroundProcess.Freeze(_server.Pid);
            var insert = Infrastructure.RetryAsync("Writing ClickHouse", () => client.ExecuteAsync("INSERT INTO t VALUES (1), (2)", CancellationToken.None), logger, ct);
            var first = await logger.Next().WaitAsync(TimeSpan.FromMinutes(1), ct);
            var second = await logger.Next().WaitAsync(TimeSpan.FromMinutes(1), ct);
            Assert.False(insert.IsCompleted);
            BackgroundProcess.Thaw(_server.Pid);
            await insert.WaitAsync(TimeSpan.FromMinutes(1), ct);

            // Repeated while it waits, the same attempt each time.
            Assert.Matches(@"^Writing ClickHouse: no answer for \d+ s \(attempt 1\), still waiting$", first);
            Assert.Matches(@"^Writing ClickHouse: no answer for \d+ s \(attempt 1\), still waiting$", second);
            Assert.Equal("2", await client.QueryScalarAsync("SELECT count() FROM t", ct));
        }
        finally
        {
            Infrastructure.SlowCallWarning = slowCall;
        }
    }

    private sealed class Warnings : ILogger
    {
        private readonly System.Threading.Channels.Channel<string> _logged = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public Task<string> Next() => _logged.Reader.ReadAsync().AsTask();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
                _logged.Writer.TryWrite(formatter(state, exception));
        }
    }
}
