using Microsoft.Extensions.Logging;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.LocalServers;
using StackExchange.Redis;

namespace Puffy.Streaming.IntegrationTests.Redis;

/// <summary>
/// A Redis that stops answering (SIGSTOP: sockets open, no replies) surfaces as a timeout the services log and retry,
/// not as a silent stall; once it answers again the retried write goes through. Its own server: freezing the shared
/// one would stall the other tests.
/// </summary>
public sealed class RedisFreezeTests : IAsyncLifetime
{
    private string _dir = null!;
    private LocalRedis _server = null!;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("puffy-redis-freeze-").FullName;
        _server = await LocalRedis.StartAsync(_dir, appendOnly: false);
    }

    public async ValueTask DisposeAsync()
    {
        BackgroundProcess.Thaw(_server.Pid);
        await _server.StopAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Write_RedisFrozen_IsLoggedAsARetriedTimeoutAndCompletesOnceItAnswers()
    {
        var options = new RedisOptions
        {
            Configuration = _server.Configuration, User = LocalRedis.ServiceUser, PasswordFile = _server.ServicePasswordFile,
            CommandTimeout = TimeSpan.FromMilliseconds(500),
        };
        using var connection = await ConnectionMultiplexer.ConnectAsync(options.ClientOptions());
        var db = connection.GetDatabase();
        Assert.True(await db.StringSetAsync("before", "1"));
        var logger = new FirstWarning();

        BackgroundProcess.Freeze(_server.Pid);
        var write = Infrastructure.RetryAsync("Storing state in Redis", () => db.StringSetAsync("during", "2"), logger, TestContext.Current.CancellationToken);
        var warning = await logger.Logged.Task.WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        Assert.False(write.IsCompleted);
        BackgroundProcess.Thaw(_server.Pid);
        await write.WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);

        Assert.Contains("Storing state in Redis failed (attempt 1)", warning, StringComparison.Ordinal);
        Assert.Contains("Timeout", warning, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("2", (string?)await db.StringGetAsync("during"));
    }

    private sealed class FirstWarning : ILogger
    {
        public TaskCompletionSource<string> Logged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
                Logged.TrySetResult(formatter(state, exception));
        }
    }
}
