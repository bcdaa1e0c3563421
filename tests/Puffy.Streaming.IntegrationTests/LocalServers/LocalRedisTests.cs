using Puffy.Streaming.LocalServers;
using StackExchange.Redis;
using static Puffy.Streaming.IntegrationTests.LocalServers.LocalServersTestKit;

namespace Puffy.Streaming.IntegrationTests.LocalServers;

/// <summary>A daemonized redis-server in its own directory: append-only data outlives kill -9, handles reattach.</summary>
public sealed class LocalRedisTests
{
    [Fact]
    public async Task StartAsync_SameDirectoryAfterKill9_StillHasAppendOnlyData()
    {
        using var dir = new TempDirectory("puffy-local-redis-");
        var key = "survivor-" + Guid.NewGuid().ToString("N");
        var first = await LocalRedis.StartAsync(dir.Path, appendOnly: true, ct: Ct);
        LocalRedis? second = null;
        try
        {
            Assert.True(await LocalRedis.PingAsync(first.Port, Ct));
            using (var connection = await ConnectionMultiplexer.ConnectAsync(first.ServiceConfiguration()))
                Assert.True(await connection.GetDatabase().StringSetAsync(key, "still here"));

            // appendfsync everysec may hold a write back while a background fsync runs; a killed process loses only
            // what it had not handed to the kernel, so the crash comes once the command is in the AOF.
            await WaitUntilAsync(() => AppendOnlyFilesContain(dir.Path, key));
            BackgroundProcess.Kill(first.Pid);
            await WaitUntilAsync(() => !BackgroundProcess.IsAlive(first.Pid));
            Assert.False(BackgroundProcess.IsAlive(first.Pid));

            second = await LocalRedis.StartAsync(dir.Path, first.Port, appendOnly: true, ct: Ct);

            Assert.NotEqual(first.Pid, second.Pid);
            using var again = await ConnectionMultiplexer.ConnectAsync(second.ServiceConfiguration());
            Assert.Equal("still here", (string?)await again.GetDatabase().StringGetAsync(key));
        }
        finally
        {
            await (second ?? first).StopAsync();
        }
    }

    [Fact]
    public async Task MemoryAsync_ServerWithKeys_ReportsItsKeysAndMoreMemoryForALargeValue()
    {
        using var dir = new TempDirectory("puffy-local-redis-");
        var server = await LocalRedis.StartAsync(dir.Path, appendOnly: false, ct: Ct);
        try
        {
            var empty = await server.MemoryAsync(Ct);
            using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ServiceConfiguration()))
            {
                await connection.GetDatabase().StringSetAsync("small", "x");
                await connection.GetDatabase().StringSetAsync("large", new string('x', 1_000_000));
            }

            var filled = await server.MemoryAsync(Ct);

            Assert.NotNull(empty);
            Assert.NotNull(filled);
            Assert.Equal(0, empty.Keys);
            Assert.Equal(2, filled.Keys);
            Assert.True(filled.UsedMemory - empty.UsedMemory >= 1_000_000, $"{empty.UsedMemory} -> {filled.UsedMemory}");
            Assert.True(await LocalRedis.PingAsync(server.Port, Ct));
        }
        finally
        {
            await server.StopAsync();
        }

        Assert.Null(await server.MemoryAsync(Ct));
    }

    [Fact]
    public async Task StopAsync_AttachedHandle_StopsTheServer()
    {
        using var dir = new TempDirectory("puffy-local-redis-");
        var server = await LocalRedis.StartAsync(dir.Path, appendOnly: false, ct: Ct);
        try
        {
            var attached = LocalRedis.Attach(dir.Path, server.Port, server.Pid);

            await attached.StopAsync();

            Assert.False(BackgroundProcess.IsAlive(server.Pid));
            Assert.False(await LocalRedis.PingAsync(server.Port, Ct));
        }
        finally
        {
            await server.StopAsync();
        }
    }

    [Fact]
    public async Task StartAsync_ServerAlreadyRunningInDirectory_Throws()
    {
        using var dir = new TempDirectory("puffy-local-redis-");
        var server = await LocalRedis.StartAsync(dir.Path, appendOnly: false, ct: Ct);
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalRedis.StartAsync(dir.Path, appendOnly: false, ct: Ct));
            Assert.Contains("already running", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.StopAsync();
        }
    }

    private static bool AppendOnlyFilesContain(string dir, string text)
    {
        var aof = Path.Combine(dir, "appendonlydir");
        return Directory.Exists(aof) && Directory.EnumerateFiles(aof).Any(f => ReadShared(f).Contains(text, StringComparison.Ordinal));
    }
}
