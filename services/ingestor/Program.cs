using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Ingestor;

var builder = ServiceHost.CreateBuilder(args, "ingestor");
builder.Services.AddOptions<IngestorOptions>().BindConfiguration(IngestorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<IngestorWorker>();
await builder.Build().RunAsync();
return Environment.ExitCode;
