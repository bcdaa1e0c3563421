using System.Globalization;
using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Puffy.Streaming.Logging;

/// <summary>The one logger setup every service uses.</summary>
public static class PuffyLogging
{
    /// <summary>The console layout when <c>Logging:Console:Format</c> is not <c>clef</c>.</summary>
    public const string ConsoleTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Service} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// A logger configured from <paramref name="configuration"/>: minimum level <c>Logging:MinimumLevel</c>
    /// (default Information; Microsoft.* and System.* at Warning or above), properties <c>Service</c> and
    /// <c>MachineName</c>, the console as text (or CLEF when <c>Logging:Console:Format</c> is <c>clef</c>), and Seq
    /// when <c>Seq:Url</c> is set (with <c>Seq:ApiKey</c>). Dispose it on shutdown so Seq receives what is buffered.
    /// </summary>
    public static Logger Create(IConfiguration configuration, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        var minimum = ParseLevel(configuration["Logging:MinimumLevel"]);
        var framework = minimum > LogEventLevel.Warning ? minimum : LogEventLevel.Warning;
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .MinimumLevel.Override("Microsoft", framework)
            .MinimumLevel.Override("System", framework)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Service", serviceName)
            .Enrich.WithProperty("MachineName", Environment.MachineName);

        var format = configuration["Logging:Console:Format"];
        if (string.Equals(format, "clef", StringComparison.OrdinalIgnoreCase))
        {
            logger.WriteTo.Console(new ClefFormatter());
        }
        else if (string.IsNullOrWhiteSpace(format) || string.Equals(format, "text", StringComparison.OrdinalIgnoreCase))
        {
            logger.WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: CultureInfo.InvariantCulture);
        }
        else
        {
            throw new InvalidOperationException($"Logging:Console:Format must be 'text' or 'clef', not '{format}'.");
        }

        var seqUrl = configuration["Seq:Url"];
        if (!string.IsNullOrWhiteSpace(seqUrl))
        {
            if (!Uri.TryCreate(seqUrl, UriKind.Absolute, out var serverUrl))
            {
                throw new InvalidOperationException($"Seq:Url must be an absolute URL, not '{seqUrl}'.");
            }

            var apiKey = configuration["Seq:ApiKey"];
            logger.WriteTo.Seq(new SeqSinkOptions
            {
                ServerUrl = serverUrl,
                ApiKey = string.IsNullOrWhiteSpace(apiKey) ? null : apiKey,
            });
        }

        return logger.CreateLogger();
    }

    // Accepts Serilog's level names and Microsoft.Extensions.Logging's (Trace, Critical), in any case.
    private static LogEventLevel ParseLevel(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return LogEventLevel.Information;
        }

        return value.Trim().ToUpperInvariant() switch
        {
            "VERBOSE" or "TRACE" => LogEventLevel.Verbose,
            "DEBUG" => LogEventLevel.Debug,
            "INFORMATION" or "INFO" => LogEventLevel.Information,
            "WARNING" or "WARN" => LogEventLevel.Warning,
            "ERROR" => LogEventLevel.Error,
            "FATAL" or "CRITICAL" => LogEventLevel.Fatal,
            _ => throw new InvalidOperationException(
                $"Logging:MinimumLevel must be one of Verbose, Debug, Information, Warning, Error, Fatal (or Trace, Critical), not '{value}'."),
        };
    }
}
