using System.Diagnostics;
using Puffy.Streaming.LocalServers;

namespace Puffy.Streaming.IntegrationTests.Alerting;

/// <summary>A real rabbitmq-server (Debian's package) started through <see cref="LocalRabbitMq"/> once per test class.</summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private string? _dir;

    public LocalRabbitMq Server { get; private set; } = null!;

    /// <summary>How long the server took to answer the AMQP handshake (reported, never asserted).</summary>
    public TimeSpan StartUp { get; private set; }

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("puffy-rabbitmq-").FullName;
        var elapsed = Stopwatch.StartNew();
        try
        {
            Server = await LocalRabbitMq.StartAsync(_dir);
        }
        catch (InvalidOperationException)
        {
            Directory.Delete(_dir, recursive: true);
            _dir = null;
            throw;
        }

        StartUp = elapsed.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
            await Server.StopAsync();
        if (_dir is not null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }
}
