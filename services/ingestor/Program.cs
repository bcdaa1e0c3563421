using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Ingestor;
using Puffy.Streaming.Pipeline.Ingest;

var builder = ServiceHost.CreateBuilder(args, "ingestor");
// One id per replay, on every log event of this run (Serilog reads its Properties when the host is built).
var replayId = builder.Configuration["Ingestor:ReplayId"] is { Length: > 0 } given ? given : ReplayReport.NewReplayId();
builder.Configuration["Ingestor:ReplayId"] = replayId;
builder.Configuration["Serilog:Properties:ReplayId"] = replayId;
builder.Services.AddOptions<IngestorOptions>().BindConfiguration(IngestorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<IngestorWorker>();
return await ServiceHost.RunAsync(builder);
