using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Sessionizer;

var builder = ServiceHost.CreateBuilder(args, "sessionizer");
builder.Services.AddOptions<SessionizerOptions>().BindConfiguration(SessionizerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<SessionizerWorker>();
return await ServiceHost.RunAsync(builder);
