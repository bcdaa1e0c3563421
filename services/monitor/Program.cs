using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Monitor;

var builder = ServiceHost.CreateBuilder(args, "monitor");
builder.Services.AddOptions<MonitorOptions>().BindConfiguration(MonitorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<MonitorWorker>();
await builder.Build().RunAsync();
return Environment.ExitCode;
