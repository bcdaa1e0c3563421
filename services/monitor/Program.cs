using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Alerting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Monitor;

var builder = ServiceHost.CreateBuilder(args, "monitor");
builder.Services.AddOptions<MonitorOptions>().BindConfiguration(MonitorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
// Registered before the worker, so the bus stops after it: the worker's last checkpoint still publishes.
builder.Services.AddAlertDelivery(builder.Configuration);
builder.Services.AddHostedService<MonitorWorker>();
return await ServiceHost.RunAsync(builder);
