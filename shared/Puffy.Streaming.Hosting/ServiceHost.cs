using Confluent.SchemaRegistry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.Hosting;

/// <summary>What every service's Program.cs starts from: configuration, Serilog, validated options, the clients.</summary>
public static partial class ServiceHost
{
    public static HostApplicationBuilder CreateBuilder(string[] args, string serviceName)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.AddPuffyLogging(builder.Configuration, serviceName);
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ClickHouseOptions>().BindConfiguration(ClickHouseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SchemaRegistryConfig>().BindConfiguration("SchemaRegistry");
        builder.Services.AddSingleton<ServiceClients>();
        return builder;
    }

    /// <summary>
    /// Builds and runs the service; returns its exit code. A service that cannot start (settings that fail validation, a
    /// hosted service that throws while starting) logs why at Fatal and exits with 1, as a failing loop does, instead of
    /// aborting with an unhandled exception.
    /// </summary>
    public static async Task<int> RunAsync(HostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var host = builder.Build();
        try
        {
            try
            {
                await host.StartAsync();
            }
#pragma warning disable CA1031 // The process must stop on any failure, and say why first.
            catch (Exception e)
#pragma warning restore CA1031
            {
                var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServiceHost).FullName!);
                var reason = e.GetType().Name + ": " + e.Message;
                LogCouldNotStart(logger, reason);
                return 1;
            }

            await host.WaitForShutdownAsync();
            return Environment.ExitCode;
        }
        finally
        {
            if (host is IAsyncDisposable asynchronous)
                await asynchronous.DisposeAsync();
            else
                host.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The service could not start: {Reason}")]
    private static partial void LogCouldNotStart(ILogger logger, string reason);
}
