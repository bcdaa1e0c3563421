using Confluent.SchemaRegistry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Puffy.Streaming.ClickHouse;
using Puffy.Streaming.Kafka;
using Puffy.Streaming.Logging;

namespace Puffy.Streaming.Hosting;

/// <summary>What every service's Program.cs starts from: configuration, Serilog, validated options, the clients.</summary>
public static class ServiceHost
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
}
