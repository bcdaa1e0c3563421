using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Puffy.Streaming.Hosting;

/// <summary>
/// A service's loop on its own thread (Kafka's consume blocks). If the loop fails, the failure is logged and the
/// process stops with exit code 1 so a supervisor restarts it; committed offsets make the restart safe.
/// </summary>
public abstract partial class StreamWorker(IHostApplicationLifetime lifetime, ILogger logger) : BackgroundService
{
    protected abstract Task RunAsync(CancellationToken stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(async () =>
        {
            try
            {
                await RunAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Normal shutdown.
            }
#pragma warning disable CA1031 // The process must stop on any failure, and say why first.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(logger, e);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
            }
        }, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    [LoggerMessage(Level = LogLevel.Critical, Message = "The service loop failed; stopping")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
