using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Puffy.Streaming.Hosting;
using Puffy.Streaming.Validator;

var builder = ServiceHost.CreateBuilder(args, "validator");
builder.Services.AddOptions<ValidatorOptions>().BindConfiguration(ValidatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<ValidatorWorker>();
return await ServiceHost.RunAsync(builder);
