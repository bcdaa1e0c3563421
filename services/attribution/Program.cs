using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Attribution;

var builder = ServiceHost.CreateBuilder(args, "attribution");
builder.Services.AddOptions<AttributionOptions>().BindConfiguration(AttributionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<AttributionWorker>();
return await ServiceHost.RunAsync(builder);
